r"""
Why is my training not working? A checklist of symptoms
=======================================================

:doc:`plot_statistics_during_training` read a network's insides to tell faults apart.
Often the first sign of a fault is the shape of the loss curve. This page makes three
shapes a broken curve often takes, each with a one-line fault in an otherwise working
training loop, and removes each with a one-line fix. You will learn:

* why a loss that is NaN from the start often comes from the data, not the model;
* why a loss that stays flat can mean the weights never move;
* how to measure how noisy a logged loss curve is, relative to its level, and why a
  small batch makes it noisy.

Run :doc:`plot_learning_rate_range_test` first; this page trains at the rate it chose,
and without it stops and says so.
"""

# %%
# The working loop
# ----------------
# The digits split and the deep MLP with He's initialisation of the previous pages, and
# the range-test page's training settings: its batch size, its momentum and the rate it
# chose on validation, read from the file it saved. That loop works; every fault below
# changes one line of it. ``train`` runs on ``N_STEPS`` batches' worth of images and keeps
# the rate per image (the rate scales with the batch), so a smaller batch takes more,
# smaller steps. It records each step's batch loss, as a training loop logs it, and the
# loss on all training images every ``SPARSE_EVERY`` steps' worth of images; its
# ``fault`` argument moves the one line that a fault inside the loop moves.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import timing_difference
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import evaluate
from pytorch_examples.reporting import format_table
from pytorch_examples.results import MissingResultsError, load_results

SEED = 0
DEPTH = 8  # hidden layers
WIDTH = 128
BATCH_SIZE = 64
MOMENTUM = 0.9
N_STEPS = 300  # steps of each run at BATCH_SIZE; a smaller batch takes more, on as many images
NOISY_BATCH_SIZE = 8
SPARSE_EVERY = 10  # steps at BATCH_SIZE between records of the loss on all training images
N_BLOCKS = 15  # blocks of the last half of a run whose relative spreads are compared

RANGE_TEST = "plot_learning_rate_range_test"  # the page that chooses the rate
try:
    saved = load_results([RANGE_TEST])[RANGE_TEST]
except MissingResultsError as missing:
    raise MissingResultsError(f"Run {RANGE_TEST}.py first: it saves the rate. {missing}") from None
expected = dict(depth=DEPTH, width=WIDTH, batch_size=BATCH_SIZE, momentum=MOMENTUM, seed=SEED)
if any(saved[name] != value for name, value in expected.items()):
    raise MissingResultsError(f"{RANGE_TEST}.py saved a rate for other settings: run it again")
RATE = saved["chosen_rate"]
print(f"the rate chosen on validation by the range-test page: {RATE:.3g}")
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


def train(batch_size=BATCH_SIZE, fault=None, steps=None, train_x=data.train_x, every=None):
    """Train a fresh network; return it, each step's batch loss and the recorded losses."""
    model = make_mlp()
    rate = RATE * batch_size / BATCH_SIZE  # the range test's rate per image
    optimizer = torch.optim.SGD(model.parameters(), lr=rate, momentum=MOMENTUM)
    batches = torch.Generator().manual_seed(SEED)
    steps = steps or N_STEPS * BATCH_SIZE // batch_size
    every = every or SPARSE_EVERY * BATCH_SIZE // batch_size
    batch_losses, train_losses = [], []
    for step in range(1, steps + 1):
        batch = torch.randint(len(data.train_y), (batch_size,), generator=batches)
        loss = F.cross_entropy(model(train_x[batch]), data.train_y[batch])
        if fault != "zero_grad after backward":
            optimizer.zero_grad()
        loss.backward()
        if fault == "zero_grad after backward":  # the same call, one line lower
            optimizer.zero_grad()
        optimizer.step()
        batch_losses.append(loss.item())
        if step % every == 0:
            train_losses.append(evaluate(model, train_x, data.train_y).loss)
    return model, batch_losses, train_losses


