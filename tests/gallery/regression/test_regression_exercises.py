"""The regression exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import torch

from exercise_mistakes import mistake_tests
from pytorch_examples.exercises import regression as ex


def squared_loss_gradient(residual, delta):
    return residual


def absolute_loss_gradient(residual, delta):
    return torch.sign(residual)


def twice_the_slope(residual, delta):
    return 2 * residual.clamp(-delta, delta)


def divided_by_n(train_x, val_x):
    mean, std = train_x.mean(dim=0), train_x.std(dim=0, correction=0)
    return (train_x - mean) / std, (val_x - mean) / std


def own_statistics(train_x, val_x):
    def standardize(x):
        return (x - x.mean(dim=0)) / x.std(dim=0)

    return standardize(train_x), standardize(val_x)


def pooled_statistics(train_x, val_x):
    both = torch.cat([train_x, val_x])
    mean, std = both.mean(dim=0), both.std(dim=0)
    return (train_x - mean) / std, (val_x - mean) / std


def rate_for_the_diagonal(x):
    return 1 / (x**2).mean().item()  # 2 / (2 mean(x^2)): the coupling through mean(x) ignored


def one_over_curvature(x):
    mean, mean_square = x.mean().item(), (x**2).mean().item()
    hessian = 2 * torch.tensor([[mean_square, mean], [mean, 1.0]], dtype=torch.float64)
    return 1 / torch.linalg.eigvalsh(hessian).max().item()


def loop(
    model,
    x,
    y,
    batch_size,
    learning_rate,
    n_epochs,
    *,
    zero=True,
    shuffle=True,
    first=False,
    summed=False,
    evaluate=False,
):
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    for _ in range(n_epochs):
        order = torch.randperm(len(x)) if shuffle else torch.arange(len(x))
        for start in range(0, len(x), batch_size):
            batch = order[:batch_size] if first else order[start : start + batch_size]
            squares = (model(x[batch]) - y[batch]) ** 2
            loss = squares.sum() if summed else squares.mean()
            if zero:
                optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if evaluate:
            with torch.no_grad():
                ((model(x) - y) ** 2).mean()


def loop_with_a_summed_loss(*args):
    loop(*args, summed=True)


def loop_at_another_rate(model, x, y, batch_size, learning_rate, n_epochs):
    loop(model, x, y, batch_size, 0.8 * learning_rate, n_epochs)


def test_a_loop_that_evaluates_without_gradients_passes():
    def evaluating_loop(*args):
        loop(*args, evaluate=True)

    result = ex.train_minibatch.grade(evaluating_loop)
    assert result.passed, str(result)


def loop_without_zero_grad(*args):
    loop(*args, zero=False)


def loop_without_shuffling(*args):
    loop(*args, shuffle=False)


def loop_on_the_first_batch_only(*args):
    loop(*args, first=True)


def loop_on_the_whole_set(model, x, y, batch_size, learning_rate, n_epochs):
    loop(model, x, y, len(x), learning_rate, n_epochs)


WRONG = {
    "huber_gradient": [
        (squared_loss_gradient, "the squared loss"),
        (absolute_loss_gradient, "the absolute loss"),
        (twice_the_slope, "twice the slope"),
    ],
    "standardize_with_training_statistics": [
        (own_statistics, "with its own mean and standard deviation"),
        (pooled_statistics, "training and validation data together"),
        (divided_by_n, "which divides by n - 1"),
    ],
    "largest_stable_learning_rate": [
        (rate_for_the_diagonal, "off-diagonal entries couple w and b"),
        (one_over_curvature, "up to 2 over it"),
    ],
    "train_minibatch": [
        (loop_without_zero_grad, "without optimizer.zero_grad()"),
        (loop_with_a_summed_loss, "summed over the batch"),
        (loop_at_another_rate, "lr=learning_rate"),
        (loop_without_shuffling, "in the same order"),
        (loop_on_the_first_batch_only, "visits every point once"),
        (loop_on_the_whole_set, "more than a batch"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
