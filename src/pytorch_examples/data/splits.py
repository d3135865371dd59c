"""Random training, validation and test splits with a fixed seed."""

from __future__ import annotations

import torch

from pytorch_examples._checks import check_positive_int, check_split_fractions

__all__ = ["split_indices"]


def split_indices(
    n: int, fractions: tuple[float, float, float], *, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Shuffle ``range(n)`` with a fixed seed and cut it into three disjoint parts.

    First used on :doc:`/auto_examples/data/plot_pandas_penguins`.

    The training and validation parts get ``int(fraction * n)`` indices each, and the
    test part the rest, so every index is in exactly one part.

    Parameters
    ----------
    n : int
        How many items there are.
    fractions : tuple of three floats
        Shares of training, validation and test; positive, summing to 1.
    seed : int
        Seed of the shuffle: the same seed gives the same split.

    Returns
    -------
    tuple of three torch.Tensor
        ``int64`` indices of the training, validation and test items.

    Raises
    ------
    ValueError
        If the fractions are not three positive shares summing to 1, or a part would be
        empty.
    """
    n = check_positive_int("n", n)
    check_split_fractions(fractions)
    n_train, n_val = int(fractions[0] * n), int(fractions[1] * n)
    if min(n_train, n_val, n - n_train - n_val) == 0:
        raise ValueError(f"{n} items are too few to split by {fractions!r}: a part is empty")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[:n_train], order[n_train : n_train + n_val], order[n_train + n_val :]
