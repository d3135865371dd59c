r"""
Exercises: regression
=====================

Four exercises on this section's pages, from a single line to a training loop you
write whole. Each leaves a function blank: its body is ``raise NotImplementedError``,
and the comment above it says what to write. Replace that line with your code and run
the cell below it, which checks your function on data you have not seen and prints one
line: ``passed``, ``not done yet``, or what went wrong (the input, the value expected,
the value your function returned, and the tolerance).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
import torch
from torch import nn

from pytorch_examples.exercises import regression as ex

# %%
# 1. The Huber loss's slope
# -------------------------
# *Practises* :doc:`choosing the loss <plot_loss_choice>`, where each point pulls on
# the fit in proportion to the loss's slope at its residual. The Huber loss with
# threshold ``delta`` (:math:`\delta`) is torch's: :math:`r^2 / 2` where
# :math:`|r| \le \delta`, and :math:`\delta (|r| - \delta / 2)` beyond. Return its
# derivative with respect to the residual :math:`r`, for every residual at once. It is
# one line.


def huber_gradient(residual: torch.Tensor, delta: float) -> torch.Tensor:
    # Return d huber(r) / dr element by element.
    raise NotImplementedError


# %%
ex.huber_gradient.check(huber_gradient)

# %%
# .. exercise:: regression.huber_gradient

# %%
# 2. Standardize with the training set's statistics
# -------------------------------------------------
# *Practises* :doc:`validation data <plot_overfitting>` and the standardized inputs of
# :doc:`the first regression page <plot_linear_regression_autograd>`. Return both sets
# standardized column by column with the mean and the standard deviation
# (``std(dim=0)``, PyTorch's default) of the *training* set. The check's validation
# data is drawn from a different distribution, so the choice shows.


def standardize_with_training_statistics(
    train_x: torch.Tensor, val_x: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    # Return (train_z, val_z).
    raise NotImplementedError


# %%
ex.standardize_with_training_statistics.check(standardize_with_training_statistics)

# %%
# .. exercise:: regression.standardize_with_training_statistics

# %%
# 3. The largest stable learning rate
# -----------------------------------
# *Practises* :doc:`the Hessian and the learning rate
# <plot_linear_regression_autograd>`. Full-batch gradient descent on the mean squared
# error of a line :math:`w x + b` is stable for learning rates below some limit that
# depends only on ``x``. Return that limit. The page's ``x`` was centred, which made the
# Hessian diagonal; the check's ``x`` is not always centred.


def largest_stable_learning_rate(x: torch.Tensor) -> float:
    # Return 2 / (the largest curvature of the loss in (w, b)).
    raise NotImplementedError


# %%
ex.largest_stable_learning_rate.check(largest_stable_learning_rate)

# %%
# .. exercise:: regression.largest_stable_learning_rate

# %%
# 4. The mini-batch loop, yourself
# --------------------------------
# *Practises* :doc:`mini-batches <plot_linear_regression_minibatch>` and :doc:`the
# standard loop <plot_linear_regression_nn>`, without ``DataLoader``. Train ``model``
# (an ``nn.Linear(1, 1)``; ``x`` and ``y`` have shape ``(n, 1)``) with plain SGD on the
# mean squared error: each epoch, shuffle the points, then take one step per batch of
# ``batch_size`` points, keeping the last, smaller batch. The check records the batches
# the model saw with gradients on (an evaluation under ``torch.no_grad()`` is allowed),
# replays plain SGD on them, and compares the line your run ends with to the replay's.


def train_minibatch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    batch_size: int,
    learning_rate: float,
    n_epochs: int,
) -> None:
    # Train model in place; return nothing.
    raise NotImplementedError


# %%
ex.train_minibatch.check(train_minibatch)

# %%
# .. exercise:: regression.train_minibatch
