r"""
Why is my training not working? A learning-rate range test
==========================================================

:doc:`plot_training_diagnostics` showed that He's initialisation keeps a deep MLP's
activations and gradients level at the start. Whether it then trains depends first on
the learning rate: too low and it crawls, too high and the loss diverges to NaN or
the network collapses to a uniform guess. This page picks the rate for that network.
You will learn:

* how a learning-rate range test sweeps the rate in one short run and picks one by a
  rule fixed in advance;
* how short training runs at the picked rate and its neighbours check the pick on
  validation, with the uncertainty of each comparison.

The rate chosen here is the baseline of the next two pages,
:doc:`plot_statistics_during_training` and :doc:`plot_loss_curve_symptoms`, which read
it from the file this page saves.
"""

# %%
# The network and its training loop
# ----------------------------------
# The digits split and the deep MLP with He's initialisation of the previous page,
# defined again so that this page runs on its own; SGD with momentum trains it, and
# ``train`` is the whole loop. The learning rate is the one setting this page chooses.
# The others are given, not tuned: ``BATCH_SIZE`` and ``MOMENTUM`` are common defaults
# for SGD, ``N_STEPS``, the length of each run, is set by the build's time budget, and
# the range test's own settings below are fixed before it runs, not fitted to its curve.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import NOISE_LEVEL, mean_standard_error, paired_difference
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import eval_mode, evaluate
from pytorch_examples.results import record_result

SEED = 0
DEPTH = 8  # hidden layers
WIDTH = 128
BATCH_SIZE = 64
MOMENTUM = 0.9
START_RATE = 1e-4  # the range test's first and last learning rates
END_RATE = 10.0
RANGE_STEPS = 200
SMOOTHING = 0.9  # weight of the past in the smoothed loss
STOP_FACTOR = 4  # the test stops once the smoothed loss exceeds this times its minimum
RULE_FACTOR = 10  # the pick is the rate of the lowest smoothed loss divided by this
JUMP_FACTOR = 1.1  # describes the curve, not the rule: a "jump" exceeds this x its low so far
N_STEPS = 300  # steps of each short run
FACTORS = (0.1, 0.3, 1, 3, 10)  # short runs at these multiples of the picked rate

torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)


def make_mlp() -> nn.Sequential:
    """``DEPTH`` blocks of Linear + ReLU with He's initialisation, then 10 class scores."""
    torch.manual_seed(SEED)  # every network on this page starts from the same weights
    layers, fan_in = [], data.train_x.shape[1]
    for _ in range(DEPTH):
        linear = nn.Linear(fan_in, WIDTH)
        nn.init.normal_(linear.weight, std=math.sqrt(2 / fan_in))
        nn.init.zeros_(linear.bias)
        layers += [linear, nn.ReLU()]
        fan_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(WIDTH, 10))


def train(rate: float, steps: int = N_STEPS) -> nn.Sequential:
    """Train a fresh network for ``steps`` steps at ``rate``, on the same batches each time."""
    model = make_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=MOMENTUM)
    batches = torch.Generator().manual_seed(SEED)
    for _ in range(steps):
        batch = torch.randint(len(data.train_y), (BATCH_SIZE,), generator=batches)
        loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


# %%
# The range test
# --------------
# One fresh network trains for ``RANGE_STEPS`` steps while the learning rate grows by the
# same factor at every step, from ``START_RATE`` to ``END_RATE``: step :math:`k`, counted
# from 0 to :math:`n-1`, uses :math:`r_0 (r_1/r_0)^{k/(n-1)}`. Each step's loss is on a
# different batch, so the test follows an exponential moving average of it (corrected
# for starting at zero, as Adam corrects its averages), and stops once that average is
# ``STOP_FACTOR`` times its lowest value or is not a number. The rule, fixed before the
# test ran: the pick is the rate at the lowest smoothed loss divided by ``RULE_FACTOR``.
# Both the average's lag and the loss being measured before each step's update show a
# rate's harm a few steps late, which moves the lowest point toward higher rates; the
# division leaves room for that and for a whole run being longer than one step.
def range_test_rates(start: float, end: float, n_steps: int) -> list[float]:
    return [start * (end / start) ** (k / (n_steps - 1)) for k in range(n_steps)]


def pick_rate(rates: list[float], smoothed: list[float]) -> float:
    lowest = min(range(len(smoothed)), key=lambda k: smoothed[k])
    return rates[lowest] / RULE_FACTOR


