"""scikit-learn's 8x8 handwritten digits as tensors, split for training.

The 1,797 images ship inside scikit-learn, so examples that use them run offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pytorch_examples.data.splits import split_indices


@dataclass(frozen=True)
class DigitsSplit:
    """Digits images split into training, validation and test sets.

    First used on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Attributes
    ----------
    train_x, val_x, test_x : torch.Tensor
        Pixel intensities scaled to ``[0, 1]``, shape ``(n, 64)``, ``float32``.
    train_y, val_y, test_y : torch.Tensor
        Digit labels 0 to 9, ``int64``.
    """

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def load_digits_split(
    fractions: tuple[float, float, float] = (0.6, 0.2, 0.2), *, seed: int = 0
) -> DigitsSplit:
    """Load the digits and split them at random with a fixed seed.

    First used on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Parameters
    ----------
    fractions : tuple of three floats
        Shares of training, validation and test; positive, summing to 1.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    DigitsSplit
        The three sets.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.tensor(bunch.data, dtype=torch.float32) / 16  # pixel values are 0..16
    labels = torch.tensor(bunch.target, dtype=torch.long)
    parts = split_indices(len(labels), fractions, seed=seed)
    return DigitsSplit(*(t for part in parts for t in (images[part], labels[part])))
