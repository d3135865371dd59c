r"""
Linear regression with tensors and autograd
===========================================

We fit a straight line :math:`\hat y = w x + b` to 100 noisy points using only tensors,
automatic differentiation and a hand-written update. You will learn:

* how ``requires_grad`` and ``backward()`` compute the gradient of a loss;
* why the update runs under :func:`torch.no_grad` and why gradients are zeroed;
* why parameters on very different scales make gradient descent crawl, and how
  standardizing the input fixes it.

This is the first of three pages on the same data; the next two replace pieces of
this code with :class:`~torch.utils.data.DataLoader` and with :mod:`torch.nn`.
"""

# %%
# Setup
# -----
# Every number the page uses is named here; one seed makes the page reproducible.
import math

import matplotlib.pyplot as plt
import torch

from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import least_squares_line, make_line_data
from pytorch_examples.plotting import plot_line_fit_progress
from pytorch_examples.reporting import format_table

N_POINTS = 100
TRUE_SLOPE = 2.0
TRUE_INTERCEPT = 3.0
NOISE_STD = 50.0
SEED = 0
RAW_LEARNING_RATE = 1e-4  # the rate of the original notes, for raw x
LEARNING_RATE = 0.1  # for standardized x
N_EPOCHS = 30

data = make_line_data(
    N_POINTS, slope=TRUE_SLOPE, intercept=TRUE_INTERCEPT, noise_std=NOISE_STD, seed=SEED
)
x, y = data.x, data.y

# %%
# The data and the best possible line
# -----------------------------------
# Least squares has a closed form (see the notes), so we know the answer gradient
# descent should reach. It differs from the true line because of the noise.
lstsq_slope, lstsq_intercept = least_squares_line(x, y)

fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x, y, s=12, color="0.4", label="data")
ax.plot(x, TRUE_SLOPE * x + TRUE_INTERCEPT, "k--", label="true line")
ax.plot(x, lstsq_slope * x + lstsq_intercept, color="C3", label="least squares")
ax.set(xlabel="x", ylabel="y", title=f"{N_POINTS} points, noise std {NOISE_STD:g}")
ax.legend()
plt.show()