model = make_mlp()
optimizer = torch.optim.SGD(model.parameters(), lr=START_RATE, momentum=MOMENTUM)
batches = torch.Generator().manual_seed(SEED)
tested_rates, raw_losses, smoothed_losses, average = [], [], [], 0.0
for step, rate in enumerate(range_test_rates(START_RATE, END_RATE, RANGE_STEPS)):
    for group in optimizer.param_groups:
        group["lr"] = rate
    batch = torch.randint(len(data.train_y), (BATCH_SIZE,), generator=batches)
    loss = F.cross_entropy(model(data.train_x[batch]), data.train_y[batch])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    average = SMOOTHING * average + (1 - SMOOTHING) * loss.item()
    tested_rates.append(rate)
    raw_losses.append(loss.item())
    smoothed_losses.append(average / (1 - SMOOTHING ** (step + 1)))
    if not smoothed_losses[-1] <= STOP_FACTOR * min(smoothed_losses):  # also stops on NaN
        break
picked = pick_rate(tested_rates, smoothed_losses)
lowest_rate = picked * RULE_FACTOR
print(
    f"range test: stopped after {len(tested_rates)} of {RANGE_STEPS} steps at rate "
    f"{tested_rates[-1]:.3g}; lowest smoothed loss {min(smoothed_losses):.3f} at rate "
    f"{lowest_rate:.3g}; picked rate {picked:.3g}"
)
# The first jump, and the lowest point before it: where the curve first stopped falling.
jumps = (
    k
    for k, loss in enumerate(smoothed_losses)
    if not loss <= JUMP_FACTOR * min(smoothed_losses[: k + 1])
)
jump = next(jumps, len(smoothed_losses) - 1)
early_pick = pick_rate(tested_rates[:jump], smoothed_losses[:jump])
print(
    f"first jump at rate {tested_rates[jump]:.3g}; lowest smoothed loss before it "
    f"{min(smoothed_losses[:jump]):.3f}, which the rule would turn into rate {early_pick:.3g}"
)

fig, ax = plt.subplots(figsize=(7, 3.8))
ax.plot(tested_rates, raw_losses, color="0.7", lw=1, label="loss of each step")
ax.plot(tested_rates, smoothed_losses, color="C0", label="smoothed")
ax.axvline(lowest_rate, color="C3", ls=":", label="lowest smoothed loss")
ax.axvline(early_pick * RULE_FACTOR, color="0.4", ls=":", label="lowest before the first jump")
ax.axvline(picked, color="C2", ls="--", label=f"picked (÷ {RULE_FACTOR})")
ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title="range test")
ax.set_ylim(0, 2 * smoothed_losses[0])  # the last steps shoot far above
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %%
# Checking the pick on validation
# -------------------------------
# The range test saw each rate for one step. Full runs show whether the pick trains
# well: ``N_STEPS`` steps from the same initial weights and batches at the picked rate
# and at ``FACTORS`` times it, each scored on every validation image. The rule, fixed
# before the runs: keep the pick unless another rate's validation loss is lower by more
# than ``NOISE_LEVEL`` standard errors (paired, image by image), then take the lowest; a
# run whose loss is not a number has diverged and is out. The figure's bars are each
# run's own uncertainty; each difference from the pick is printed below it.
runs, val_losses = {}, {}
for factor in FACTORS:
    runs[factor] = train(picked * factor)
    with torch.no_grad(), eval_mode(runs[factor]):
        val_losses[factor] = F.cross_entropy(
            runs[factor](data.val_x), data.val_y, reduction="none"
        )
fig, ax = plt.subplots(figsize=(7, 3.5))
for factor in FACTORS:
    loss, color = val_losses[factor], "C2" if factor == 1 else "C0"
    if loss.isfinite().all():
        error = NOISE_LEVEL * mean_standard_error(loss)
        ax.errorbar(picked * factor, loss.mean(), yerr=error, fmt="o", color=color, capsize=3)
    else:
        ax.plot(picked * factor, 0, "x", color="C3", ms=10, label="diverged (NaN)")
ax.plot([], [], "o", color="C2", label="picked")
ax.set(xscale="log", xlabel="learning rate", ylabel="validation loss", ylim=(0, None))
ax.set_title(f"after {N_STEPS} steps (bars: {NOISE_LEVEL:g} standard errors)")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

