"""Solutions of the classification exercises (plot_classification_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import copy

import torch
from torch import nn
from torch.nn import functional as F


def accuracy(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        predicted = model(x).argmax(dim=1)
    model.train()
    return (predicted == targets).float().mean().item()


def cross_entropy_gradient(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    one_hot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return (logits.softmax(dim=1) - one_hot) / len(logits)


def cross_entropy_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    largest = logits.max(dim=1, keepdim=True).values
    log_normalizer = largest.squeeze(1) + (logits - largest).exp().sum(dim=1).log()
    right_logit = logits[torch.arange(len(logits)), targets]
    return (log_normalizer - right_logit).mean()


def train_with_early_stopping(
    model: nn.Module, train_one_epoch, validation_loss, patience: int, max_epochs: int
) -> int:
    best_loss, best_epoch, best_state = float("inf"), 0, None
    for epoch in range(1, max_epochs + 1):
        train_one_epoch()
        loss = validation_loss()
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        if epoch - best_epoch == patience:
            break
    model.load_state_dict(best_state)
    return best_epoch
