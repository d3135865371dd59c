r"""
Exercises: tensors and autograd
===============================

Four exercises on this section's pages, from a single line to a loop you write whole.
Each leaves a function blank: its body is ``raise NotImplementedError``, and the
comment above it says what to write. Replace that line with your code and run the
cell below it, which checks your function on inputs you have not seen and prints one
line: ``passed``, ``not done yet``, or what went wrong (the input, the value expected,
the value your function returned, and the tolerance).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
import torch

from pytorch_examples.exercises import basics as ex

# %%
# 1. Every difference at once
# ---------------------------
# *Practises* :doc:`broadcasting <plot_tensors_numpy>`. Given a vector ``a`` of length
# *n* and a vector ``b`` of length *m*, return the *n* x *m* matrix whose entry
# ``[i, j]`` is ``a[i] - b[j]``, in one line and without a loop. ``a - b`` is not it:
# it fails when the lengths differ, and when they are equal it subtracts element by
# element.


def pairwise_differences(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Return the (n, m) matrix of a[i] - b[j], by broadcasting.
    raise NotImplementedError


# %%
ex.pairwise_differences.check(pairwise_differences)

# %%
# .. exercise:: basics.pairwise_differences

# %%
# 2. Centre the columns, keep the data
# ------------------------------------
# *Practises* reductions over a dimension and :doc:`views versus copies
# <plot_tensors_numpy>`. Return ``x`` with each column's mean subtracted from that
# column, so that every column of the result has mean zero. The caller's ``x`` must
# come back unchanged: the check looks at it after your function returns.


def centered_columns(x: torch.Tensor) -> torch.Tensor:
    # Return a new tensor: x minus the mean of each column.
    raise NotImplementedError


# %%
ex.centered_columns.check(centered_columns)

# %%
# .. exercise:: basics.centered_columns

# %%
# 3. A derivative by hand, checked by autograd
# --------------------------------------------
# *Practises* :doc:`autograd against calculus <plot_autograd>` on an activation the
# :doc:`activation functions <plot_activation_functions>` page does not show: SiLU,
# :math:`f(x) = x\,\sigma(x)` with the sigmoid :math:`\sigma`. Derive :math:`f'(x)`
# on paper and code your formula; do not call ``backward`` here. The check compares
# your formula with autograd's derivative at points of its own.


def silu_derivative(x: torch.Tensor) -> torch.Tensor:
    # Return f'(x) for f(x) = x * sigmoid(x), element by element, from your formula.
    raise NotImplementedError


# %%
ex.silu_derivative.check(silu_derivative)

# %%
# .. exercise:: basics.silu_derivative

# %%
# 4. Gradient descent, written out
# --------------------------------
# *Practises* :doc:`the descent loop and gradient accumulation <plot_autograd>`. Write
# gradient descent on a function of one number: start at ``start``, take ``n_steps``
# steps :math:`x \leftarrow x - \eta f'(x)` with the gradient from autograd, and return
# the list of ``n_steps + 1`` values of :math:`x`, the start included, as Python
# floats. The check runs it on two functions it chooses.


def gradient_descent(f, start: float, learning_rate: float, n_steps: int) -> list[float]:
    # Return [x_0, x_1, ..., x_n] from gradient descent on f, using backward().
    raise NotImplementedError


# %%
ex.gradient_descent.check(gradient_descent)

# %%
# .. exercise:: basics.gradient_descent
