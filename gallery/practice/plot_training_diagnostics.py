r"""
Why is my training not working? Statistics per layer
====================================================

When a network does not learn, the loss says *that* something is wrong but not *where*.
The activations each layer passes forward and the gradients each layer passes back say
where. This page reads them with hooks on a deep MLP on the 8 x 8 digits. You will
learn:

* how forward and backward hooks record per-layer statistics without changing the
  model, and how their handles remove them;
* what the scale of the initial weights does to activations and gradients through
  depth, derived first and then measured;
* what a too-high learning rate, a vanishing signal and a normalisation layer look
  like in those statistics while the network trains.

The next page, :doc:`plot_learning_rate_range_test`, picks a learning rate and lists
symptoms with their usual faults.
"""

# %%
# A deep MLP and its hooks
# ------------------------
# The digits are split 60/20/20 as on :doc:`/auto_examples/classification/plot_digits_mlp`.
# The network stacks ``DEPTH`` blocks of a linear layer and a ReLU, ``WIDTH`` units
# each, optionally with batch normalisation between the two. Depth is the point: what a
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
from pytorch_examples.comparison import paired_difference
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import eval_mode
from pytorch_examples.reporting import format_table

SEED = 0
DEPTH = 8  # hidden layers
WIDTH = 128
BATCH_SIZE = 64
N_STEPS = 300  # SGD steps per training run
GOOD_RATE = 0.03
HIGH_RATE = 0.3
MOMENTUM = 0.9
SCALE_TOLERANCE = 1.5  # measured / derived activation RMS must lie within this factor
UPDATE_WINDOW = (2, 20)  # steps whose |ΔW|/|W| the table summarises: after the first, before NaN
INITS = {"default": None, "He": 1.0, "2 x He": 2.0, "He / 2": 0.5}  # multiples of He's std

torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)


def make_mlp(init: str, batch_norm: bool = False) -> nn.Sequential:
    """``DEPTH`` blocks of Linear (+ BatchNorm) + ReLU, then a linear layer to 10 scores."""
    layers, fan_in = [], data.train_x.shape[1]
    for _ in range(DEPTH):
        linear = nn.Linear(fan_in, WIDTH)
        if INITS[init] is not None:  # None: PyTorch's default, uniform in ±1/sqrt(fan_in)
            nn.init.normal_(linear.weight, std=INITS[init] * math.sqrt(2 / fan_in))
            nn.init.zeros_(linear.bias)
        layers += [linear, nn.BatchNorm1d(WIDTH), nn.ReLU()] if batch_norm else [linear, nn.ReLU()]
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
#
# During training
# ---------------
# Four networks train for ``N_STEPS`` steps of SGD with momentum, hooks on: He's
# initialisation at ``GOOD_RATE`` and at the ten times larger ``HIGH_RATE``; the default
# initialisation at ``GOOD_RATE``, without and with batch normalisation
# (``BatchNorm1d``: before the ReLU, each unit rescaled to zero mean and unit variance
# over the batch, then a learned scale and shift). The loop also records, per linear
# layer, how far each step moves the weights relative to their size,
# :math:`\lVert\Delta W\rVert / \lVert W\rVert`.
RUNS = {
    "He, good rate": ("He", False, GOOD_RATE),
    "He, high rate": ("He", False, HIGH_RATE),
    "default init": ("default", False, GOOD_RATE),
    "default + BatchNorm": ("default", True, GOOD_RATE),
}
trained, losses, update_ratios = {}, {}, {}
for name, (init, batch_norm, rate) in RUNS.items():
    torch.manual_seed(SEED)
    model = make_mlp(init, batch_norm)
    linears = [m for m in model if isinstance(m, nn.Linear)][:DEPTH]
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=MOMENTUM)
    batches = torch.Generator().manual_seed(SEED)  # every run sees the same batches
    statistics, losses[name], update_ratios[name] = LayerStatistics(model), [], []
    for _ in range(N_STEPS):
        batch = torch.randint(len(data.train_y), (BATCH_SIZE,), generator=batches)
        loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        before = [linear.weight.detach().clone() for linear in linears]
        optimizer.step()
        update_ratios[name].append(
            [
                (layer.weight - w).norm().item() / w.norm().item()
                for layer, w in zip(linears, before, strict=True)
            ]
        )
        losses[name].append(loss.item())
    statistics.remove()
    trained[name] = (model, statistics)

fig, axes = plt.subplots(4, len(RUNS), figsize=(13, 9.5), sharex=True, sharey="row")
colors = plt.get_cmap("viridis")(torch.linspace(0, 0.9, DEPTH).tolist())
for column, (name, (_, statistics)) in zip(axes.T, trained.items(), strict=True):
    per_layer = (
        statistics.activation_rms,
        statistics.gradient_rms,
        statistics.dead_fraction,
        list(zip(*update_ratios[name], strict=True)),
    )
    for ax, values in zip(column, per_layer, strict=True):
        for layer in range(DEPTH):
            ax.plot(values[layer], color=colors[layer], lw=1, label=f"layer {layer + 1}")
    column[0].set_title(name)
    column[-1].set_xlabel("step")
labels = ("activation RMS", "gradient RMS", "dead fraction", "|ΔW| / |W|")
for ax, label in zip(axes[:, 0], labels, strict=True):
    ax.set_ylabel(label)
