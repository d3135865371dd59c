"""Solutions of the basics exercises (gallery/basics/plot_basics_exercises.py).

Shown in the page's "Solution" dropdowns by docs/ext/exercise_pages.py, which checks each
one while the site is built. Each function is pasted whole into a notebook by readers and
by tests/site/check_downloads.py, so it uses only the names the page imports.
"""

import torch


def pairwise_differences(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return a[:, None] - b[None, :]


def centered_columns(x: torch.Tensor) -> torch.Tensor:
    return x - x.mean(dim=0)


def silu_derivative(x: torch.Tensor) -> torch.Tensor:
    s = torch.sigmoid(x)
    return s + x * s * (1 - s)


def gradient_descent(f, start: float, learning_rate: float, n_steps: int) -> list[float]:
    x = torch.tensor(start, requires_grad=True)
    iterates = [x.item()]
    for _ in range(n_steps):
        f(x).backward()
        with torch.no_grad():
            x -= learning_rate * x.grad
        x.grad.zero_()
        iterates.append(x.item())
    return iterates