# %%
# Three faults and their fixes
# ----------------------------
#
# * **NaN**: each pixel standardised to zero mean and unit standard deviation over the
#   training images, ``(x - x.mean(0)) / x.std(0)``. Some pixels are 0 on every image:
#   their standard deviation is 0, and 0 / 0 is NaN, which spreads through the first
#   layer to every unit. The fix divides such pixels by 1, as scikit-learn's
#   ``StandardScaler`` does, rather than by a tiny floor, which would multiply the same
#   pixel, non-zero on some unseen image, by a huge factor. (A too-high rate can end in
#   NaN too, or in a dead layer and a flat loss: :doc:`plot_statistics_during_training`
#   prints which its build saw.)
# * **Flat**: ``optimizer.zero_grad()`` moved from before ``backward()`` to between
#   ``backward()`` and ``step()``. It clears the gradients just computed; ``step()``
#   then has nothing to apply, and the weights never move.
# * **Noisy**: a batch of ``NOISY_BATCH_SIZE`` images instead of ``BATCH_SIZE``, on as
#   many images at the same rate per image. Each logged loss is now the mean over far
#   fewer images, and it scatters from one step to the next.
initial = [p.detach().clone() for p in make_mlp().parameters()]
_, fixed_batches, fixed = train()  # every line in place
pixel_std = data.train_x.std(dim=0)
constant = pixel_std == 0
print(f"{int(constant.sum())} of {len(pixel_std)} pixels are constant over the training images")
check(
    bool(constant.any()) and bool((data.train_x[:, constant] == 0).all()),
    "some pixels are 0 on every training image",
)
centred = data.train_x - data.train_x.mean(dim=0)
nan_run = train(train_x=centred / pixel_std)[2]
standardised_run = train(train_x=centred / pixel_std.where(pixel_std > 0, 1.0))[2]
flat_model, _, flat_run = train(fault="zero_grad after backward")
_, noisy_batches, noisy_run = train(batch_size=NOISY_BATCH_SIZE)
unmoved = all(torch.equal(p, q) for p, q in zip(flat_model.parameters(), initial, strict=True))
rows = [
    ["NaN", "/ x.std(0)", "/ (std where std > 0, else 1)", nan_run[-1], standardised_run[-1]],
    ["flat", "zero_grad() after backward()", "zero_grad() before", flat_run[-1], fixed[-1]],
    ["noisy", f"batch of {NOISY_BATCH_SIZE}", f"batch of {BATCH_SIZE}", noisy_run[-1], fixed[-1]],
]
print(format_table(["symptom", "fault", "fix", "last loss on all images: fault", "fix"], rows))
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


