"""Solutions of the regression exercises (gallery/regression/plot_regression_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import torch
from torch import nn


def huber_gradient(residual: torch.Tensor, delta: float) -> torch.Tensor:
    return residual.clamp(-delta, delta)


def standardize_with_training_statistics(
    train_x: torch.Tensor, val_x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = train_x.mean(dim=0), train_x.std(dim=0)
    return (train_x - mean) / std, (val_x - mean) / std


def largest_stable_learning_rate(x: torch.Tensor) -> float:
    mean, mean_square = x.mean().item(), (x**2).mean().item()
    hessian = 2 * torch.tensor([[mean_square, mean], [mean, 1.0]], dtype=torch.float64)
    return 2 / torch.linalg.eigvalsh(hessian).max().item()


def train_minibatch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    learning_rate: float,
    n_epochs: int,
) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    for _ in range(n_epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[start : start + batch_size]
            loss = ((model(x[batch]) - y[batch]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
