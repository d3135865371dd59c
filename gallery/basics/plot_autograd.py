r"""
Autograd by hand and by machine
===============================

PyTorch computes derivatives for you: every operation on a tensor with
``requires_grad=True`` is recorded, and ``backward()`` walks the record in reverse
applying the chain rule. This page checks that machinery against calculus. You will
learn:

* gradient descent on :math:`f(x) = (x - 2)^2`, step by step, drawn on the curve;
* that the autograd gradient equals the analytic one and a finite-difference
  estimate;
* how :func:`torch.autograd.gradcheck` automates that check;
* why gradients accumulate and must be zeroed, and what ``torch.no_grad()`` and
  ``detach()`` are for.
"""

# %%
# Setup
# -----
import itertools

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.reporting import format_table

SEED = 0
START = -1.0
LEARNING_RATE = 0.15
N_STEPS = 12
FINITE_DIFFERENCE_STEP = 1e-3
GRADCHECK_SIZE = 5

torch.manual_seed(SEED)  # the random inputs of gradcheck below


def f(x: torch.Tensor) -> torch.Tensor:
    """The function to minimize: a parabola with its minimum at x = 2."""
    return (x - 2) ** 2


# %%
# Gradient descent on a parabola
# ------------------------------
# Its derivative is :math:`f'(x) = 2(x - 2)`, so a step
# :math:`x \leftarrow x - \eta f'(x)` multiplies the distance to the minimum by
# :math:`1 - 2\eta = 0.7`: the iterates approach 2 geometrically from one side.
x = torch.tensor(START, requires_grad=True)
iterates = [x.item()]
for _ in range(N_STEPS):
    y = f(x)
    y.backward()  # x.grad = f'(x)
    with torch.no_grad():  # the update is not part of the function to differentiate
        x -= LEARNING_RATE * x.grad
    x.grad.zero_()
    iterates.append(x.item())
print("iterates:", [round(v, 4) for v in iterates])
print(f"distance to 2 shrinks by {(2 - iterates[2]) / (2 - iterates[1]):.3f} per step")
ratios = [(2 - later) / (2 - earlier) for earlier, later in itertools.pairwise(iterates)]
check(
    all(value < 2 for value in iterates)
    and all(abs(r - (1 - 2 * LEARNING_RATE)) < 1e-5 for r in ratios),
    "every step multiplies the distance to 2 by 1 - 2 lr, from below",
)

grid = torch.linspace(-1.5, 4, 200)
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(grid, f(grid), color="0.4", label="$f(x) = (x-2)^2$")
steps = torch.tensor(iterates)
ax.plot(steps, f(steps), "o-", color="C3", ms=5, lw=1, label="gradient descent")
for k in (0, 1, 2):
    ax.annotate(
        f"step {k}", (iterates[k], f(steps[k]).item()), textcoords="offset points", xytext=(8, 4)
    )
ax.set(xlabel="x", ylabel="f(x)", title=f"learning rate {LEARNING_RATE}")
ax.legend()
plt.show()

# %%
# Three ways to get the same derivative
# -------------------------------------
# The central difference :math:`(f(x+h) - f(x-h)) / 2h` is exact for a parabola up to
# rounding; in float64 the three columns agree to at least nine decimals.
rows = []
for value in (-1.0, 0.5, 2.0, 3.7):
    point = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    (autograd_grad,) = torch.autograd.grad(f(point), point)
    analytic = 2 * (value - 2)
    h = FINITE_DIFFERENCE_STEP
    shifted = torch.tensor([value + h, value - h], dtype=torch.float64)
    finite = (f(shifted[0]) - f(shifted[1])).item() / (2 * h)
    rows.append((value, autograd_grad.item(), analytic, finite))
print(format_table(["x", "autograd", "analytic 2(x-2)", "finite difference"], rows, digits=6))
check(
    all(abs(auto - exact) < 1e-9 and abs(fd - exact) < 1e-9 for _, auto, exact, fd in rows),
    "the three derivatives agree to at least nine decimals",
)


# %%
# gradcheck
# ---------
# :func:`torch.autograd.gradcheck` compares autograd's derivatives of a function with
# finite differences for every input element, in double precision. Here on a
# function of a vector with a less obvious gradient.
def softplus_of_product(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(a * b)), element-wise, summed."""
    return torch.nn.functional.softplus(a * b).sum()


a = torch.randn(GRADCHECK_SIZE, dtype=torch.float64, requires_grad=True)
b = torch.randn(GRADCHECK_SIZE, dtype=torch.float64, requires_grad=True)
print("gradcheck passed:", torch.autograd.gradcheck(softplus_of_product, (a, b)))

# %%
# Gradients accumulate
# --------------------
# ``backward()`` *adds* to ``.grad``. That is useful (gradients of several losses,
# or of several small batches, can be summed), but it means a training loop must
# zero the gradients before each step. Two backward passes without zeroing:
x = torch.tensor(3.0, requires_grad=True)
f(x).backward()
after_one = x.grad.item()
print("after one backward: ", after_one, " (f'(3) = 2)")
f(x).backward()
print("after two backwards:", x.grad.item(), " (summed)")
check(x.grad.item() == 2 * after_one, "the second backward added f'(3) to .grad")
x.grad = None  # what optimizer.zero_grad() does by default

# %%
# Switching recording off
# -----------------------
# Inside ``torch.no_grad()`` operations are not recorded: results have
# ``requires_grad=False``, and no memory is kept for a backward pass. Use it for
# parameter updates and for evaluation. ``detach()`` returns a tensor that shares
# the data but is cut off from the graph, so gradients do not flow through it.
with torch.no_grad():
    y_untracked = f(x)
y_tracked = f(x)
print("under no_grad:", y_untracked.requires_grad, "| normally:", y_tracked.requires_grad)
check(not y_untracked.requires_grad and y_tracked.requires_grad, "no_grad switches recording off")

z = x * 3
both = z * x  # d/dx (3x * x) = 6x
only_second = z.detach() * x  # d/dx (const * x) = 3x, the detached factor is a constant
(grad_both,) = torch.autograd.grad(both, x)
(grad_detached,) = torch.autograd.grad(only_second, x)
print(f"d/dx 3x^2 = {grad_both.item()}; with the first factor detached: {grad_detached.item()}")
check(
    grad_both.item() == 6 * x.item() and grad_detached.item() == 3 * x.item(),
    "no gradient flows through the detached factor",
)
