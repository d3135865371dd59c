r"""
Why is my training not working? Statistics during training
==========================================================

:doc:`plot_training_diagnostics` read per-layer statistics of a deep MLP with hooks at
initialisation, and :doc:`plot_learning_rate_range_test` chose a learning rate for it on
validation. This page reads the same statistics while the network trains: at that rate,
and with one thing changed at a time. You will learn:

* what a too-high learning rate does to the size of each step and to the units;
* what a signal that vanishes through depth looks like, and what a normalisation
  layer changes in it.

Run :doc:`plot_learning_rate_range_test` first; without its rate, this page says so.
"""

# %%
# The network, its hooks and the chosen rate
# ------------------------------------------
# The digits split, the MLP and the hooks of :doc:`plot_training_diagnostics`, defined
# again so that this page shows all it runs. The baseline is the range-test page's: He's
# initialisation, its batch size and momentum, and the rate it kept after checking it
# on validation. The other runs are demonstrations, not choices: each changes one thing.
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
from pytorch_examples.results import MissingResultsError, load_results

SEED = 0
DEPTH = 8  # hidden layers
WIDTH = 128
BATCH_SIZE = 64
MOMENTUM = 0.9
N_STEPS = 300  # SGD steps per training run
HIGH_FACTOR = 10  # the too-high rate is this times the chosen one
SCALE_TOLERANCE = 1.5  # a factor within which two scales count as level
UPDATE_WINDOW = (2, 20)  # steps whose |ΔW|/|W| the table summarises: after the first, before NaN

RANGE_TEST = "plot_learning_rate_range_test"  # the page that chooses the rate
try:
    saved = load_results([RANGE_TEST])[RANGE_TEST]
except MissingResultsError as missing:
    raise MissingResultsError(f"Run {RANGE_TEST}.py first: it saves the rate. {missing}") from None
expected = dict(depth=DEPTH, width=WIDTH, batch_size=BATCH_SIZE, momentum=MOMENTUM, seed=SEED)
if any(saved[name] != value for name, value in expected.items()):
    raise MissingResultsError(f"{RANGE_TEST}.py saved a rate for other settings: run it again")
GOOD_RATE, HIGH_RATE = saved["chosen_rate"], HIGH_FACTOR * saved["chosen_rate"]
print(f"rate chosen on validation by the range-test page {GOOD_RATE:.3g}, high {HIGH_RATE:.3g}")
torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)


def make_mlp(init: str, batch_norm: bool = False) -> nn.Sequential:
    """``DEPTH`` blocks of Linear (+ BatchNorm) + ReLU, then a linear layer to 10 scores."""
    torch.manual_seed(SEED)  # with He's initialisation, the range-test page's weights
    layers, fan_in = [], data.train_x.shape[1]
    for _ in range(DEPTH):
        linear = nn.Linear(fan_in, WIDTH)
        if init == "He":  # otherwise PyTorch's default, uniform in ±1/sqrt(fan_in)
            nn.init.normal_(linear.weight, std=math.sqrt(2 / fan_in))
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

        return hook

    def _backward(self, layer: int):
        def hook(module, grad_input, grad_output):
            self.gradient_rms[layer].append(grad_output[0].pow(2).mean().sqrt().item())

        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


# %%
# Four runs
# ---------
# Four networks train for ``N_STEPS`` steps of SGD with momentum, hooks on, on the same
# batches: He's initialisation at the chosen rate (the baseline) and at ``HIGH_FACTOR``
# times it; the default initialisation at the chosen rate, without and with batch
# normalisation (``BatchNorm1d``: before the ReLU, each unit rescaled to zero mean and
# unit variance over the batch, then a learned scale and shift). The loop also records,
# per linear layer, how far each step moves the weights relative to their size,
# :math:`\lVert\Delta W\rVert / \lVert W\rVert`.
RUNS = {
    "He, chosen rate": ("He", False, GOOD_RATE),
    "He, high rate": ("He", False, HIGH_RATE),
    "default init": ("default", False, GOOD_RATE),
    "default + BatchNorm": ("default", True, GOOD_RATE),
}
trained, losses, update_ratios = {}, {}, {}
for name, (init, batch_norm, rate) in RUNS.items():
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
        moved = [(m.weight - w).norm() / w.norm() for m, w in zip(linears, before, strict=True)]
        update_ratios[name].append(torch.stack(moved).tolist())
        losses[name].append(loss.item())
    statistics.remove()
    trained[name] = (model, statistics)

fig, axes = plt.subplots(4, len(RUNS), figsize=(13, 9.5), sharex=True, sharey="row")
colors = plt.get_cmap("viridis")(torch.linspace(0, 0.9, DEPTH).tolist())
for column, (name, (_, statistics)) in zip(axes.T, trained.items(), strict=True):
    records = [statistics.activation_rms, statistics.gradient_rms, statistics.dead_fraction]
    for ax, values in zip(column, [*records, torch.tensor(update_ratios[name]).T], strict=True):
        for layer in range(DEPTH):
            ax.plot(values[layer], color=colors[layer], lw=1, label=f"layer {layer + 1}")
    column[0].set_title(name)
    column[-1].set_xlabel("step")
labels = ("activation RMS", "gradient RMS", "dead fraction", "|ΔW| / |W|")
for ax, label in zip(axes[:, 0], labels, strict=True):
    ax.set_ylabel(label)
