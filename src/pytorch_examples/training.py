"""A small, visible training loop for classifiers whose data fits in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples._checks import check_positive_float, check_positive_int


@dataclass(frozen=True)
class TrainConfig:
    """Settings of :func:`train_classifier`.

    Attributes
    ----------
    n_epochs : int
        Passes over the training set.
    batch_size : int
        Examples per step.
    learning_rate : float
        Step size of Adam.
    weight_decay : float
        L2 penalty (AdamW's decoupled form).
    seed : int
        Seed of the shuffles.
    """

    n_epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 1e-2
    weight_decay: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        """Check the settings."""
        check_positive_int("n_epochs", self.n_epochs)
        check_positive_int("batch_size", self.batch_size)
        check_positive_float("learning_rate", self.learning_rate)
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")


@dataclass
class History:
    """Loss and accuracy per epoch, on the training and validation sets."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


@torch.no_grad()
def loss_and_accuracy(
    model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor
) -> tuple[float, float]:
    """Cross-entropy and accuracy of ``model`` on a data set, in evaluation mode.

    The model is left in evaluation mode.
    """
    model.eval()
    logits = model(inputs)
    loss = F.cross_entropy(logits, labels).item()
    return loss, (logits.argmax(dim=1) == labels).float().mean().item()


def train_classifier(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    config: TrainConfig,
) -> History:
    """Train ``model`` with AdamW on shuffled mini-batches; score both sets per epoch.

    Parameters
    ----------
    model : torch.nn.Module
        Maps a batch of inputs to class logits.
    train, val : tuple of torch.Tensor
        ``(inputs, labels)`` of the training and validation sets.
    config : TrainConfig
        The settings.

    Returns
    -------
    History
        One entry per epoch.
    """
    (train_x, train_y), (val_x, val_y) = train, val
    if len(train_x) != len(train_y) or len(val_x) != len(val_y):
        raise ValueError("inputs and labels must have the same length in each set")
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    generator = torch.Generator().manual_seed(config.seed)
    history = History()
    for _ in range(config.n_epochs):
        model.train()
        order = torch.randperm(len(train_y), generator=generator)
        for index in order.split(config.batch_size):
            loss = F.cross_entropy(model(train_x[index]), train_y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        for inputs, labels, losses, accuracies in (
            (train_x, train_y, history.train_loss, history.train_accuracy),
            (val_x, val_y, history.val_loss, history.val_accuracy),
        ):
            loss_value, accuracy = loss_and_accuracy(model, inputs, labels)
            losses.append(loss_value)
            accuracies.append(accuracy)
    return history
