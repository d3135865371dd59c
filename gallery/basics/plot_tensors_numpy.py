r"""
Tensors from NumPy's point of view
==================================

A PyTorch tensor is an n-dimensional array much like a NumPy ``ndarray``, with two
additions: it can live on a GPU, and it can record operations for automatic
differentiation. You will learn:

* how to create tensors, and what their ``dtype`` and ``device`` are;
* when a tensor shares memory with a NumPy array and when it copies, shown by
  changing one and printing the other;
* the broadcasting rules, on a worked example of shapes;
* reductions over chosen dimensions.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import numpy as np
import torch

from pytorch_examples.claims import check

SEED = 0
torch.manual_seed(SEED)

# %%
# Creating tensors
# ----------------
# From Python lists, from NumPy arrays, or from factory functions. Python floats
# become ``float32`` (PyTorch's default, unlike NumPy's ``float64``) and Python ints
# become ``int64``.
from_list = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
integers = torch.tensor([1, 2, 3])
zeros = torch.zeros(2, 3)
evenly_spaced = torch.linspace(0, 1, 5)
random_normal = torch.randn(2, 2)
for name, t in [
    ("from_list", from_list),
    ("integers", integers),
    ("zeros", zeros),
    ("evenly_spaced", evenly_spaced),
    ("random_normal", random_normal),
]:
    print(f"{name:14} shape {tuple(t.shape)!s:8} dtype {t.dtype!s:14} device {t.device}")
print("NumPy's default float:", np.array([1.0]).dtype)
check(
    from_list.dtype == torch.float32 and integers.dtype == torch.int64,
    "Python floats become float32 and Python ints int64",
)

# %%
# ``.to()`` returns a tensor of the new dtype or on the new device (the tensor itself
# if nothing changes); the original stays as it was.
as_double = from_list.to(torch.float64)
print(as_double.dtype, from_list.dtype)

# %%
# Views versus copies
# -------------------
# :func:`torch.from_numpy` wraps the array's memory: the tensor and the array are
# two views of the same numbers, so changing one changes the other.
# :func:`torch.tensor` always copies.
array = np.arange(4.0)
shared = torch.from_numpy(array)
copied = torch.tensor(array)
array[0] = 100.0
print("array after array[0] = 100:", array)
print("from_numpy sees it:        ", shared)
print("torch.tensor does not:     ", copied)
shared[1] = -1.0
print("and writing through the tensor changes the array:", array)
check(
    shared[0] == 100 and copied[0] == 0 and array[1] == -1,
    "from_numpy shares the array's memory both ways; torch.tensor copies",
)

# %%
# Slicing a tensor also gives a view (as reshaping does when it can), so writing through a
# slice writes into the original; ``.clone()`` makes an independent copy.
matrix = torch.zeros(2, 3)
row = matrix[1]
row[:] = 7.0
independent = matrix[0].clone()
independent[:] = 9.0
print(matrix)
check(
    (matrix[1] == 7).all() and (matrix[0] == 0).all(),
    "writing through the slice changed the matrix; writing to the clone did not",
)

# %%
# A view and its base share one block of memory, their *storage*, but a view need not
# start where the storage starts: ``data_ptr()`` is the address of a tensor's first
# element, and row 1 begins ``storage_offset()`` elements in. So different
# ``data_ptr()`` values do not mean separate memory; to ask whether a view shares its
# base's memory, compare the addresses of their storages.
print(f"row 1 starts {row.storage_offset()} elements ({row.element_size()} bytes each) in")
print("data_ptr, row 1 minus matrix:", row.data_ptr() - matrix.data_ptr(), "bytes")
base = matrix.untyped_storage().data_ptr()
row_shares = row.untyped_storage().data_ptr() == base
clone_shares = independent.untyped_storage().data_ptr() == base
print("same storage as the matrix: row 1", row_shares, "| clone", clone_shares)
check(
    row.data_ptr() != matrix.data_ptr() and row_shares and not clone_shares,
    "row 1 shares the matrix's storage although its data_ptr differs; the clone does not",
)

# %%
# Broadcasting
# ------------
# Two shapes are compared from their last dimension backwards. Dimensions match if
# they are equal or one of them is 1 (a missing leading dimension counts as 1); a 1
# is stretched to the other size without copying. Worked example:
#
# .. code-block:: text
#
#    a:        (4, 1, 3)
#    b:           (5, 1)     -> treated as (1, 5, 1)
#    a + b:    (4, 5, 3)     last: 3 vs 1 -> 3; middle: 1 vs 5 -> 5; first: 4 vs 1 -> 4
a = torch.arange(12.0).reshape(4, 1, 3)
b = torch.arange(5.0).reshape(5, 1)
total = a + b
print("a", tuple(a.shape), "+ b", tuple(b.shape), "->", tuple(total.shape))
print("total[2, 3, 1] == a[2, 0, 1] + b[3, 0]:", (total[2, 3, 1] == a[2, 0, 1] + b[3, 0]).item())
check(total.shape == (4, 5, 3), "a + b has the shape worked out above")

# %%
# In pictures: a column of shape ``(4, 1)`` plus a row of shape ``(1, 5)``. Each is
# stretched along its size-1 dimension to ``(4, 5)`` (without copying), and the sum is
# a ``(4, 5)`` grid.
column = torch.arange(4.0).reshape(4, 1) * 10
row_vector = torch.arange(5.0).reshape(1, 5)
grid_sum = column + row_vector
fig, axes = plt.subplots(1, 3, figsize=(9, 2.8), gridspec_kw={"width_ratios": [1, 5, 5]})
for ax, tensor, title in zip(
    axes,
    (column, row_vector, grid_sum),
    ("column\n(4, 1)", "+ row (1, 5)", "= sum (4, 5)"),
    strict=True,
):
    ax.imshow(tensor.numpy(), cmap="Blues", vmin=-10, vmax=50)
    for (i, j), value in np.ndenumerate(tensor.numpy()):
        ax.text(j, i, f"{value:g}", ha="center", va="center")
    ax.set(title=title, xticks=[], yticks=[])
fig.tight_layout()
plt.show()

# %%
# The most common use: standardize the columns of a data matrix by subtracting a
# row vector of column means, shape ``(3,)`` against ``(100, 3)``. Afterwards the
# column means are zero up to float32 rounding: a small multiple of its machine
# epsilon, the gap between 1 and the next float32.
data = torch.randn(100, 3) * torch.tensor([1.0, 10.0, 100.0]) + 5
standardized = (data - data.mean(dim=0)) / data.std(dim=0)
means_in_eps = standardized.mean(dim=0) / torch.finfo(torch.float32).eps
print("column means after, in units of float32's epsilon:", means_in_eps)
check(means_in_eps.abs().max() < 100, "the column means are within 100 epsilons of zero")

# %%
# Shapes that do not fit raise an error rather than guessing:
try:
    torch.zeros(2, 3) + torch.zeros(2)
    raised = False
except RuntimeError as error:
    print("RuntimeError:", error)
    raised = True
check(raised, "adding shapes (2, 3) and (2,) raises an error")

# %%
# Reductions over dimensions
# --------------------------
# ``dim`` names the dimension that disappears: on a ``(2, 3)`` matrix, ``dim=0``
# combines the rows (one value per column) and ``dim=1`` combines the columns.
# ``keepdim=True`` keeps it with size 1, ready to broadcast back.
m = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print("sum over dim 0:", m.sum(dim=0))
print("sum over dim 1:", m.sum(dim=1))
print("mean over dim 1, kept:", m.mean(dim=1, keepdim=True).shape)
print("rows divided by their sums:\n", m / m.sum(dim=1, keepdim=True))
values, indices = m.max(dim=1)
print("max of each row:", values, "at columns", indices)