# %%
# How noisy is noisy?
# -------------------
# A batch's loss is the mean of its images' losses, so the fewer the images, the more it
# scatters around the loss on all of them. The measure: the last half of each run, past
# its first fall, is cut into ``N_BLOCKS`` blocks of as many images, and in each block
# the standard deviation of the batch losses is divided by their mean. That relative
# spread does not call a curve noisier for lying higher. Its logs are compared between
# the runs as two unpaired sets (Welch's comparison, as for timings); blocks that follow
# one another in a run share its weights' drift and momentum, so they are not fully
# independent, and the standard error is a rough one.
def relative_spreads(batch_losses, n_blocks=N_BLOCKS):
    """ln(std / mean) of the batch losses in each of ``n_blocks`` blocks of the last half."""
    last_half = torch.tensor(batch_losses[len(batch_losses) // 2 :], dtype=torch.float64)
    return torch.stack([(b.std() / b.mean()).log() for b in last_half.tensor_split(n_blocks)])


spreads = timing_difference(relative_spreads(noisy_batches), relative_spreads(fixed_batches))
print("mean ln(std / mean) of a block:", spreads.describe("small batches", "fix"))
print(
    f"relative spread, small batches / fix: {math.exp(spreads.difference):.3g}; a mean over "
    f"{BATCH_SIZE // NOISY_BATCH_SIZE} times fewer images, at the same weights: "
    f"{math.sqrt(BATCH_SIZE / NOISY_BATCH_SIZE):.3g}"
)
margin = spreads.threshold * spreads.standard_error
interval = [math.exp(spreads.difference + sign * margin) for sign in (-1, 1)]
print(
    f"relative spread, small batches / fix, within the noise: {interval[0]:.3g} to "
    f"{interval[1]:.3g}"
)
print(
    "batch losses per block: small batches "
    f"{len(noisy_batches) // 2 // N_BLOCKS}, fix {len(fixed_batches) // 2 // N_BLOCKS}"
)
check(
    interval[0] < math.sqrt(BATCH_SIZE / NOISY_BATCH_SIZE) < interval[1],
    "the ratio of relative spreads is consistent with a mean over "
    f"{BATCH_SIZE // NOISY_BATCH_SIZE} times fewer images",
)
levels = [
    torch.tensor(losses[len(losses) // 2 :]).mean() for losses in (noisy_batches, fixed_batches)
]
print(f"mean batch loss over the last half: small batches {levels[0]:.4f}, fix {levels[1]:.4f}")
check(
    noisy_run[-1] < fixed[-1] and levels[0] < levels[1],
    "the small batches end at a lower loss on all training images and a lower mean batch "
    "loss over the last half",
)
check(
    spreads.a_higher(),
    "relative to its level, the small batches' logged loss spreads more than the fix's, "
    "beyond the noise",
)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
pairs = {"NaN": (nan_run, standardised_run), "flat": (flat_run, fixed)}
for ax, (symptom, (faulty, fix)) in zip(axes[:2], pairs.items(), strict=True):
    for losses, color, label in ((faulty, "C3", "fault"), (fix, "C0", "fix")):
        ax.plot(range(SPARSE_EVERY, N_STEPS + 1, SPARSE_EVERY), losses, color=color, label=label)
    ax.set(title=symptom, xlabel="step", ylim=(0, 1.5 * flat_run[0]))
noisy_curves = ((noisy_batches, "C3", 0.5, NOISY_BATCH_SIZE), (fixed_batches, "C0", 1, BATCH_SIZE))
for losses, color, width, size in noisy_curves:
    images = torch.arange(1, len(losses) + 1) * (N_STEPS * BATCH_SIZE // len(losses))
    axes[2].plot(images, losses, color=color, lw=width, label=f"batch of {size}")
axes[2].set(title="noisy: loss of each batch", xlabel="images seen", ylim=(0, 1))
axes[0].set_ylabel("loss on all training images")
axes[1].legend()
axes[2].legend()
fig.tight_layout()
plt.show()

# %%
# The NaN panel has no red curve: that loss was never a number. Relative to its level,
# the small batches' logged loss spreads more than the fix's, beyond the noise: the
# noisy curve of the third panel, which the fix reduces, by the factor printed above.
# Its interval holds the square root of ``BATCH_SIZE / NOISY_BATCH_SIZE``, the factor of a
# mean over that many times fewer images; it is wide, as the blocks are not independent
# and hold unequal numbers of batch losses (printed above). At the same rate per image
# the small batches train as well: here to a lower loss on all training images in the
# table and a lower mean batch loss over the last half, one run each, with no error bar.
# The fault is in reading the log, not in training. That noise is in what the loop
# logs, each batch's loss; the loss on all training images says where training got to,
# so record it, or smooth the logged curve, before reading much into its jumps. One seed
# and one run per setting: the standard errors cover the blocks of each run, not
# retraining.
#
# A flat curve can also come from a signal that vanishes through depth
# (:doc:`plot_statistics_during_training`: its default initialisation stayed near
# ln 10) or from a too-high rate, which on that page ends either in NaN or in a dead
# layer and a loss flat near ln 10 (it prints which); there the statistics per layer
# tell the causes apart.
