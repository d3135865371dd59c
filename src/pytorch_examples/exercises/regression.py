"""Exercises for the regression section (gradient descent, losses, validation).

Used on :doc:`/auto_examples/regression/plot_regression_exercises`. Each check makes its
own data from a fixed seed, so the learner's function meets values it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = [
    "huber_gradient",
    "largest_stable_learning_rate",
    "standardize_with_training_statistics",
    "train_minibatch",
]


def _huber_gradient_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(21)
    for residual, delta, case in (
        (torch.linspace(-6.0, 6.0, 25), 2.5, "25 residuals from -6 to 6, delta = 2.5"),
        (
            torch.randn(4, 5, generator=generator) * 3,
            0.5,
            "residuals of shape (4, 5), delta = 0.5",
        ),
    ):
        leaf = residual.clone().requires_grad_()
        nn.functional.huber_loss(
            leaf, torch.zeros_like(leaf), reduction="sum", delta=delta
        ).backward()
        got = call(answer, residual.clone(), delta, case=case)
        expect_close_or_explain(
            got,
            leaf.grad,
            case=case,
            mistakes=(
                (
                    residual,
                    "That is the gradient of r^2 / 2, the squared loss: beyond delta the "
                    "Huber loss grows linearly, so its slope stops growing there.",
                ),
                (
                    torch.sign(residual),
                    "That is the gradient of |r|, the absolute loss: within delta the Huber "
                    "loss is quadratic, so its slope is r there.",
                ),
                (
                    delta * torch.sign(residual),
                    "That is the slope beyond delta only: within delta it is r.",
                ),
                (
                    2 * residual.clamp(-delta, delta),
                    "That is twice the slope: you took the Huber loss as r^2 within delta; "
                    "the task's (and torch's) is r^2 / 2 there, whose slope is r.",
                ),
                (
                    (residual / delta).clamp(-1.0, 1.0),
                    "That is the slope of the smooth L1 loss, the Huber loss divided by "
                    "delta: the task's loss is r^2 / 2 within delta, with slope r.",
                ),
            ),
        )
    return "Compared with autograd's gradient of torch's Huber loss on 2 sets of residuals."


huber_gradient = Exercise(
    "huber_gradient",
    "Within delta the Huber loss is r^2 / 2, so its slope is r; beyond, it is linear with "
    "slope delta times the sign of r. One torch function does both: torch.clamp.",
    _huber_gradient_cases,
)


def _standardize_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(22)
    train = torch.randn(40, 3, generator=generator) * torch.tensor([2.0, 10.0, 0.5]) + 5
    val = torch.randn(15, 3, generator=generator) * torch.tensor([3.0, 5.0, 1.0]) + 8
    case = "training x of shape (40, 3) and validation x of shape (15, 3), drawn differently"
    got = call(answer, train.clone(), val.clone(), case=case)
    if not isinstance(got, tuple | list) or len(got) != 2:
        raise WrongAnswerError(f"On {case}: expected a pair (train_z, val_z), got {got!r:.60}")
    mean, std = train.mean(dim=0), train.std(dim=0)
    biased_std = train.std(dim=0, correction=0)
    divided_by_n = (
        "You divided the squared deviations by n (unbiased=False or correction=0); the "
        "task asks for std(dim=0), PyTorch's default, which divides by n - 1."
    )
    both = torch.cat([train, val])
    pooled = (
        "You used statistics of training and validation data together: use the training "
        "set's alone, so that validation data plays no part in fitting anything."
    )
    expect_close_or_explain(
        got[0],
        (train - mean) / std,
        case=case + ", train_z",
        atol=1e-5,
        mistakes=(
            ((train - both.mean(dim=0)) / both.std(dim=0), pooled),
            ((train - mean) / biased_std, divided_by_n),
        ),
    )
    expect_close_or_explain(
        got[1],
        (val - mean) / std,
        case=case + ", val_z",
        atol=1e-5,
        mistakes=(
            (
                (val - val.mean(dim=0)) / val.std(dim=0),
                "You standardized the validation set with its own mean and standard "
                "deviation. Use the training set's: validation data must play no part in "
                "fitting anything, the preprocessing included.",
            ),
            ((val - both.mean(dim=0)) / both.std(dim=0), pooled),
            ((val - mean) / biased_std, divided_by_n),
        ),
    )
    return "Both sets standardized with the training set's mean and standard deviation."


standardize_with_training_statistics = Exercise(
    "standardize_with_training_statistics",
    "Compute mean and std over dim=0 of train_x once, and apply the same two tensors to "
    "both sets.",
    _standardize_cases,
)


def _learning_rate_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(23)
    for x, case in (
        (torch.rand(50, generator=generator) * 10, "x uniform on [0, 10], 50 points"),
        (torch.randn(30, generator=generator) * 3 - 20, "x around -20, 30 points"),
        (torch.linspace(-1.0, 1.0, 21), "x evenly spaced on [-1, 1], 21 points"),
    ):
        x64 = x.double()
        hessian = 2 * torch.tensor([[(x64**2).mean(), x64.mean()], [x64.mean(), 1.0]])
        largest = torch.linalg.eigvalsh(hessian).max()
        got = call(answer, x.clone(), case=case)
        expect_close_or_explain(
            got,
            2 / largest,
            case=case,
            rtol=1e-3,
            atol=0.0,
            mistakes=(
                (
                    1 / largest,
                    "That is 1 over the largest curvature; gradient descent stays stable "
                    "up to 2 over it (a step may overshoot, as long as it shrinks).",
                ),
                (
                    2 / hessian.diagonal().max(),
                    "That is 2 over the largest diagonal entry of the Hessian. When the mean "
                    "of x is not 0, the off-diagonal entries couple w and b and the largest "
                    "curvature is the Hessian's largest eigenvalue.",
                ),
            ),
        )
    return "3 data sets, centred and not, within 0.1 % of 2 / (largest eigenvalue)."


largest_stable_learning_rate = Exercise(
    "largest_stable_learning_rate",
    "Build the 2 x 2 Hessian of the mean squared error in (w, b) from mean(x) and mean(x^2) "
    "and take its largest eigenvalue (torch.linalg.eigvalsh).",
    _learning_rate_cases,
)


class _RecordingLine(nn.Linear):
    """A line that records the inputs of every forward pass made with gradients on."""

    def __init__(self) -> None:
        super().__init__(1, 1)
        self.batches: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():  # an evaluation under torch.no_grad() is no step
            self.batches.append(x.detach().clone())
        return super().forward(x)


def _replay(
    start: torch.Tensor,
    batches: list[torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    learning_rate: float,
    *,
    summed: bool = False,
    accumulate: bool = False,
) -> torch.Tensor:
    """(w, b) after plain SGD on the squared error of each batch, in float64, from ``start``."""
    weights, gradient = start.double().clone(), torch.zeros(2, dtype=torch.float64)
    for batch in batches:
        rows = (batch == x.T).nonzero()[:, 1]
        inputs, targets = x[rows, 0].double(), y[rows, 0].double()
        residual = weights[0] * inputs + weights[1] - targets
        step = 2 * torch.stack([(residual * inputs).sum(), residual.sum()])
        step = step if summed else step / len(rows)
        gradient = gradient + step if accumulate else step
        weights = weights - learning_rate * gradient
    return weights


def _train_minibatch_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(24)
    n_points, batch_size, learning_rate, n_epochs = 50, 8, 0.05, 30
    x = torch.linspace(-1.7, 1.7, n_points).unsqueeze(1)  # distinct values, mean 0
    y = 1.5 * x - 0.5 + 0.1 * torch.randn(n_points, 1, generator=generator)
    case = (
        f"{n_points} points, batch size {batch_size}, learning rate {learning_rate}, "
        f"{n_epochs} epochs"
    )
    with torch.random.fork_rng():  # the learner's shuffling does not touch their seed
        torch.manual_seed(25)
        model = _RecordingLine()
        start = torch.cat([model.weight.detach().flatten(), model.bias.detach()])
        call(answer, model, x.clone(), y.clone(), batch_size, learning_rate, n_epochs, case=case)
    rows = torch.cat(model.batches) if model.batches else torch.empty(0, 1)
    largest = max((len(b) for b in model.batches), default=0)
    if largest > batch_size:
        raise WrongAnswerError(
            f"On {case}: a forward pass with gradients on saw {largest} rows, more than a "
            "batch (an evaluation of the whole set belongs under torch.no_grad())"
        )
    if len(rows) != n_epochs * n_points:
        raise WrongAnswerError(
            f"On {case}: the model saw {len(rows)} rows in all; {n_epochs} epochs of "
            f"{n_points} points are {n_epochs * n_points}. Each epoch visits every point once."
        )
    visits = (rows == x.T).sum(dim=0)
    if not (visits == n_epochs).all():
        point = int((visits != n_epochs).nonzero()[0])
        raise WrongAnswerError(
            f"On {case}: point {point} was seen {int(visits[point])} times, expected "
            f"{n_epochs} (once per epoch). Take the batches from a permutation of all points."
        )
    orders = rows.view(n_epochs, n_points)
    if (orders == orders[0]).all():
        raise WrongAnswerError(
            f"On {case}: every epoch visited the points in the same order. Shuffle them "
            "anew each epoch (torch.randperm), so that the batches differ."
        )
    fitted = torch.stack([model.weight.detach().squeeze(), model.bias.detach().squeeze()])
    replay = partial(_replay, start, model.batches, x, y, learning_rate)
    explained = expect_close_or_explain  # names the step's mistake when a replay of it matches
    try:
        explained(
            fitted,
            replay(),
            case=case + ": (slope, intercept) against a replay of plain SGD on your batches",
            atol=1e-4,
            rtol=1e-4,
            mistakes=(
                (
                    replay(summed=True),
                    "Your steps are those of the loss summed over the batch: take the mean, "
                    "so that the step does not grow with the batch size.",
                ),
                (
                    replay(accumulate=True),
                    "Your steps are those of gradients that add up: without "
                    "optimizer.zero_grad() before backward() every earlier batch's gradient "
                    "stays in .grad.",
                ),
            ),
        )
    except WrongAnswerError as error:
        if "Your steps" in str(error):
            raise
        raise WrongAnswerError(
            f"{error}. Every point was visited as it should be, so look at the step: one "
            "torch.optim.SGD step with lr=learning_rate per batch, on the mean squared error "
            "of that batch, after optimizer.zero_grad()."
        ) from None
    return (
        "Every point seen once per epoch, shuffled, and each step that of plain SGD on the "
        "batch's mean squared error."
    )


train_minibatch = Exercise(
    "train_minibatch",
    "Per epoch: order = torch.randperm(len(x)); for each slice of batch_size indices, "
    "predict, take the mean squared error, zero_grad, backward, step. "
    "torch.optim.SGD(model.parameters(), lr=learning_rate) does the step.",
    _train_minibatch_cases,
)
