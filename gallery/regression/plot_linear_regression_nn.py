r"""
Linear regression the PyTorch way
=================================

The third fit of the same line. Everything the previous pages wrote by hand now comes
from PyTorch:

* the model is an :class:`torch.nn.Linear` layer inside an :class:`torch.nn.Module`;
* the loss is :class:`torch.nn.MSELoss`;
* the update, and the zeroing of gradients, are done by :class:`torch.optim.SGD`;
* the shrinking learning rate comes from :class:`torch.optim.lr_scheduler.LinearLR`.

What remains is the standard training loop that every later example repeats.
Compare it line by line with
:ref:`sphx_glr_auto_examples_regression_plot_linear_regression_minibatch.py`.
"""

# %%
# Setup
# -----
import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

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

torch.manual_seed(SEED)
data = make_line_data(
    N_POINTS, slope=TRUE_SLOPE, intercept=TRUE_INTERCEPT, noise_std=NOISE_STD, seed=SEED
)
x, y = data.x, data.y
lstsq_slope, lstsq_intercept = least_squares_line(x, y)
x_mean, x_std = x.mean(), x.std()

# %%
# Data: layers expect a batch of feature vectors, shape ``(batch, features)``, so
# the inputs and targets become columns. :class:`~torch.utils.data.TensorDataset`
# replaces the hand-written Dataset of the previous page.
inputs = ((x - x_mean) / x_std).unsqueeze(1)
targets = y.unsqueeze(1)
loader = DataLoader(TensorDataset(inputs, targets), batch_size=BATCH_SIZE, shuffle=True)


# %%
# The model
# ---------
# A module owns its parameters: ``nn.Linear(1, 1)`` holds a 1x1 weight and a bias and
# registers both, so ``model.parameters()`` hands them to the optimizer. PyTorch
# initializes them randomly; we zero them to start where the other pages started.
class LineModel(nn.Module):
    """``y = w * x + b`` for one input feature."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)


model = LineModel()
with torch.no_grad():
    for parameter in model.parameters():
        parameter.zero_()
print(model)

loss_fn = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
# Factor 1 in the first epoch down to 1/N_EPOCHS in the last: LEARNING_RATE * (1 - epoch/N).
scheduler = torch.optim.lr_scheduler.LinearLR(
    optimizer, start_factor=1.0, end_factor=1 / N_EPOCHS, total_iters=N_EPOCHS - 1
)

# %%
# The standard loop
# -----------------
# Forward, loss, ``zero_grad``, ``backward``, ``step``: the same five moves in
# every PyTorch training loop. ``model.train()`` matters for layers such as dropout
# and batch normalization; it is a habit worth keeping even here.
params_per_epoch, losses = [], []
for _ in range(N_EPOCHS):
    model.train()
    for batch_inputs, batch_targets in loader:
        loss = loss_fn(model(batch_inputs), batch_targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    scheduler.step()
    w_scaled = model.linear.weight.item()
    b_scaled = model.linear.bias.item()
    params_per_epoch.append(
        ((w_scaled / x_std).item(), (b_scaled - w_scaled * x_mean / x_std).item())
    )
w_fit, b_fit = params_per_epoch[-1]

# %%
# The same two figures as before; the fits and the noisy loss look alike because the
# algorithm is the same. The batches are shuffled differently from the previous
# page's, so the final numbers differ a little.
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
rows = [
    ("true", TRUE_SLOPE, TRUE_INTERCEPT),
    ("least squares", lstsq_slope, lstsq_intercept),
    ("nn + optim", w_fit, b_fit),
]
print(format_table(["", "w", "b"], rows))

# %%
# The intercept's standard error is about ``NOISE_STD / sqrt(N_POINTS)``; the fit
# ends within a tenth of it, and the slope within 0.01, of least squares.
standard_error = NOISE_STD / N_POINTS**0.5
print(f"intercept's standard error: {standard_error:.1f}")
check(
    abs(w_fit - lstsq_slope) < 0.01 and abs(b_fit - lstsq_intercept) < 0.1 * standard_error,
    "nn + optim ends within 0.01 (w) and a tenth of a standard error (b) of least squares",
)
