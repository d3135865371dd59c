"""The basics exercises' checks reject the mistakes the exercises are about.

The generic checks (solutions pass, blanks are not done) are in
``tests/site/test_exercise_pages.py``.
"""

from __future__ import annotations

import torch

from exercise_mistakes import mistake_tests
from pytorch_examples.exercises import basics as ex


def subtract_directly(a, b):
    return a - b


def transposed_differences(a, b):
    return a[None, :] - b[:, None]


def reversed_differences(a, b):
    return b[None, :] - a[:, None]


def centre_in_place(x):
    x -= x.mean(dim=0)
    return x


def centre_rows(x):
    return x - x.mean(dim=1, keepdim=True)


def sigmoid_derivative_only(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def descent_without_zeroing(f, start, learning_rate, n_steps):
    x = torch.tensor(start, requires_grad=True)
    iterates = [x.item()]
    for _ in range(n_steps):
        f(x).backward()
        with torch.no_grad():
            x -= learning_rate * x.grad
        iterates.append(x.item())
    return iterates


def descent_with_one_step_too_few(f, start, learning_rate, n_steps):
    x = torch.tensor(start, requires_grad=True)
    iterates = []
    for _ in range(n_steps):
        f(x).backward()
        with torch.no_grad():
            x -= learning_rate * x.grad
        x.grad.zero_()
        iterates.append(x.item())
    return iterates


WRONG = {
    "pairwise_differences": [
        (subtract_directly, "RuntimeError"),
        (transposed_differences, "expected shape (3, 5), got (5, 3)"),
        (reversed_differences, "the sign is the wrong way round"),
    ],
    "centered_columns": [
        (centre_in_place, "changed its input x"),
        (centre_rows, "each row's mean"),
    ],
    "silu_derivative": [(sigmoid_derivative_only, "product rule")],
    "gradient_descent": [
        (descent_without_zeroing, "zero it after each step"),
        (descent_with_one_step_too_few, "expected a list of 9 numbers"),
    ],
}


# The two tests every exercise section has: each mistake above is rejected, and named.
test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer = (
    mistake_tests(ex, WRONG)
)
