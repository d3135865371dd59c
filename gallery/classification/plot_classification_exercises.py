r"""
Exercises: classification
=========================

Four exercises on this section's pages, from a few lines to an early-stopping loop you
write whole. Each leaves a function blank: its body is ``raise NotImplementedError``,
and the comment above it says what to write. Replace that line with your code and run
the cell below it, which checks your function on data and models you have not seen and
prints one line: ``passed``, ``not done yet``, or what went wrong (the input, the value
expected, the value your function returned, and the tolerance).

Stuck? ``ex.NAME.hint()`` prints a hint; on the site, the *Hint* and *Solution* boxes
below each check open when clicked. Try first: the check tells you more than the
solution does.
"""

# %%
# Setup
# -----
# copy and F are not used below: they are here for your answers.
import copy  # noqa: F401

import torch
from torch import nn
from torch.nn import functional as F  # noqa: F401

from pytorch_examples.exercises import classification as ex

# %%
# 1. Accuracy, measured properly
# ------------------------------
# *Practises* scoring a model as :doc:`the digits page <plot_digits_mlp>` does. Return
# the fraction of points whose predicted class (the largest logit) is the target, as a
# float. The model has dropout and arrives in training mode: score it in evaluation
# mode, without recording a graph, and hand it back in training mode.


def accuracy(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> float:
    # Return the accuracy of model on (x, targets).
    raise NotImplementedError


# %%
ex.accuracy.check(accuracy)

# %%
# .. exercise:: classification.accuracy

# %%
# 2. The gradient of cross-entropy
# --------------------------------
# *Practises* :doc:`the gradient of the logistic loss <plot_logistic_regression>`, for
# more than two classes. For ``logits`` of shape ``(n, k)`` and integer ``targets``,
# return the gradient of ``F.cross_entropy(logits, targets)`` (the batch mean) with
# respect to the logits, from a formula, without calling ``backward``.


def cross_entropy_gradient(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Return d loss / d logits, shape (n, k).
    raise NotImplementedError


# %%
ex.cross_entropy_gradient.check(cross_entropy_gradient)

# %%
# .. exercise:: classification.cross_entropy_gradient

# %%
# 3. Cross-entropy from logits, stably
# ------------------------------------
# *Practises* :doc:`why the loss takes logits <plot_logistic_regression>` and
# :doc:`softmax <plot_argmax_softmax>`. Return the mean cross-entropy of a batch of
# logits, written with ``exp``, ``log``, ``max`` and sums (not ``F.cross_entropy`` or
# ``log_softmax``). The check uses logits so large or so negative that a softmax taken
# literally turns into ``nan``, and target logits so far below their row's largest that
# the log of the target's probability is ``-inf``.


def cross_entropy_from_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    # Return the mean over the batch of -log softmax(logits)[target], stably.
    raise NotImplementedError


# %%
ex.cross_entropy_from_logits.check(cross_entropy_from_logits)

# %%
# .. exercise:: classification.cross_entropy_from_logits

# %%
# 4. Early stopping that restores the best weights
# ------------------------------------------------
# *Practises* :doc:`choosing the epoch on validation <plot_digits_mlp>`. Write the
# loop: for epochs 1, 2, ... up to ``max_epochs``, call ``train_one_epoch()`` and then
# ``validation_loss()``. Stop after the epoch that is ``patience`` epochs past the one
# with the lowest validation loss so far; then load that best epoch's weights into
# ``model`` and return its number. The check scripts the validation losses and reads
# which epoch's weights the model ends with.


def train_with_early_stopping(
    model: nn.Module, train_one_epoch, validation_loss, patience: int, max_epochs: int
) -> int:
    # Train, stop early, restore the best weights, return the best epoch (from 1).
    raise NotImplementedError


# %%
ex.train_with_early_stopping.check(train_with_early_stopping)

# %%
# .. exercise:: classification.train_with_early_stopping
