"""Exercises for the basics section (tensors, autograd, activation functions).

Used on :doc:`/auto_examples/basics/plot_basics_exercises`. Each check makes its own
inputs from a fixed seed, so the learner's function meets values it has not seen.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from pytorch_examples.exercises._mistakes import expect_close_or_explain
from pytorch_examples.exercises.grading import Exercise, WrongAnswerError, call

__all__ = ["centered_columns", "gradient_descent", "pairwise_differences", "silu_derivative"]


def _pairwise_differences_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(11)
    for n, m in ((3, 5), (4, 4), (1, 6)):
        a, b = torch.randn(n, generator=generator), torch.randn(m, generator=generator)
        case = f"a of shape ({n},) and b of shape ({m},)"
        got = call(answer, a.clone(), b.clone(), case=case)
        expect_close_or_explain(
            got,
            a[:, None] - b[None, :],
            case=case,
            mistakes=(
                (
                    (b[:, None] - a[None, :]).T,
                    "Your matrix holds b[j] - a[i]: the sign is the wrong way round.",
                ),
            ),
        )
    return "3 pairs of vectors, of different and of equal lengths."


pairwise_differences = Exercise(
    "pairwise_differences",
    "Broadcasting compares shapes from the last dimension backwards. Give a a trailing "
    "dimension of size 1 (a[:, None], shape (n, 1)) and b a leading one (shape (1, m)).",
    _pairwise_differences_cases,
)


def _centered_columns_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(12)
    for rows, scales in ((6, (1.0, 10.0, 100.0)), (4, (2.0, 3.0, 5.0, 7.0))):
        x = torch.randn(rows, len(scales), generator=generator) * torch.tensor(scales) + 50
        original = x.clone()
        case = f"x of shape {tuple(x.shape)} with column means near 50"
        got = call(answer, x, case=case)
        if not torch.equal(x, original):
            raise WrongAnswerError(
                f"On {case}: your function changed its input x. An in-place operation "
                "(x -= ..., x.sub_(...)) writes into the caller's tensor; compute a new "
                "tensor (x - ...) instead."
            )
        expect_close_or_explain(
            got,
            original - original.mean(dim=0),
            case=case,
            atol=1e-4,
            mistakes=(
                (
                    original - original.mean(dim=1, keepdim=True),
                    "You subtracted each row's mean: a column's mean is a reduction over "
                    "the rows, dim=0.",
                ),
                (original - original.mean(), "You subtracted the mean of the whole tensor."),
            ),
        )
    return "2 matrices, including a square one; the input was left unchanged."


centered_columns = Exercise(
    "centered_columns",
    "x.mean(dim=0) has one entry per column, shape (columns,), which broadcasts against "
    "(rows, columns). An expression such as x - m makes a new tensor; x -= m does not.",
    _centered_columns_cases,
)


def _silu_derivative_cases(answer: Callable) -> str:
    generator = torch.Generator().manual_seed(13)
    grid = torch.linspace(-7.0, 7.0, 29)
    for x, case in (
        (grid, "29 points evenly spaced from -7 to 7"),
        (torch.randn(3, 4, generator=generator) * 3, "x of shape (3, 4), random"),
    ):
        leaf = x.clone().requires_grad_()
        (leaf * torch.sigmoid(leaf)).sum().backward()
        s = torch.sigmoid(x)
        got = call(answer, x.clone(), case=case)
        expect_close_or_explain(
            got,
            leaf.grad,
            case=case,
            atol=1e-6,
            mistakes=(
                (
                    s * (1 - s),
                    "That is the sigmoid's derivative; SiLU is x times the sigmoid, so the "
                    "product rule adds a second term.",
                ),
                (s, "That is only the first term of the product rule."),
                (
                    x * s * (1 - s),
                    "That is only the second term of the product rule.",
                ),
            ),
        )
    return "Compared with autograd at 29 grid points and 12 random ones."


silu_derivative = Exercise(
    "silu_derivative",
    "Product rule: the derivative of x * s(x) is s(x) + x * s'(x), and the sigmoid's "
    "derivative is s'(x) = s(x) * (1 - s(x)).",
    _silu_derivative_cases,
)


def _descent_reference(
    derivative: Callable[[float], float], start: float, learning_rate: float, n_steps: int
) -> tuple[list[float], list[float]]:
    """Gradient descent, and the same with gradients that are never zeroed."""
    x, right = start, [start]
    for _ in range(n_steps):
        x -= learning_rate * derivative(x)
        right.append(x)
    x, total, accumulated = start, 0.0, [start]
    for _ in range(n_steps):
        total += derivative(x)
        x -= learning_rate * total
        accumulated.append(x)
    return right, accumulated


def _gradient_descent_cases(answer: Callable) -> str:
    problems = (
        ("f(x) = (x + 1.5)^2 from x = 2", lambda x: (x + 1.5) ** 2, lambda x: 2 * (x + 1.5), 2.0),
        (
            "f(x) = cosh(x) from x = -2",
            torch.cosh,
            lambda x: float(torch.sinh(torch.tensor(x))),
            -2.0,
        ),
    )
    learning_rate, n_steps = 0.2, 8
    for name, f, derivative, start in problems:
        case = f"{name}, learning rate {learning_rate}, {n_steps} steps"
        got = call(answer, f, start, learning_rate, n_steps, case=case)
        if not isinstance(got, list | tuple) or len(got) != n_steps + 1:
            raise WrongAnswerError(
                f"On {case}: expected a list of {n_steps + 1} numbers (the start and one "
                f"per step), got {type(got).__name__}"
                + (f" of length {len(got)}" if isinstance(got, list | tuple) else "")
            )
        iterates = torch.tensor([float(v) for v in got], dtype=torch.float64)
        right, accumulated = _descent_reference(derivative, start, learning_rate, n_steps)
        expect_close_or_explain(
            iterates,
            torch.tensor(right, dtype=torch.float64),
            case=case,
            atol=1e-5,
            rtol=1e-4,
            mistakes=(
                (
                    torch.tensor(accumulated, dtype=torch.float64),
                    "Your steps use the sum of all gradients so far: backward() adds to "
                    "x.grad, so zero it after each step (x.grad.zero_()).",
                ),
            ),
        )
    return "2 functions, every iterate within 1e-5 of the reference."


gradient_descent = Exercise(
    "gradient_descent",
    "Make x a tensor with requires_grad=True. Each step: compute f(x), call backward(), "
    "update x inside torch.no_grad(), then zero x.grad; record x.item() after each step.",
    _gradient_descent_cases,
)