axes[0, 0].set(yscale="log", ylim=(1e-3, 1e3))  # past the top: the divergence
axes[1, 0].set(yscale="log", ylim=(1e-8, 1e3))
axes[3, 0].set(yscale="log", ylim=(1e-6, 1e2))
axes[0, -1].legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()

# %%
# Reading the panels: at the high rate, the weights move by a larger share per step
# than at the good rate, more units are dead at the last step before the loss turns
# into NaN, and then it does (the curves end where the statistics do). With the
# default initialisation the signal shrinks through
# depth and the gradient at the first layer stays far below the last layer's; the loss
# stays near :math:`\ln 10`, that of a uniform guess over ten digits. More of its units
# are dead from the first step than with He's: their input is so small that the bias
# decides their sign, and in the last hidden layer most units had one sign on every
# training image at initialisation (the first table's last column).
#
# Batch normalisation sets the forward scale: each unit enters the ReLU with zero mean
# and unit variance over the batch, so, until the learned scale and shift move, the
# activation RMS is about :math:`1/\sqrt 2` at every layer whatever the weights' scale;
# it stays within ``SCALE_TOLERANCE`` of that at every step. No unit is dead, by
# construction: a unit with zero mean over the batch is positive on some example.
# Backward, the scale is not level: the first layer's gradient RMS is over
# ``SCALE_TOLERANCE`` times the last's (the table's gradient column). With it, the
# default initialisation trains. The table reads the records at the first step and at
# the last step before the high rate's loss turned into NaN; the median, over the steps
# of ``UPDATE_WINDOW``, of each step's largest :math:`\lVert\Delta W\rVert/\lVert W\rVert`
# (step 1 is left out: same weights, same batch and an empty momentum buffer make the
# high rate's first step ten times the good rate's, as checked below); and the mean
# loss of the last 10 steps.
nan_steps = [k for k, loss in enumerate(losses["He, high rate"], start=1) if math.isnan(loss)]
first_nan = nan_steps[0] if nan_steps else N_STEPS + 1
last = first_nan - 2  # index of the last step whose loss was a number
print(f"He, high rate: the loss is NaN from step {first_nan} of {N_STEPS}")
first, final = UPDATE_WINDOW
summary = {}
for name, (_, statistics) in trained.items():
    summary[name] = [
        torch.tensor([max(ratios) for ratios in update_ratios[name][first - 1 : final]]).median(),
        max(layer[0] for layer in statistics.dead_fraction),
        max(layer[last] for layer in statistics.dead_fraction),
        statistics.gradient_rms[0][last] / statistics.gradient_rms[-1][last],
        sum(losses[name][-10:]) / 10,
    ]
headers = [f"|ΔW|/|W|, steps {first}-{final}", "most dead, step 1", f"most dead, step {last + 1}"]
headers += [f"gradient 1/{DEPTH}", "loss, last 10 steps"]
rows = [[name, *(f"{value:.4g}" for value in row)] for name, row in summary.items()]
print(format_table(["run", *headers], rows))
high, good, plain = summary["He, high rate"], summary["He, good rate"], summary["default init"]
check(nan_steps, "at the high rate the loss turns into NaN")
step_one = zip(update_ratios["He, high rate"][0], update_ratios["He, good rate"][0], strict=True)
check(
    all(math.isclose(h, 10 * g, rel_tol=1e-3) for h, g in step_one),
    "at step 1 the high rate moves every layer's weights by ten times the good rate's share",
)
check(
    final < first_nan and high[0] > 10 * good[0] and high[2] > good[2],
    "before the loss turns into NaN, the median step at the high rate moves the weights by "
    "over ten times the share it moves them at the good rate, and at the last step before "
    "the NaN more units are dead",
)
one_sign = {init: at_init[init].one_sign_fraction[-1][0] for init in ("default", "He")}
check(
    plain[3] < 1e-2
    and plain[1] > good[1]
    and abs(plain[4] - math.log(10)) < 0.05
    and one_sign["default"] > max(0.5, one_sign["He"]),
    "with the default initialisation the first layer's gradient is under a hundredth of "
    "the last layer's, more units are dead from the first step, and the loss stays near "
    "ln 10; in the last hidden layer most units had one sign on every image, more than with He's",
)
normalised = trained["default + BatchNorm"][1]
check(
    all(
        1 / SCALE_TOLERANCE < rms * math.sqrt(2) < SCALE_TOLERANCE
        for layer in normalised.activation_rms
        for rms in layer
    )
    and summary["default + BatchNorm"][3] > SCALE_TOLERANCE,
    "with batch normalisation the activation RMS of every layer at every step is within the "
    "tolerance factor of 1/sqrt(2); the first layer's gradient RMS is over that factor "
    "times the last's",
)

# %%
# On validation, the normalised network against the plain one with the same
# initialisation: each validation image's loss under each, compared image by image.
val_losses = {}
for name in ("default init", "default + BatchNorm"):
    model = trained[name][0]
    with torch.no_grad(), eval_mode(model):
        val_losses[name] = F.cross_entropy(model(data.val_x), data.val_y, reduction="none")
    print(f"{name:20} validation loss {val_losses[name].mean():.4f}")
gap = paired_difference(val_losses["default + BatchNorm"], val_losses["default init"])
print(gap.describe("BatchNorm", "plain"))
check(gap.a_lower(), "with batch normalisation the validation loss is lower, beyond the noise")

# %%
# The loss curve alone says only that a run failed; the statistics per layer said how:
# updates far too large for the weights, a signal that vanished through depth. One seed
# and one run per setting: the standard error covers the validation images, not
# retraining.
