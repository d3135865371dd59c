r"""
Choosing the loss: squared, absolute and Huber
==============================================

The loss decides what "a good fit" means. Here a line is fitted to data with a few
gross outliers three times, with the power loss :math:`|y - \hat y|^m` for
:math:`m = 2` (mean squared error) and :math:`m = 1` (mean absolute error), and with
the Huber loss. You will learn:

* why squaring residuals lets a handful of outliers drag the whole fit;
* why the absolute error resists them, and what it costs gradient descent;
* how the Huber loss combines the two.

The theory is in :doc:`/notes/linear_regression`, section "The loss and the power m".
"""

# %%
# Setup
# -----
# The line of the regression pages, with the last five points (largest x) pushed far
# down, far below every other reading: think of a sensor that fails at the top of its
# range and reports nonsense.
import matplotlib.pyplot as plt
import torch
from torch import nn

from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import least_squares_line, make_line_data
from pytorch_examples.losses import power_loss

N_POINTS = 50
TRUE_SLOPE = 2.0
TRUE_INTERCEPT = 3.0
NOISE_STD = 5.0
N_OUTLIERS = 5
OUTLIER_SHIFT = -150.0
HUBER_DELTA = 10.0
LEARNING_RATE = 0.05
N_STEPS = 800
SEED = 0

data = make_line_data(
    N_POINTS,
    slope=TRUE_SLOPE,
    intercept=TRUE_INTERCEPT,
    noise_std=NOISE_STD,
    x_min=0.0,
    x_max=50.0,
    seed=SEED,
)
x, y = data.x, data.y.clone()
y[-N_OUTLIERS:] += OUTLIER_SHIFT
x_mean, x_std = x.mean(), x.std()
x_scaled = (x - x_mean) / x_std  # one learning rate for slope and intercept

# %%
# The three losses as functions of the residual
# ---------------------------------------------
# Squared error grows quadratically, absolute error linearly. PyTorch's Huber loss
# of a residual :math:`r` is
#
# .. math::
#
#    \ell_\delta(r) = \begin{cases} \tfrac12 r^2 & |r| \le \delta, \\
#    \delta\,(|r| - \tfrac12\delta) & |r| > \delta, \end{cases}
#
# quadratic within :math:`\pm\delta` and linear outside, with the same value
# :math:`\tfrac12\delta^2` and the same slope :math:`\pm\delta` on both sides of
# each join. Its quadratic part is *half* the squared error, so inside
# :math:`\pm\delta` it pulls half as hard. What matters for outliers is the
# *derivative*: how hard one point pulls.
residual = torch.linspace(-40, 40, 401, requires_grad=True)
losses_of_residual = {
    "squared (m = 2)": residual**2,
    "absolute (m = 1)": residual.abs(),
    f"Huber, delta = {HUBER_DELTA:g}": nn.functional.huber_loss(
        residual, torch.zeros_like(residual), reduction="none", delta=HUBER_DELTA
    ),
}
r = residual.detach()
huber_by_hand = torch.where(
    r.abs() <= HUBER_DELTA, r**2 / 2, HUBER_DELTA * (r.abs() - HUBER_DELTA / 2)
)
huber_gap = (huber_by_hand - losses_of_residual[f"Huber, delta = {HUBER_DELTA:g}"]).abs().max()
print(f"largest gap between the formula and torch's Huber loss: {huber_gap.item():.1e}")
check(huber_gap < 1e-4, "the formula above is what torch.nn.functional.huber_loss computes")
fig, (ax_loss, ax_pull) = plt.subplots(1, 2, figsize=(11, 3.8))
for name, values in losses_of_residual.items():
    (pull,) = torch.autograd.grad(values.sum(), residual)
    ax_loss.plot(residual.detach(), values.detach(), label=name)
    ax_pull.plot(residual.detach(), pull, label=name)
ax_loss.set(xlabel="residual", ylabel="loss", ylim=(0, 400), title="loss of one point")
ax_pull.set(
    xlabel="residual", ylabel="derivative", ylim=(-45, 45), title="how hard one point pulls"
)
for ax in (ax_loss, ax_pull):
    ax.grid(True, alpha=0.3)
ax_pull.legend()
fig.tight_layout()
plt.show()

