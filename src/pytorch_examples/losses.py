"""Loss functions written out so the notes' formulas can be checked against them."""

from __future__ import annotations

import torch

from pytorch_examples._checks import check_same_shape


def power_loss(prediction: torch.Tensor, target: torch.Tensor, m: float = 2.0) -> torch.Tensor:
    r"""Mean of :math:`|y - \hat y|^m`.

    Taught on :doc:`/auto_examples/regression/plot_loss_choice`.

    ``m = 2`` is the mean squared error, ``m = 1`` the mean absolute error.

    Parameters
    ----------
    prediction, target : torch.Tensor
        Tensors of the same shape.
    m : float
        The power, at least 1 so the loss is convex in the prediction.

    Returns
    -------
    torch.Tensor
        A scalar.

    Raises
    ------
    ValueError
        If the shapes differ or ``m < 1``.
    """
    check_same_shape("prediction", prediction, "target", target)
    if not m >= 1:
        raise ValueError(f"m must be >= 1 for a convex loss, got {m}")
    return (target - prediction).abs().pow(m).mean()


def binary_cross_entropy_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy of ``sigmoid(logits)`` against 0/1 targets, computed stably.

    Taught on :doc:`/auto_examples/classification/plot_logistic_regression`.

    With :math:`z` the logit and :math:`y \in \{0, 1\}`,
    :math:`-[y \log\sigma(z) + (1-y)\log(1-\sigma(z))] = \max(z, 0) - y z + \log(1 + e^{-|z|})`.
    The right-hand side never exponentiates a positive number, so it stays finite for
    any finite :math:`z`; it is what :class:`torch.nn.BCEWithLogitsLoss` computes.

    Parameters
    ----------
    logits, target : torch.Tensor
        Tensors of the same shape; ``target`` holds probabilities in ``[0, 1]``.

    Returns
    -------
    torch.Tensor
        The mean loss, a scalar.
    """
    check_same_shape("logits", logits, "target", target)
    per_item = logits.clamp(min=0) - target * logits + torch.log1p(torch.exp(-logits.abs()))
    return per_item.mean()
