r"""
Why is my training not working? A learning rate, and a checklist
================================================================

:doc:`plot_training_diagnostics` read a network's insides to find what went wrong.
This page starts from the other end: the learning rate, which on that page turned a
working run into NaN, and three shapes a broken loss curve often takes.
You will learn:

* how a learning-rate range test sweeps the rate in one short run and picks one by a
  rule fixed in advance;
* how short training runs at the picked rate and its neighbours check the pick on
  validation, with the uncertainty of each comparison;
* a checklist of symptoms (loss NaN, flat, noisy), each made by a one-line fault in the
  training loop and removed by its one-line fix, and a noisy look measured for what it is.
"""

# %%
# The network of the previous page
# --------------------------------
# The same digits split and the same deep MLP with He's initialisation, defined again so
# that this page runs on its own; SGD with momentum trains it. ``train`` is the whole
# loop. Its ``fault`` argument switches on one of the mistakes of the checklist at the
# end; until then it is off.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import (
    NOISE_LEVEL,
    mean_standard_error,
    paired_difference,
    timing_difference,
)
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import eval_mode, evaluate
from pytorch_examples.reporting import format_table

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
JUMP_FACTOR = 1.1  # a "jump": the smoothed loss exceeds this times its lowest value so far
N_STEPS = 300  # steps of each short run
FACTORS = (0.1, 0.3, 1, 3, 10)  # short runs at these multiples of the picked rate
NOISY_BATCH_SIZE = 4
RECORD_EVERY = 5  # steps between two losses on the whole training set

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


