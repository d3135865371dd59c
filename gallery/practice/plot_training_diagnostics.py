r"""
Why is my training not working? Statistics at initialisation
============================================================

When a network does not learn, the loss says *that* something is wrong but not *where*.
The activations each layer passes forward and the gradients each layer passes back say
where. This page reads them with hooks on a deep MLP on the 8 x 8 digits, before any
training. You will learn:

* how forward and backward hooks record per-layer statistics without changing the
  model, and how their handles remove them;
* what the scale of the initial weights does to activations and gradients through
  depth, derived first and then measured.

The next page, :doc:`plot_learning_rate_range_test`, picks a learning rate for this
network; :doc:`plot_statistics_during_training` then reads the same statistics while it
trains, well and badly.
"""

# %%
# A deep MLP and its hooks
# ------------------------
# The digits are split into training, validation and test images as on
# :doc:`/auto_examples/classification/plot_digits_mlp`.
# The network stacks ``DEPTH`` blocks of a linear layer and a ReLU, ``WIDTH`` units
# each. Depth is the point: what a
# layer does to the scale of its input, repeated ``DEPTH`` times, becomes visible.
#
# A *forward hook* is a function that PyTorch calls with a module's input and output
# each time the module runs; a *backward hook* is called with the gradients flowing
# into and out of it during ``backward()``. ``LayerStatistics`` puts both on every ReLU
# and records per layer and pass: the root mean square (RMS) of the activations, the
# fraction of *dead* units (zero for every example of the batch, so no gradient reaches
# their weights) and of units with one sign on every example, and the RMS of the
# gradient of the loss with respect to the activations. ``remove()`` on the handle each
# ``register_*`` call returns takes the hook off again.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.reporting import format_table

SEED = 0
DEPTH = 8  # hidden layers
WIDTH = 128
SCALE_TOLERANCE = 1.5  # measured / derived activation RMS must lie within this factor
INITS = {"default": None, "He": 1.0, "2 x He": 2.0, "He / 2": 0.5}  # multiples of He's std

torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)


def make_mlp(init: str) -> nn.Sequential:
    """``DEPTH`` blocks of Linear + ReLU, then a linear layer to 10 scores."""
    layers, fan_in = [], data.train_x.shape[1]
    for _ in range(DEPTH):
        linear = nn.Linear(fan_in, WIDTH)
        if INITS[init] is not None:  # None: PyTorch's default, uniform in ±1/sqrt(fan_in)
            nn.init.normal_(linear.weight, std=INITS[init] * math.sqrt(2 / fan_in))
            nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        fan_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(WIDTH, 10))


class LayerStatistics:
    """Hooks on every ReLU of ``model`` that record per-layer statistics on each pass."""

    def __init__(self, model: nn.Module) -> None:
        relus = [module for module in model.modules() if isinstance(module, nn.ReLU)]
        self.activation_rms = [[] for _ in relus]  # [layer][pass]
        self.dead_fraction = [[] for _ in relus]
        self.one_sign_fraction = [[] for _ in relus]
        self.gradient_rms = [[] for _ in relus]
        self.handles = []
        for layer, relu in enumerate(relus):
            self.handles.append(relu.register_forward_hook(self._forward(layer)))
            self.handles.append(relu.register_full_backward_hook(self._backward(layer)))

    def _forward(self, layer: int):
        def hook(module, inputs, output):
            self.activation_rms[layer].append(output.detach().pow(2).mean().sqrt().item())
            dead = (output == 0).all(dim=0).float().mean().item()
            # Once the activations are NaN no unit is zero, which is no sign of health.
            self.dead_fraction[layer].append(dead if output.isfinite().all() else math.nan)
            one_sign = (output > 0).all(dim=0) | (output == 0).all(dim=0)
            self.one_sign_fraction[layer].append(one_sign.float().mean().item())

        return hook

    def _backward(self, layer: int):
        def hook(module, grad_input, grad_output):
            self.gradient_rms[layer].append(grad_output[0].pow(2).mean().sqrt().item())

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


