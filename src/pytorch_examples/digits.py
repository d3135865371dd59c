"""scikit-learn's 8x8 handwritten digits as tensors, split for training.

The 1,797 images ship inside scikit-learn, so examples that use them run offline.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pytorch_examples._checks import check_split_fractions


@dataclass(frozen=True)
class DigitsSplit:
    """Digits images split into training, validation and test sets.

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

    check_split_fractions(fractions)
    bunch = load_digits()
    images = torch.tensor(bunch.data, dtype=torch.float32) / 16  # pixel values are 0..16
    labels = torch.tensor(bunch.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    n_train = int(fractions[0] * len(labels))
    n_val = int(fractions[1] * len(labels))
    parts = order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
    return DigitsSplit(*(t for part in parts for t in (images[part], labels[part])))
