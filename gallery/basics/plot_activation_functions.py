r"""
Activation functions and their gradients
========================================

Without a nonlinearity between them, stacked linear layers collapse into one linear
map. The activation function supplies the nonlinearity, and its derivative decides
how well gradients flow back through the network. You will learn:

* the shapes of ReLU, LeakyReLU, sigmoid, tanh, GELU and SiLU (swish), each with its
  derivative computed by autograd;
* their ranges, and where each is used;
* the saturation problem: why the gradients of sigmoid and tanh vanish for large
  inputs, and what that does to deep stacks.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import torch
from torch import nn

from pytorch_examples.claims import check
from pytorch_examples.reporting import format_table

X_LIMIT = 6.0
N_GRID = 2401
DEPTHS = (1, 2, 5, 10)

ACTIVATIONS = {
    "ReLU": nn.ReLU(),
    "LeakyReLU (0.1)": nn.LeakyReLU(0.1),
    "sigmoid": nn.Sigmoid(),
    "tanh": nn.Tanh(),
    "GELU": nn.GELU(),
    "SiLU (swish)": nn.SiLU(),
}

# %%
# Each function and its derivative
# --------------------------------
# One ``backward`` through the sum of the outputs gives every point's derivative at
# once, because each output depends only on its own input.
x = torch.linspace(-X_LIMIT, X_LIMIT, N_GRID, requires_grad=True)
values, derivatives = {}, {}
for name, activation in ACTIVATIONS.items():
    y = activation(x)
    (dy,) = torch.autograd.grad(y.sum(), x)
    values[name], derivatives[name] = y.detach(), dy

fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True)
for ax, name in zip(axes.flat, ACTIVATIONS, strict=True):
    ax.plot(x.detach(), values[name], label="f(x)")
    ax.plot(x.detach(), derivatives[name], "--", label="f'(x)")
    ax.axhline(0, color="0.7", lw=0.8)
    ax.set(title=name, ylim=(-1.5, 3))
    ax.grid(True, alpha=0.3)
axes[0, 0].legend()
for ax in axes[1]:
    ax.set_xlabel("x")
fig.tight_layout()
plt.show()

# %%
# Ranges and uses
# ---------------
# The smallest value and the largest slope are measured on the grid (the unbounded
# ones show the grid's edge). GELU and SiLU dip slightly below zero before rising:
# they are smooth versions of ReLU.
USES = {
    "ReLU": "default for hidden layers of MLPs and CNNs",
    "LeakyReLU (0.1)": "ReLU variant that keeps a small gradient for x < 0",
    "sigmoid": "output for probabilities; gates in LSTMs",
    "tanh": "hidden layers of small MLPs and RNNs (zero-centred)",
    "GELU": "transformers (BERT, GPT)",
    "SiLU (swish)": "modern CNNs and LLMs (EfficientNet, Llama's SwiGLU)",
}
max_slope = {name: derivatives[name].max().item() for name in ACTIVATIONS}
rows = [
    (name, values[name].min().item(), values[name].max().item(), max_slope[name], USES[name])
    for name in ACTIVATIONS
]
print(
    format_table(
        ["activation", f"min on [-{X_LIMIT:g}, {X_LIMIT:g}]", "max", "max slope", "typical use"],
        rows,
        digits=3,
    )
)
check(
    values["GELU"].min() < 0 and values["SiLU (swish)"].min() < 0, "GELU and SiLU dip below zero"
)

# %%
# Saturation
# ----------
# The sigmoid's slope is at most 1/4 (at 0) and tanh's at most 1; both fall toward
# zero as :math:`|x|` grows: the function *saturates*. A unit whose input sits far
# out passes almost no gradient back, and learning through it stalls.
for name in ("sigmoid", "tanh"):
    at = {
        value: derivatives[name][torch.argmin((x.detach() - value).abs())].item()
        for value in (0.0, 2.0, 5.0)
    }
    print(f"{name:8} slope at 0: {at[0.0]:.4f}, at 2: {at[2.0]:.4f}, at 5: {at[5.0]:.2e}")
    check(
        derivatives[name].max() == at[0.0] and at[0.0] > at[2.0] > at[5.0],
        f"{name}'s slope is largest at 0 and falls as x grows",
    )

# %%
# Through a stack of layers the chain rule multiplies the layers' derivatives, and each
# of those is the activation's slopes, one per unit, times the layer's weight matrix.
# The activation's share is at most 1/4 per unit for the sigmoid, even at its best
# point; the weights' share depends on their size and can offset it or make it worse.
# The gradient of ``depth`` nested sigmoids at 0, with no weights between them, isolates
# the activation's share and shows it shrinking the gradient geometrically. It stays
# below the bound :math:`0.25^{\text{depth}}` because only the innermost sigmoid sees 0;
# each later one sees the output of the one before, at least :math:`\sigma(0) = 1/2`,
# where the slope is below 1/4. ReLU's slope is exactly 1 for every positive input
# (and 0 for negative ones), so its share never shrinks a gradient that passes: one
# reason deep networks use it.
nested = []
for depth in DEPTHS:
    point = torch.tensor(0.0, requires_grad=True)
    out = point
    for _ in range(depth):
        out = torch.sigmoid(out)
    (grad,) = torch.autograd.grad(out, point)
    nested.append(grad.item())
    print(
        f"{depth:2d} nested sigmoids: gradient at 0 = {grad.item():.2e} "
        f"(bound 0.25^{depth} = {0.25**depth:.2e})"
    )
relu_slope = derivatives["ReLU"]
check(
    all(g <= 0.25**depth for g, depth in zip(nested, DEPTHS, strict=True)),
    "the gradient through nested sigmoids is at most 0.25 ** depth",
)
check(
    (relu_slope[x > 0] == 1).all() and (relu_slope[x < 0] == 0).all(),
    "ReLU's slope is exactly 1 for positive inputs and 0 for negative ones",
)