# %%
# At initialisation: derive, then measure
# ---------------------------------------
# Take a linear layer :math:`y = Wx + b` whose weights are drawn independently with
# variance :math:`\sigma_w^2` and biases with variance :math:`\sigma_b^2`. Each output is a
# sum of ``fan_in`` independent terms, so :math:`E[y^2] = n_\text{in}\sigma_w^2 E[x^2] +
# \sigma_b^2`, and a ReLU keeps half of a symmetric :math:`y`'s square:
# :math:`E[\text{relu}(y)^2] = E[y^2]/2`. Per layer, the mean square of the activations is
# multiplied by :math:`n_\text{in}\sigma_w^2/2`. He initialisation sets
# :math:`\sigma_w^2 = 2/n_\text{in}`, a factor of 1, so in expectation the scale holds
# through any depth; twice He's standard deviation doubles the RMS at every layer.
# PyTorch's default draws weights and biases uniformly in :math:`\pm 1/\sqrt{n_\text{in}}`,
# variance :math:`1/(3 n_\text{in})`: a factor of 1/6 per layer, until the biases' share
# sets a floor. Backward, the gradient with respect to a layer's input is
# :math:`W^\top` times the ReLU-masked gradient of its output, which gives the same
# factor per layer (with ``fan_out`` for ``fan_in``, equal here, and no bias term) from
# the last layer to the first. ``derived_rms`` runs the forward recursion from the mean
# square of the pixels; ``derived_gradient_ratio`` multiplies the backward factors.
def derived_rms(init: str) -> list[float]:
    """The activation RMS after each ReLU that the recursion above predicts."""
    mean_square, fan_in, rms = data.train_x.pow(2).mean().item(), data.train_x.shape[1], []
    for _ in range(DEPTH):
        if init == "default":
            weight_var = bias_var = 1 / (3 * fan_in)
        else:
            weight_var = INITS[init] ** 2 * 2 / fan_in
            bias_var = 0.0
        mean_square = (fan_in * weight_var * mean_square + bias_var) / 2
        rms.append(math.sqrt(mean_square))
        fan_in = WIDTH
    return rms


at_init, init_loss = {}, {}
for init in INITS:
    torch.manual_seed(SEED)
    model = make_mlp(init)
    statistics = LayerStatistics(model)
    loss = F.cross_entropy(model(data.train_x), data.train_y)  # the whole training set
    loss.backward()
    statistics.remove()
    at_init[init], init_loss[init] = statistics, loss.item()
model(data.train_x).sum().backward()  # a pass after remove(): no hook runs
check(
    all(len(layer) == 1 for layer in statistics.activation_rms + statistics.gradient_rms),
    "after remove() a forward and backward pass record nothing",
)


def derived_gradient_ratio(init: str) -> float:
    """Gradient RMS at layer 1 over that at layer ``DEPTH``: ``DEPTH - 1`` backward factors."""
    factor = 1 / 6 if INITS[init] is None else INITS[init] ** 2
    return factor ** ((DEPTH - 1) / 2)


rows = []
for init in INITS:
    measured = [layer[0] for layer in at_init[init].activation_rms]
    ratio = [m / d for m, d in zip(measured, derived_rms(init), strict=True)]
    gradient = [layer[0] for layer in at_init[init].gradient_rms]
    gradient_ratio = gradient[0] / gradient[-1]
    rows.append([init, init_loss[init], min(ratio), max(ratio), gradient_ratio])
    rows[-1] += [derived_gradient_ratio(init), gradient_ratio / derived_gradient_ratio(init)]
    rows[-1].append(at_init[init].one_sign_fraction[-1][0])