# %%
# Gradient descent by hand
# ------------------------
# The loop below is the whole method. ``loss.backward()`` fills ``w.grad`` and
# ``b.grad`` with :math:`\partial L/\partial w` and :math:`\partial L/\partial b`.
# The update must not itself be recorded for differentiation, hence
# ``torch.no_grad()``. PyTorch *adds* each new gradient to ``.grad``, so we zero it
# after the update; forgetting that sums the gradients of all past steps.
# Every epoch sees all the points at once (full batch), so an epoch is one step.
def train_full_batch(
    inputs: torch.Tensor, targets: torch.Tensor, learning_rate: float, n_epochs: int
) -> tuple[list[tuple[float, float]], list[float]]:
    """Fit ``w * inputs + b`` by gradient descent on the mean squared error."""
    w = torch.zeros((), requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    params_per_epoch, losses = [], []
    for _ in range(n_epochs):
        prediction = w * inputs + b
        loss = ((prediction - targets) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
            b -= learning_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
        params_per_epoch.append((w.item(), b.item()))
    return params_per_epoch, losses


# %%
# First try: raw x
# ----------------
# The loss is a quadratic bowl. Differentiating it twice gives its *Hessian* in
# :math:`(w, b)`, the same at every point:
#
# .. math::
#
#    H = \begin{pmatrix} 2\,\overline{x^2} & 2\,\bar x \\ 2\,\bar x & 2 \end{pmatrix}.
#
# The diagonal is the curvature along :math:`w` and along :math:`b`; the off-diagonal
# :math:`2\bar x` couples them, so that a step in :math:`w` changes the gradient along
# :math:`b`. This page's x is spread evenly around 0, so :math:`\bar x` is 0 up to
# rounding and :math:`H` is diagonal (the tiny off-diagonal values printed below, of
# either sign, are float32 rounding of a true 0): :math:`w` and :math:`b` move
# independently, each at its own pace. A step is stable only if the learning rate is
# below :math:`2/\text{curvature}` in every direction, so the steep direction :math:`w`
# sets the rate, and along :math:`b` each step then covers only the fraction
# :math:`2\eta` of the remaining distance.
def mean_squared_error(params: torch.Tensor) -> torch.Tensor:
    return ((params[0] * x + params[1] - y) ** 2).mean()


hessian = torch.autograd.functional.hessian(mean_squared_error, torch.zeros(2))
by_formula = 2 * torch.tensor([[(x**2).mean(), x.mean()], [x.mean(), 1.0]])
print(f"mean of x: {x.mean().item():.1e}; Hessian by autograd:\n{hessian}")
# Each entry is compared at its own scale: the diagonal relative to itself, the
# off-diagonal 2 mean(x) relative to 2 mean(|x|), the size of the terms it sums.
diagonal_agrees = torch.allclose(hessian.diagonal(), by_formula.diagonal(), rtol=1e-5)
off_diagonal_error = (hessian[0, 1] - by_formula[0, 1]).abs().item()
check(
    diagonal_agrees and off_diagonal_error < 1e-5 * 2 * x.abs().mean().item(),
    "autograd's Hessian is the formula above, up to float32 rounding",
)
check(
    abs(x.mean()) < 1e-6 * x.abs().max(),
    "the mean of x is 0 up to rounding, so the Hessian is diagonal",
)
curvature_w, curvature_b = hessian[0, 0].item(), hessian[1, 1].item()
print(f"curvature along w: {curvature_w:.1f}, along b: {curvature_b:.1f}")
print(f"largest stable learning rate: {2 / curvature_w:.2e}")

raw_params, raw_losses = train_full_batch(x, y, RAW_LEARNING_RATE, N_EPOCHS)
raw_slope, raw_intercept = raw_params[-1]
print(f"after {N_EPOCHS} epochs at lr={RAW_LEARNING_RATE:g}:")
print(f"  w = {raw_slope:.4f} (least squares {lstsq_slope:.4f})")
print(f"  b = {raw_intercept:.4f} (least squares {lstsq_intercept:.4f})")
print(f"  b covers {100 * 2 * RAW_LEARNING_RATE:.2f}% of its remaining distance per step")
epochs_for_b = math.log(0.05) / math.log(1 - 2 * RAW_LEARNING_RATE)
print(f"  b needs {epochs_for_b:,.0f} epochs to cover 95% of the distance")

# %%
# The slope is right after a few epochs, while the intercept has hardly left zero:
# at this rate it would need thousands of epochs. The fix is to put both directions
# on the same scale.
check(
    abs(raw_slope - lstsq_slope) < 0.01 and abs(raw_intercept) < 0.01 * abs(lstsq_intercept),
    f"after {N_EPOCHS} epochs w is within 0.01 of least squares, b below 1 % of its value",
)
check(epochs_for_b > 1000, "b needs thousands of epochs")
fig, (ax_w, ax_b) = plt.subplots(1, 2, figsize=(9, 3.2), sharex=True)
epochs = range(1, N_EPOCHS + 1)
ax_w.plot(epochs, [w for w, _ in raw_params], marker=".")
ax_w.axhline(lstsq_slope, color="C3", ls="--", label="least squares")
ax_w.set(xlabel="epoch", ylabel="w", title="slope: fast")
ax_b.plot(epochs, [b for _, b in raw_params], marker=".")
ax_b.axhline(lstsq_intercept, color="C3", ls="--", label="least squares")
ax_b.set(xlabel="epoch", ylabel="b", title="intercept: stuck near 0")
ax_b.legend()
fig.tight_layout()
plt.show()

# %%
# Second try: standardized x
# --------------------------
# With :math:`x' = (x - \bar x)/s_x` the curvature is about 2 in both directions, and
# the mean of :math:`x'` is 0 whatever the data, so the two stay independent; a
# learning rate of 0.1 shrinks the error by about a factor :math:`1 - 2\eta = 0.8`
# per step in both. We fit :math:`\hat y = w' x' + b'` and convert back:
# :math:`w = w'/s_x` and :math:`b = b' - w' \bar x / s_x`.
x_mean, x_std = x.mean(), x.std()
x_scaled = (x - x_mean) / x_std
scaled_params, losses = train_full_batch(x_scaled, y, LEARNING_RATE, N_EPOCHS)
params_per_epoch = [
    ((w_s / x_std).item(), (b_s - w_s * x_mean / x_std).item()) for w_s, b_s in scaled_params
]
w_fit, b_fit = params_per_epoch[-1]

# %%
# The fitted line after every epoch swings up from the flat start and settles on the
# least squares line; the loss falls geometrically to the noise floor, the least
# squares loss, which estimates the noise variance ``NOISE_STD**2``.
fig = plot_line_fit_progress(
    x,
    y,
    (TRUE_SLOPE, TRUE_INTERCEPT),
    params_per_epoch,
    losses,
    loss_title="mean squared error per step",
)
plt.show()

# %%
# Result
# ------
rows = [
    ("true", TRUE_SLOPE, TRUE_INTERCEPT),
    ("least squares", lstsq_slope, lstsq_intercept),
    ("gradient descent", w_fit, b_fit),
]
print(format_table(["", "w", "b"], rows))
lstsq_loss = ((lstsq_slope * x + lstsq_intercept - y) ** 2).mean().item()
print(
    f"last loss {losses[-1]:.1f}, least squares loss {lstsq_loss:.1f}, "
    f"noise variance {NOISE_STD**2:g}"
)
check(
    abs(w_fit - lstsq_slope) < 0.01 and abs(b_fit - lstsq_intercept) < 0.1,
    "gradient descent ends within 0.01 (w) and 0.1 (b) of least squares",
)
check(losses[-1] < 1.001 * lstsq_loss, "the last loss is within 0.1 % of the least squares loss")