axes[0, 0].set(yscale="log", ylim=(1e-3, 1e3))  # a failing run may leave this range
axes[1, 0].set(yscale="log", ylim=(1e-8, 1e3))
axes[3, 0].set(yscale="log", ylim=(1e-6, 1e2))
axes[0, -1].legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()

# %%
# Reading the panels: at the high rate the weights move by a larger share per step than
# at the chosen rate, and more units are dead by the table's last step. The run then
# fails in one of two ways; the first line printed after the next code cell, starting
# "He, high rate", says which this build saw. Either the loss turns into NaN (the
# curves end where the statistics do), or every unit of a layer dies: it outputs 0 on
# every image of the batch, so no gradient reaches that layer's weights or the layers
# below, everything above it gets the same input for every image, and the loss
# stays near :math:`\ln 10`, that of a uniform guess over ten digits. With the default
# initialisation the signal shrinks through depth, the first layer's gradient stays far
# below the last layer's, and the loss stays near :math:`\ln 10` too; more units are
# dead from the first step than with He's, since their input is so small that the bias
# decides their sign (:doc:`plot_training_diagnostics` measured the one-sign fraction at
# initialisation).
#
# Batch normalisation sets the forward scale. At the start (learned scale 1, shift 0),
# if each unit's normalised input is roughly symmetric about zero, the ReLU keeps half
# its unit mean square: an activation RMS of about :math:`1/\sqrt 2` at every layer,
# whatever the weights' scale; it stays within ``SCALE_TOLERANCE`` of that at every step.
# No unit is dead at the start, by construction (one with zero mean over the batch is
# positive on some example), and none died during training. Backward, the first layer's
# gradient RMS is over ``SCALE_TOLERANCE`` times the last's at the table's last step:
# normalisation fixes the forward scale, not the backward one, and the He run at the
# chosen rate, without it, ends over that factor too (the same column of the table).
# With it, the default initialisation trains. The table reads the records at step 1 and
# at the last step before any NaN, the median over ``UPDATE_WINDOW`` of each step's
# largest :math:`\lVert\Delta W\rVert/\lVert W\rVert` (at step 1 the same weights, batch
# and empty momentum buffer make the high rate's step exactly ``HIGH_FACTOR`` times the
# chosen rate's, as checked below), and the loss.
high_losses, high_statistics = losses["He, high rate"], trained["He, high rate"][1]
nan_steps = [k for k, loss in enumerate(high_losses, start=1) if math.isnan(loss)]
first_nan = nan_steps[0] if nan_steps else N_STEPS + 1
last = first_nan - 2  # index of the last step whose loss was a number
dead_layers = [k for k, layer in enumerate(high_statistics.dead_fraction) if layer[-1] == 1]
below = [layer[-1] for layer in high_statistics.gradient_rms[: min(dead_layers, default=0)]]
if nan_steps:
    print(f"He, high rate: the loss is NaN from step {first_nan} of {N_STEPS}")
else:
    dead = ", ".join(str(k + 1) for k in dead_layers) or "no layer"
    print(f"He, high rate: a number at all {N_STEPS} steps; at the last, every unit is dead in")
    print(f"   layer {dead}, and the largest gradient RMS below it is {max(below, default=0):g}")
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
high, good = summary["He, high rate"], summary["He, chosen rate"]
plain = summary["default init"]
stuck = dead_layers and not any(below) and abs(high[4] - math.log(10)) < 0.05
check(
    bool(nan_steps or stuck),
    "at the high rate the loss turns into NaN, or every unit of a layer dies, the gradient "
    "below it is 0 and the loss of the last 10 steps stays near ln 10",
)
step_one = zip(update_ratios["He, high rate"][0], update_ratios["He, chosen rate"][0], strict=True)
check(
    all(math.isclose(h, HIGH_FACTOR * g, rel_tol=1e-3) for h, g in step_one),
    "at step 1 the high rate moves every layer's weights by the rates' ratio times the chosen "
    "rate's share",
)
check(
    final < first_nan and high[0] > HIGH_FACTOR * good[0] and high[2] > good[2],
    "before any NaN, the median step at the high rate moves the weights by over the rates' "
    "ratio times the share it moves them at the chosen rate; at the table's last step more "
    "units are dead",
)
check(
    plain[3] < 1e-2 and plain[1] > good[1] and abs(plain[4] - math.log(10)) < 0.05,
    "with the default initialisation the first layer's gradient is under a hundredth of "
    "the last layer's, more units are dead from the first step, and the loss stays near ln 10",
)
normalised = trained["default + BatchNorm"][1]
scale = torch.tensor(normalised.activation_rms) * math.sqrt(2)
check(
    bool(scale.gt(1 / SCALE_TOLERANCE).all() and scale.lt(SCALE_TOLERANCE).all())
    and max(max(layer) for layer in normalised.dead_fraction) == 0
    and min(summary["default + BatchNorm"][3], good[3]) > SCALE_TOLERANCE,
    "with batch normalisation the activation RMS of every layer at every step is within the "
    "tolerance factor of 1/sqrt(2), and no unit is dead at any step; the first layer's "
    "gradient RMS is over that factor times the last's at the table's last step, as it is "
    "in the He run at the chosen rate",
)

# %%
# On validation, the normalised network against the plain one, image by image.
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
# The loss alone says only that a run failed; the statistics per layer said how: updates
# far too large for the weights, a signal that vanished through depth. One seed and one
# run per setting: the standard error covers the validation images, not retraining.
# :doc:`plot_loss_curve_symptoms` starts from the loss curve instead.