headers = ["init", "loss", "RMS measured/derived: min", "max", f"gradient 1/{DEPTH}", "derived"]
print(format_table([*headers, "measured/derived", f"one sign, layer {DEPTH}"], rows))
check(
    all(1 / SCALE_TOLERANCE < row[k] < SCALE_TOLERANCE for row in rows for k in (2, 3, 6)),
    "for every initialisation the measured activation RMS at every layer, and the ratio of "
    "the first layer's gradient RMS to the last's, are within the tolerance factor of the "
    "derived ones",
)

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
layers = range(1, DEPTH + 1)
for init, color in zip(INITS, ("C0", "C1", "C2", "C3"), strict=True):
    measured = [layer[0] for layer in at_init[init].activation_rms]
    axes[0].plot(layers, measured, "o-", color=color, label=f"{init}, measured")
    axes[0].plot(layers, derived_rms(init), ":", color=color)
    gradient = [layer[0] for layer in at_init[init].gradient_rms]
    axes[1].plot(layers, gradient, "o-", color=color)
    per_layer = derived_gradient_ratio(init) ** (1 / (DEPTH - 1))  # from the last layer back
    axes[1].plot(
        layers, [gradient[-1] * per_layer ** (DEPTH - k) for k in layers], ":", color=color
    )
axes[0].set(xlabel="layer", ylabel="activation RMS", yscale="log", title="forward")
axes[1].set(xlabel="layer", ylabel="gradient RMS", yscale="log", title="backward")
fig.suptitle("dotted: derived", fontsize=9)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# The derivation holds within ``SCALE_TOLERANCE``, forward at every layer and backward
# from the last layer to the first. He, 2 x He and He / 2 share one draw of the weights,
# scaled; with zero biases that scales each layer's activations by exactly the derived
# factor, so their forward columns coincide by construction. With the default
# initialisation the signal shrinks until the biases hold it up, and the gradient
# shrinks toward the first layer; with twice He's scale both grow, and so does the loss
# at initialisation. He's scale keeps both level.

# %%
# The last column gives the fraction of units of the last hidden layer whose input has one
# sign on every training image: always off, so dead for the whole data set, or always on,
# so a linear unit. With the default initialisation the signal reaching that layer is so
# small that the part common to every image, mostly the bias, decides each unit's sign. With He's,
# fewer but still many units have one sign. The pixels are never negative, so two images
# already point in similar directions, and by layer ``DEPTH`` they are more alike: below,
# the mean cosine between two training images' inputs to layer 1 and to layer ``DEPTH``.
# A unit with no bias whose input points almost the same way for every image has the same
# sign on almost every image.
one_sign = {init: at_init[init].one_sign_fraction[-1][0] for init in INITS}
check(
    one_sign["default"] > max(0.5, one_sign["He"]),
    f"with the default initialisation most units of layer {DEPTH} have one sign on every "
    "training image, more than with He's",
)


def mean_cosine(x: torch.Tensor) -> float:
    """The mean cosine between the rows of ``x``, over all pairs of different rows."""
    unit = x / x.norm(dim=1, keepdim=True)
    return ((unit.sum(dim=0).pow(2).sum() - len(x)) / (len(x) * (len(x) - 1))).item()


torch.manual_seed(SEED)
with torch.no_grad():
    layer_input = make_mlp("He")[: 2 * (DEPTH - 1)](data.train_x)  # what layer DEPTH reads
cosines = mean_cosine(data.train_x), mean_cosine(layer_input)
print(f"He: mean cosine between two images' inputs, layer 1 {cosines[0]:.3f}, ", end="")
print(f"layer {DEPTH} {cosines[1]:.3f}")
check(
    min(data.train_x.min().item(), cosines[0]) >= 0 and cosines[1] > cosines[0],
    f"no pixel is negative, and the inputs of layer {DEPTH} are more alike than the pixels",
)

# %%
# Each initialisation here is one draw, measured once, while the derivation is about the
# average over draws; one draw of this width already lies within the tolerance. He's scale is
# the one the next pages start from: :doc:`plot_learning_rate_range_test` picks a
# learning rate for it on validation, and :doc:`plot_statistics_during_training` reads
# these statistics while the network trains, at that rate and with one thing changed.
