"""Scoring a trained model: loss, accuracy and the confusion matrix.

Every page scores its models with :func:`evaluate`, so that all of them follow one rule:
evaluation runs without gradients and in evaluation mode (batch normalization uses its
running statistics, dropout is off), and the model is handed back in the mode it came in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples._checks import check_positive_int

__all__ = ["Evaluation", "confusion_matrix", "eval_mode", "evaluate"]

Model = Callable[[torch.Tensor], torch.Tensor]


@contextlib.contextmanager
def eval_mode(model: Model) -> Iterator[None]:
    """Put a module in evaluation mode for a block, then restore its previous mode.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Layers such as batch normalization and dropout behave differently in the two modes,
    so every evaluation and every sample runs in evaluation mode. A plain function
    passes through unchanged.
    """
    if not isinstance(model, nn.Module):
        yield
        return
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@dataclass(frozen=True)
class Evaluation:
    """A model's scores on one data set.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Attributes
    ----------
    loss : float
        Mean cross-entropy per example, in nats (negative log-likelihood).
    accuracy : float
        Fraction of examples whose highest logit is the target class.
    predictions : torch.Tensor
        The predicted class of each example, ``int64``, on the CPU.
    """

    loss: float
    accuracy: float
    predictions: torch.Tensor


@torch.no_grad()
def evaluate(
    model: Model,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    batch_size: int = 8192,
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Evaluation:
    """Score a classifier (or next-character model) on a data set, in batches.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    The model runs in evaluation mode and without gradients; afterwards it is back in
    the mode it was in. Pages that teach this step:
    :ref:`sphx_glr_auto_examples_classification_plot_digits_mlp.py` (a classifier) and
    :ref:`sphx_glr_auto_examples_language_plot_mlp_language_model.py` (a language model).

    Parameters
    ----------
    model : callable
        Maps a batch of inputs to logits of shape ``(batch, n_classes)``.
    inputs, targets : torch.Tensor
        The examples and their class indices, equally many, at least one.
    batch_size : int
        Examples scored at once, which bounds memory.
    prepare : callable, optional
        Applied to each batch of inputs before the model, for example to move it to a
        device or normalize ``uint8`` images.

    Returns
    -------
    Evaluation
        Mean loss, accuracy and the predictions.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    if len(inputs) != len(targets) or len(targets) == 0:
        raise ValueError(
            f"need as many inputs as targets, and at least one; got {len(inputs)} "
            f"and {len(targets)}"
        )
    total_loss = 0.0
    predictions = []
    with eval_mode(model):
        for start in range(0, len(targets), batch_size):
            batch = inputs[start : start + batch_size]
            if prepare is not None:
                batch = prepare(batch)
            logits = model(batch).float()
            batch_targets = targets[start : start + batch_size].to(logits.device)
            total_loss += F.cross_entropy(logits, batch_targets, reduction="sum").item()
            predictions.append(logits.argmax(dim=1).cpu())
    predicted = torch.cat(predictions)
    accuracy = (predicted == targets.cpu()).float().mean().item()
    return Evaluation(total_loss / len(targets), accuracy, predicted)


def confusion_matrix(
    predicted: torch.Tensor, actual: torch.Tensor, n_classes: int
) -> torch.Tensor:
    """Count ``matrix[true class, predicted class]``.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Parameters
    ----------
    predicted, actual : torch.Tensor
        Class indices of the same shape.
    n_classes : int
        Number of classes.

    Returns
    -------
    torch.Tensor
        ``int64``, shape ``(n_classes, n_classes)``; row ``i`` sums to the number of
        examples of class ``i``.
    """
    n_classes = check_positive_int("n_classes", n_classes)
    if predicted.shape != actual.shape:
        raise ValueError(f"shapes differ: {tuple(predicted.shape)} vs {tuple(actual.shape)}")
    flat = actual.cpu() * n_classes + predicted.cpu()
    return torch.bincount(flat, minlength=n_classes**2).reshape(n_classes, n_classes)