diverged = [factor for factor in FACTORS if not val_losses[factor].isfinite().all()]
better, tied, worse = [], [], []
print(f"ln 10 = {math.log(10):.4f}, the loss of a uniform guess over ten digits")
for factor in FACTORS:
    where = f"rate {picked * factor:.3g}, x {factor:g}:"
    if factor in diverged:
        print(where, "diverged, the validation loss is not a number")
        continue
    print(where, f"validation loss {val_losses[factor].mean():.4f}")
    if factor != 1 and 1 not in diverged:
        gap = paired_difference(val_losses[factor], val_losses[1])
        print("   ", gap.describe(f"x {factor:g}", "pick"))
        (better if gap.a_lower() else tied if gap.within_noise() else worse).append(factor)
chosen = min(better, key=lambda f: val_losses[f].mean()) if better else 1
nearest = min(FACTORS, key=lambda f: abs(math.log(picked * f / early_pick)))
print(
    f"chosen: x {chosen:g}; the run nearest the earlier dip's rate: x {nearest:g}, a factor "
    f"{max(picked * nearest, early_pick) / min(picked * nearest, early_pick):.2f} from it; "
    f"the first jump's rate is {tested_rates[jump] / (picked * chosen):.2f} times the chosen rate"
)
at_lowest = val_losses[RULE_FACTOR].mean()
outcome = "diverged to NaN" if at_lowest.isnan() else f"validation loss {at_lowest:.4f}"
if abs(at_lowest - math.log(10)) < 0.05:
    with torch.no_grad(), eval_mode(runs[RULE_FACTOR]):
        guesses = runs[RULE_FACTOR](data.val_x).argmax(dim=1)
    accuracy = (guesses == data.val_y).float().mean()
    outcome += f", within 0.05 of ln 10: a uniform guess (validation accuracy {accuracy:.4f})"
print(f"the run at the lowest smoothed loss's rate (x {RULE_FACTOR}): {outcome}")
tied_above_jump = [factor for factor in tied if picked * factor > tested_rates[jump]]
print("runs above the first jump's rate within noise of the pick:", end=" ")
print(", ".join(f"x {factor:g}" for factor in tied_above_jump) or "none")
check(
    RULE_FACTOR in diverged + worse,
    "a whole run at the rate of the lowest smoothed loss fails: its loss is not a number, "
    "or higher than the pick's beyond the noise",
)
check(not better, "no other rate's validation loss is lower than the pick's beyond the noise")
check(tied, "some of the pick's neighbours are within noise of it")
check(tied_above_jump, "a whole run above the first jump's rate is within noise of the pick")
check(
    picked * chosen < tested_rates[jump] < lowest_rate and nearest in diverged + worse,
    "the smoothed loss jumps above the chosen rate and before its lowest point; the run "
    "nearest the rate the earlier dip would give is worse than the pick beyond the noise, "
    "or diverged",
)

# %%
# The rate with the lowest smoothed loss, used for a whole run, fails in one of two
# ways: the loss diverges to NaN, or it is higher than the pick's beyond the noise; a
# loss near ln 10 is that of a network that collapsed to a uniform guess. Which of these
# this build saw is printed above, on the line that starts "the run at the lowest
# smoothed loss's rate". No rate beats the pick beyond
# the noise, so it stays; some of its neighbours are within noise of it, so the range
# test gives a region of good rates rather than a sharp optimum.
#
# The figure also shows the smoothed curve jumping above the chosen rate but before its
# lowest point, after an earlier dip (both printed above; ``JUMP_FACTOR`` only describes
# the curve, it plays no part in the rule). The chosen rate lies below that first jump
# only by the factor printed above, but the jump is a transient of a sweep that spends
# one step at each rate, not where whole runs fail: a whole run above it is within noise
# of the pick (the line printed above that starts "runs above the first jump"). The rule
# applied to the earlier dip would give the rate printed above; the run nearest it is
# worse than the pick beyond the noise, or diverged. The validation runs, not the range
# test alone, show that the pick trains well. The standard errors cover the validation
# images, not retraining from another seed. The test set is scored once, now, for the
# chosen run.
test = evaluate(runs[chosen], data.test_x, data.test_y)
print(
    f"chosen rate {picked * chosen:.3g}: test loss {test.loss:.4f}, accuracy {test.accuracy:.4f}"
)


# %%
# The next pages train this network at the chosen rate; it is saved with the settings it
# was chosen under, so that they can tell when they do not match.
settings = dict(depth=DEPTH, width=WIDTH, batch_size=BATCH_SIZE, momentum=MOMENTUM, seed=SEED)
record_result("plot_learning_rate_range_test", chosen_rate=picked * chosen, **settings)
