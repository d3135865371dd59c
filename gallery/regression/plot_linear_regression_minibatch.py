r"""
Linear regression with mini-batches
===================================

The same line fit as :ref:`sphx_glr_auto_examples_regression_plot_linear_regression_autograd.py`,
but each step now sees a small random batch of points instead of all of them.
You will learn:

* how a :class:`torch.utils.data.Dataset` subclass says how many items there are and
  how to get one;
* how a shuffling :class:`torch.utils.data.DataLoader` turns it into mini-batches;
* why mini-batch gradient descent is given a shrinking learning rate.

The model and the update are still written by hand.
"""

# %%
# Setup
# -----
# As on the previous page, x is standardized so that one learning rate suits both
# parameters.
import matplotlib.pyplot as plt
import torch
from torch.utils.data import DataLoader, Dataset

from pytorch_examples.claims import check
from pytorch_examples.data.synthetic import least_squares_line, make_line_data
from pytorch_examples.plotting import plot_line_fit_progress
from pytorch_examples.reporting import format_table

N_POINTS = 100
TRUE_SLOPE = 2.0
TRUE_INTERCEPT = 3.0
NOISE_STD = 50.0
SEED = 0
BATCH_SIZE = 10
LEARNING_RATE = 0.05
N_EPOCHS = 20
N_EPOCHS_SHOWN = 4  # epochs whose mean loss is printed

torch.manual_seed(SEED)
data = make_line_data(
    N_POINTS, slope=TRUE_SLOPE, intercept=TRUE_INTERCEPT, noise_std=NOISE_STD, seed=SEED
)
x, y = data.x, data.y
lstsq_slope, lstsq_intercept = least_squares_line(x, y)
x_mean, x_std = x.mean(), x.std()
x_scaled = (x - x_mean) / x_std


# %%
# A Dataset
# ---------
# A map-style data set needs two methods: ``__len__`` and ``__getitem__``. Here
# the points already sit in memory; a data set of images would read a file in
# ``__getitem__`` instead, which is why the loader asks for items one at a time.
class PointsDataset(Dataset):
    """Pairs ``(x[i], y[i])`` of two equally long one-dimensional tensors."""

    def __init__(self, inputs: torch.Tensor, targets: torch.Tensor) -> None:
        if inputs.shape != targets.shape:
            raise ValueError(f"shapes differ: {tuple(inputs.shape)} vs {tuple(targets.shape)}")
        self.inputs = inputs
        self.targets = targets

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.inputs[index], self.targets[index]


dataset = PointsDataset(x_scaled, y)
loader = DataLoader(dataset, batch_size=BATCH_SIZE, shuffle=True)
batch_x, batch_y = next(iter(loader))
print(f"{len(dataset)} points, {len(loader)} batches per epoch")
print(f"one batch: x {tuple(batch_x.shape)}, y {tuple(batch_y.shape)}")

# %%
# Training
# --------
# An epoch is now ``len(loader)`` steps, each on a fresh shuffled batch. A batch's
# gradient is a noisy estimate of the full gradient, so every step moves the
# parameters by the rate times that noise, even at the minimum. Shrinking the rate
# linearly to nearly zero over the run shrinks those last moves with it.
w = torch.zeros((), requires_grad=True)
b = torch.zeros((), requires_grad=True)
params_per_epoch, losses = [], []
for epoch in range(N_EPOCHS):
    learning_rate = LEARNING_RATE * (1 - epoch / N_EPOCHS)
    for batch_x, batch_y in loader:
        loss = ((w * batch_x + b - batch_y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= learning_rate * w.grad
            b -= learning_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
        losses.append(loss.item())
    # Convert the standardized-x parameters back to the original scale of x.
    params_per_epoch.append(
        ((w / x_std).item(), (b - w * x_mean / x_std).item()),
    )
w_fit, b_fit = params_per_epoch[-1]

# %%
# The per-step loss is noisy because each value comes from only ``BATCH_SIZE``
# points; its trend still falls to the noise floor within the first few epochs: by
# the third, the mean loss over an epoch's batches is within 10 % of the least
# squares loss.
steps = len(loader)
epoch_means = [sum(losses[i : i + steps]) / steps for i in range(0, len(losses), steps)]
lstsq_loss = ((lstsq_slope * x + lstsq_intercept - y) ** 2).mean().item()
shown = ", ".join(f"{m:.0f}" for m in epoch_means[:N_EPOCHS_SHOWN])
print(f"mean loss of epochs 1 to {N_EPOCHS_SHOWN}: {shown}; least squares loss {lstsq_loss:.0f}")
check(epoch_means[2] < 1.1 * lstsq_loss, "by the third epoch the mean loss is within 10 % of it")
fig = plot_line_fit_progress(
    x,
    y,
    (TRUE_SLOPE, TRUE_INTERCEPT),
    params_per_epoch,
    losses,
    loss_title=f"mini-batch loss per step ({len(loader)} steps per epoch)",
)
plt.show()

# %%
# Result
# ------
# Mini-batch descent ends near, not exactly at, the least squares answer: the last
# steps still carry a little batch noise.
rows = [
    ("true", TRUE_SLOPE, TRUE_INTERCEPT),
    ("least squares", lstsq_slope, lstsq_intercept),
    ("mini-batch SGD", w_fit, b_fit),
]
print(format_table(["", "w", "b"], rows))

# %%
# The intercept's standard error is about ``NOISE_STD / sqrt(N_POINTS)``; the fit
# ends within a tenth of it, and the slope within 0.01, of least squares.
standard_error = NOISE_STD / N_POINTS**0.5
print(f"intercept's standard error: {standard_error:.1f}")
check(
    abs(w_fit - lstsq_slope) < 0.01 and abs(b_fit - lstsq_intercept) < 0.1 * standard_error,
    "mini-batch descent ends within 0.01 (w) and a tenth of a standard error (b) of least squares",
)
