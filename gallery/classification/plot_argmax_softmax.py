r"""
From scores to a class: argmax and softmax
==========================================

A classifier with several classes computes one score (logit) per class and picks the
largest. Here three hand-made scores of a single input :math:`x`,

.. math:: z_0 = -x, \qquad z_1 = 1, \qquad z_2 = x - 1,

show every step of that. You will learn:

* how argmax carves the input axis into regions, one per class;
* how softmax turns the same scores into probabilities that agree with argmax;
* how a temperature makes softmax sharper, until it becomes argmax itself.
"""

# %%
# Setup
# -----
import itertools

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.reporting import format_table

X_MIN, X_MAX = -5.0, 5.0
N_GRID = 1001
TABLE_X = (-5.0, -1.0, 0.0, 2.0, 5.0)
TEMPERATURES = (2.0, 1.0, 0.3, 0.05)
CLASS_COLORS = ("C0", "C1", "C2")


def scores(x: torch.Tensor) -> torch.Tensor:
    """The three class scores at each x, shape ``(len(x), 3)``."""
    return torch.stack([-x, torch.ones_like(x), x - 1], dim=1)


x = torch.linspace(X_MIN, X_MAX, N_GRID)
z = scores(x)
winner = z.argmax(dim=1)
probabilities = torch.softmax(z, dim=1)

# %%
# Where each class wins
# ---------------------
# Class 0 beats class 1 when :math:`-x > 1`, that is :math:`x < -1`; class 2 beats
# class 1 when :math:`x - 1 > 1`, that is :math:`x > 2`; in between the constant
# score wins. We read the region edges off the computed argmax rather than trusting
# that algebra.
changes = torch.nonzero(winner[1:] != winner[:-1]).squeeze(1)
edges = [(x[i] + x[i + 1]).item() / 2 for i in changes]
grid_step = (X_MAX - X_MIN) / (N_GRID - 1)
edge_text = ", ".join(f"{edge:.1f}" for edge in edges)
print(f"argmax changes class at x = {edge_text} (grid step {grid_step:g})")
check(
    len(edges) == 2 and abs(edges[0] + 1) <= grid_step and abs(edges[1] - 2) <= grid_step,
    "the computed region edges are x = -1 and x = 2, as the algebra says",
)

fig, (ax_z, ax_p) = plt.subplots(2, 1, figsize=(7, 6.5), sharex=True)
for k in range(3):
    in_region = winner == k
    ax_z.fill_between(x, -6, 6, where=in_region, color=CLASS_COLORS[k], alpha=0.12, lw=0)
    ax_p.fill_between(x, 0, 1, where=in_region, color=CLASS_COLORS[k], alpha=0.12, lw=0)
    ax_z.plot(x, z[:, k], color=CLASS_COLORS[k], label=f"$z_{k}$")
    ax_p.plot(x, probabilities[:, k], color=CLASS_COLORS[k], label=f"softmax$_{k}$")
ax_z.set(ylabel="score", ylim=(-6, 6), title="scores; shading: the class argmax picks")
ax_z.legend(loc="upper center", ncols=3)
ax_p.set(xlabel="x", ylabel="probability", ylim=(0, 1))
ax_p.legend(loc="center right")
fig.tight_layout()
plt.show()

# %%
# The table
# ---------
# At :math:`x = -1` scores 0 and 1 tie, and at :math:`x = 2` scores 1 and 2 tie;
# :func:`torch.argmax` then returns the first of the tied indices, and softmax gives
# the tied classes equal probability.
z_table = scores(torch.tensor(TABLE_X))
p_table = torch.softmax(z_table, dim=1)
rows = [
    (x_value, *z_row.tolist(), int(z_row.argmax()), *p_row.tolist())
    for x_value, z_row, p_row in zip(TABLE_X, z_table, p_table, strict=True)
]
print(format_table(["x", "z0", "z1", "z2", "argmax", "p0", "p1", "p2"], rows, digits=3))
tie_01, tie_12 = TABLE_X.index(-1.0), TABLE_X.index(2.0)  # rows where two scores tie
check(
    rows[tie_01][4] == 0 and rows[tie_12][4] == 1,
    "at each tie argmax returns the first of the tied indices",
)
check(
    torch.isclose(p_table[tie_01, 0], p_table[tie_01, 1])
    and torch.isclose(p_table[tie_12, 1], p_table[tie_12, 2]),
    "softmax gives tied classes equal probability",
)

# %%
# Softmax with a temperature
# --------------------------
# Dividing the scores by a temperature :math:`T` before softmax keeps their order,
# so argmax is unchanged, but scales their gaps by :math:`1/T`. As :math:`T \to 0`
# the largest score's probability goes to 1 and softmax becomes the one-hot argmax;
# large :math:`T` flattens it towards uniform.
fig, axes = plt.subplots(1, len(TEMPERATURES), figsize=(12, 3), sharey=True, layout="constrained")
for ax, temperature in zip(axes, TEMPERATURES, strict=True):
    p_t = torch.softmax(z / temperature, dim=1)
    for k in range(3):
        ax.plot(x, p_t[:, k], color=CLASS_COLORS[k], label=f"class {k}")
    ax.set(title=f"T = {temperature:g}", xlabel="x")
axes[0].set_ylabel("softmax probability")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right center")
plt.show()

z_at_zero = scores(torch.tensor([0.0]))
largest = []
for temperature in TEMPERATURES:
    p_t = torch.softmax(z_at_zero / temperature, dim=1).squeeze(0)
    largest.append((p_t.argmax().item(), p_t.max().item()))
    print(f"x = 0, T = {temperature:<5g} p = {[round(v, 4) for v in p_t.tolist()]}")
check(
    len({k for k, _ in largest}) == 1
    and all(a < b for (_, a), (_, b) in itertools.pairwise(largest)),
    "as T falls the argmax stays and its probability rises toward 1",
)