def train(rate, batch_size=BATCH_SIZE, fault=None, steps=N_STEPS, train_x=data.train_x):
    """Train a fresh network; return it and its loss on all training images, as recorded."""
    model = make_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=MOMENTUM)
    batches = torch.Generator().manual_seed(SEED)
    train_losses = []
    for step in range(1, steps + 1):
        batch = torch.randint(len(data.train_y), (batch_size,), generator=batches)
        loss = F.cross_entropy(model(train_x[batch]), data.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        if fault == "zero_grad after backward":
            optimizer.zero_grad()
        optimizer.step()
        if step % RECORD_EVERY == 0:
            train_losses.append(evaluate(model, train_x, data.train_y).loss)
    return model, train_losses


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
    if not math.isfinite(smoothed_losses[-1]) or smoothed_losses[-1] > STOP_FACTOR * min(
        smoothed_losses
    ):
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
    with torch.no_grad(), eval_mode(runs[factor][0]):
        val_losses[factor] = F.cross_entropy(
            runs[factor][0](data.val_x), data.val_y, reduction="none"
        )
fig, ax = plt.subplots(figsize=(7, 3.5))
for factor in FACTORS:
    loss = val_losses[factor]
    if loss.isfinite().all():
        error = NOISE_LEVEL * mean_standard_error(loss)
        ax.errorbar(picked * factor, loss.mean(), yerr=error, fmt="o", color="C0", capsize=3)
    else:
        ax.plot(picked * factor, 0, "x", color="C3", ms=10, label="diverged (NaN)")
ax.axvline(picked, color="C2", ls="--", label="picked")
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
print(f"chosen: x {chosen:g}; the run nearest the earlier dip's rate: x {nearest:g}")
check(
    RULE_FACTOR in diverged + worse,
    "a whole run at the rate of the lowest smoothed loss fails: its loss is not a number, "
    "or higher than the pick's beyond the noise",
)
check(not better, "no other rate's validation loss is lower than the pick's beyond the noise")
check(tied, "some of the pick's neighbours are within noise of it")
check(
    tested_rates[jump] < lowest_rate and nearest in diverged + worse,
    "the smoothed loss jumps before its lowest point; the run nearest the rate the earlier "
    "dip would give is worse than the pick beyond the noise, or diverged",
)

# %%
# The rate with the lowest smoothed loss, used for a whole run, fails: its loss is not
# a number, or higher than the pick's beyond the noise (a loss near ln 10, printed
# above, is that of a uniform guess). No rate beats the pick beyond the noise, so it
# stays; some of its neighbours are within noise of it, so the range test gives a
# region of good rates rather than a sharp optimum. The figure also shows that the
# smoothed curve jumps before it reaches its lowest point, after an earlier dip (both
# printed above). The rule applied to that earlier dip would give a rate whose nearest
# run validation shows worse than the pick, or diverged: the validation runs, not the
# range test alone, protect the pick. The standard errors cover the validation images, not
# retraining from another seed. The test set is scored once, now, for the chosen run.
test = evaluate(runs[chosen][0], data.test_x, data.test_y)
print(
    f"chosen rate {picked * chosen:.3g}: test loss {test.loss:.4f}, accuracy {test.accuracy:.4f}"
)

# %%
# A checklist of symptoms
# -----------------------
# Three shapes of a failing loss curve, each made by one changed line and removed by
# putting it back, at the picked rate:
#
# * **NaN**: each pixel standardised to zero mean and unit standard deviation over the
#   training images, ``(x - x.mean(0)) / x.std(0)``. Some pixels are 0 on every image:
#   their standard deviation is 0, and 0 / 0 is NaN, which spreads through the first
#   layer to every unit. The fix divides such pixels by 1, as scikit-learn's
#   ``StandardScaler`` does, rather than by a tiny floor, which would multiply the same
#   pixel, non-zero on some unseen image, by a huge factor. (A too-high rate can also
#   end in NaN, as on the previous page.)
# * **Flat**: ``optimizer.zero_grad()`` moved between ``backward()`` and ``step()``. It
#   clears the gradients just computed; ``step()`` then has nothing to apply, and the
#   weights never move.
# * **Noisy**: a batch of ``NOISY_BATCH_SIZE`` images at the rate picked for batches of
#   ``BATCH_SIZE``. Each gradient now rests on far fewer images, and the loss jumps
#   between records: the table compares the mean change :math:`|\Delta L|` from one
#   record to the next. But a loss at a higher level moves by more for the same
#   relative change, so the changes of the log loss, :math:`|\Delta \ln L|`, are
#   compared too.
initial = [p.detach().clone() for p in make_mlp().parameters()]
fixed = runs[1][1]  # the pick's run: every line in place
pixel_std = data.train_x.std(dim=0)
print(f"{int((pixel_std == 0).sum())} of {len(pixel_std)} pixels are 0 on every training image")
centred = data.train_x - data.train_x.mean(dim=0)
nan_run = train(picked, train_x=centred / pixel_std)[1]
standardised_run = train(picked, train_x=centred / pixel_std.where(pixel_std > 0, 1.0))[1]
flat_model, flat_run = train(picked, fault="zero_grad after backward")
noisy_run = train(picked, batch_size=NOISY_BATCH_SIZE)[1]
unmoved = all(torch.equal(p, q) for p, q in zip(flat_model.parameters(), initial, strict=True))


def changes(train_losses, log=False):
    """|ΔL|, or |Δ ln L|, between records over the last half of the run, every other one."""
    # Every other: consecutive changes share a record, so they are not independent.
    last_half = torch.tensor(train_losses[len(train_losses) // 2 :])
    return (last_half.log() if log else last_half).diff().abs()[::2]


noisy_changes, fixed_changes = changes(noisy_run), changes(fixed)
rows = [
    ["NaN", "/ x.std(0)", "/ (std where std > 0, else 1)", "last", nan_run[-1]],
    ["flat", "zero_grad() after backward()", "zero_grad() first", "last", flat_run[-1], fixed[-1]],
    ["noisy", f"batch of {NOISY_BATCH_SIZE}", f"batch of {BATCH_SIZE}", "mean |ΔL|"],
]
rows[0].append(standardised_run[-1])
rows[-1] += [noisy_changes.mean().item(), fixed_changes.mean().item()]
print(format_table(["symptom", "fault", "fix", "training loss", "fault", "fix"], rows))
check(
    all(math.isnan(loss) for loss in nan_run) and math.isfinite(standardised_run[-1]),
    "dividing by a zero standard deviation makes every recorded loss NaN; the guarded "
    "division trains",
)
check(unmoved, "with zero_grad after backward the weights never move")
check(
    abs(flat_run[-1] - flat_run[0]) < 0.01 < fixed[0] - fixed[-1],
    "the faulty run's loss stays flat while the fixed run's falls",
)
# Two unpaired sets of repeated measurements: Welch's comparison, as for timings.
jumps = timing_difference(noisy_changes, fixed_changes)
print("mean |ΔL| between records:", jumps.describe("small batches", "fix"))
check(jumps.a_higher(), "the small batches' loss jumps more between records, beyond the noise")
log_jumps = timing_difference(changes(noisy_run, log=True), changes(fixed, log=True))
print("mean |Δ ln L| between records:", log_jumps.describe("small batches", "fix"))
half = len(fixed) // 2
check(
    not log_jumps.a_higher() and min(noisy_run[half:]) > max(fixed[half:]),
    "relative to its level, the small batches' loss does not change more between records "
    "than the fix's beyond the noise; over the last half of the run it lies above the "
    "fix's at every record",
)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
recorded_at = range(RECORD_EVERY, N_STEPS + 1, RECORD_EVERY)
pairs = {"NaN": (nan_run, standardised_run), "flat": (flat_run, fixed)}
pairs["noisy (log scale)"] = (noisy_run, fixed)
for ax, (symptom, (faulty, fix)) in zip(axes, pairs.items(), strict=True):
    ax.plot(recorded_at, faulty, color="C3", label="fault")
    ax.plot(recorded_at, fix, color="C0", label="fix")
    ax.set(title=symptom, xlabel="step")
for ax in axes[:2]:
    ax.set_ylim(0, 1.5 * fixed[0])
axes[2].set_yscale("log")  # equal ratios, equal heights
axes[0].set_ylabel("loss on all training images")
axes[1].legend()
fig.tight_layout()
plt.show()

# %%
# The NaN panel has no red curve: that loss was never a number. The small batches'
# loss jumps more between records than the fix's: the noisy curve of a linear plot,
# which the fix removes. On the third panel's log scale the noisy look goes: relative
# to its level, that loss jumps no more than the fix's, whose lower loss jumps too.
# What the fault does in the same number of steps is keep the loss high: read a loss
# curve on a log scale before blaming the noise alone. A flat curve can also come from
# the previous page's vanishing signal (its default initialisation stayed near ln 10);
# there the statistics per layer tell the causes apart.