# %%
# Fitting with each loss
# ----------------------
# One loop, three losses. Full-batch gradient descent with a shrinking rate: the
# absolute loss's gradient does not shrink near the minimum (it is :math:`\pm 1` per
# point), so only a shrinking rate makes its steps shrink.
LOSSES = {
    "squared (m = 2)": lambda pred, target: power_loss(pred, target, m=2),
    "absolute (m = 1)": lambda pred, target: power_loss(pred, target, m=1),
    f"Huber, delta = {HUBER_DELTA:g}": nn.HuberLoss(delta=HUBER_DELTA),
}
# The squared and Huber losses curve like a parabola near their minimum, so the base
# rate suits them; the absolute loss's gradient is at most 1 in each parameter
# whatever the distance to the minimum, so it gets a larger rate to cover the
# distance in the same number of steps.
RATE_SCALE = {
    "squared (m = 2)": 1.0,
    "absolute (m = 1)": 10.0,
    f"Huber, delta = {HUBER_DELTA:g}": 1.0,
}
fits = {}
for name, loss_fn in LOSSES.items():
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=LEARNING_RATE * RATE_SCALE[name])
    schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.01, total_iters=N_STEPS)
    for _ in range(N_STEPS):
        loss = loss_fn(w * x_scaled + b, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    slope = (w / x_std).item()
    fits[name] = (slope, (b - w * x_mean / x_std).item())
    print(f"{name:18} slope {fits[name][0]:7.3f}  intercept {fits[name][1]:8.3f}")
print(f"{'true line':18} slope {TRUE_SLOPE:7.3f}  intercept {TRUE_INTERCEPT:8.3f}")
exact_slope, exact_intercept = least_squares_line(x, y)
inlier_slope, inlier_intercept = least_squares_line(x[:-N_OUTLIERS], y[:-N_OUTLIERS])
print(f"closed-form least squares: slope {exact_slope:.3f}, intercept {exact_intercept:.3f}")
print(
    f"least squares on the {N_POINTS - N_OUTLIERS} ordinary points alone: "
    f"slope {inlier_slope:.3f}, intercept {inlier_intercept:.3f}"
)
check(
    abs(fits["squared (m = 2)"][0] - exact_slope) < 1e-3
    and abs(fits["squared (m = 2)"][1] - exact_intercept) < 1e-2,
    "gradient descent on the squared loss reaches the closed-form least squares line",
)

# %%
# The squared loss tilts the whole line toward the five outliers. The absolute and
# Huber losses follow the ordinary points: their slopes lie at least five times closer
# than the squared loss's to the least squares slope of the ordinary points alone.
robust = [fits[name][0] for name in list(LOSSES)[1:]]
check(
    all(abs(s - inlier_slope) < 0.2 * abs(exact_slope - inlier_slope) for s in robust),
    "the absolute and Huber slopes are at least five times closer to the ordinary slope",
)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(x[:-N_OUTLIERS], y[:-N_OUTLIERS], s=12, color="0.5", label="data")
ax.scatter(x[-N_OUTLIERS:], y[-N_OUTLIERS:], s=30, color="k", marker="x", label="outliers")
ax.plot(x, TRUE_SLOPE * x + TRUE_INTERCEPT, "k--", lw=1, label="true line")
for name, (slope, intercept) in fits.items():
    ax.plot(x, slope * x + intercept, lw=2, label=name)
ax.set(xlabel="x", ylabel="y", title=f"{N_OUTLIERS} of {N_POINTS} points are outliers")
ax.legend(fontsize=8)
plt.show()

# %%
# What m does
# -----------
# Each point pulls on the fit with a force proportional to :math:`|r|^{m-1}`: for
# :math:`m = 2` a residual of 150 pulls 150 times harder than a residual of 1, for
# :math:`m = 1` all points pull equally hard. The derivative of the mean absolute
# error in :math:`b` is then (points below the line - points above it) / n, and a
# point exactly on the line, at the kink of :math:`|r|`, can add anything between
# :math:`-1/n` and :math:`1/n`. At the minimum that derivative must be able to be
# zero, so there the numbers of points above and below the line differ by at most the
# number of points on it, like a median. The loss is piecewise linear in
# :math:`(w, b)`, so its minimum is reached at a corner, where the line passes through
# two of the points: trying every pair of points finds a best line exactly (the
# minimum need not be unique).
# Gradient descent stops close to that line, not on it, so the two points on the best
# line end up above or below the line it finds.
#
# The price of :math:`m = 1` is the kink at zero: the gradient never shrinks, so
# gradient descent needs a decaying step. Huber keeps the smooth quadratic bowl for
# residuals below :math:`\delta` and the constant pull beyond it.
first, second = torch.triu_indices(N_POINTS, N_POINTS, offset=1)
x64, y64 = x.double(), y.double()  # so that the pair's own residuals are nearly exactly 0
pair_slopes = (y64[second] - y64[first]) / (x64[second] - x64[first])
pair_intercepts = y64[first] - pair_slopes * x64[first]
pair_residuals = y64 - pair_slopes[:, None] * x64 - pair_intercepts[:, None]
best = pair_residuals.abs().mean(dim=1).argmin()
best_slope, best_intercept = pair_slopes[best].item(), pair_intercepts[best].item()


def count_sides(residuals: torch.Tensor) -> tuple[int, int, int]:
    """Points above, below and on the line (residual within 1e-9 of zero)."""
    on = residuals.abs() < 1e-9
    return int((residuals[~on] > 0).sum()), int((residuals[~on] < 0).sum()), int(on.sum())


above, below, on = count_sides(pair_residuals[best])
best_loss = pair_residuals[best].abs().mean().item()
print(
    f"best line, slope {best_slope:.3f}, intercept {best_intercept:.3f}, mean absolute "
    f"error {best_loss:.4f}: {above} points above, {below} below, {on} on it"
)
check(
    abs(above - below) <= on,
    "at the minimum, the counts above and below differ by at most the points on the line",
)
slope, intercept = fits["absolute (m = 1)"]
descent_residuals = y64 - (slope * x64 + intercept)
above, below, on = count_sides(descent_residuals)
descent_loss = descent_residuals.abs().mean().item()
print(
    f"gradient descent's line, slope {slope:.3f}, intercept {intercept:.3f}, mean absolute "
    f"error {descent_loss:.4f}: {above} above, {below} below, {on} on it"
)
check(
    best_loss <= descent_loss,
    "the best line's loss is no higher than that of gradient descent's line",
)
check(
    abs(slope - best_slope) < 0.01 and abs(intercept - best_intercept) < 0.1,
    "gradient descent ends within 0.01 (slope) and 0.1 (intercept) of the best line",
)
