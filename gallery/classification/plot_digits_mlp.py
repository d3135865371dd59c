r"""
Handwritten digits: softmax regression versus an MLP
====================================================

scikit-learn ships 1,797 handwritten digits as 8 x 8 grey images inside the library,
so this page runs offline. Two models learn them: softmax regression (one linear
layer) and a multilayer perceptron with one hidden layer. You will learn:

* how a multi-class classifier is trained with cross-entropy on mini-batches;
* what a hidden layer adds over a linear model;
* how the validation set chooses (here, the epoch to stop at and the architecture),
  how the chosen recipe is then trained on training and validation data together,
  and how the test set scores the result once;
* how to read a confusion matrix.

The theory of softmax and cross-entropy is in :doc:`/notes/classification`.
"""

# %%
# Setup
# -----
# The images are flattened to 64 pixel values in :math:`[0, 1]` and split 60/20/20
# into training, validation and test sets with a fixed seed.
import copy
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import confusion_matrix, evaluate
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid

SEED = 0
HIDDEN_UNITS = 128
N_EPOCHS = 40
BATCH_SIZE = 64
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
DIGITS = [str(d) for d in range(10)]
N_SHOWN = 16

torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)
n_images = len(data.train_y) + len(data.val_y) + len(data.test_y)
print(
    f"{n_images:,} images: train {tuple(data.train_x.shape)}, "
    f"validation {tuple(data.val_x.shape)}, test {tuple(data.test_x.shape)}"
)
fig = plot_image_grid(
    data.train_x[:N_SHOWN].view(-1, 1, 8, 8),
    [f"label {int(label)}" for label in data.train_y[:N_SHOWN]],
)
plt.show()

# %%
# Two models
# ----------
# Softmax regression computes each class score as a weighted sum of the 64 pixels:
# a fixed template per digit. The MLP first computes 128 learned features with ReLU,
# then scores the classes from those, so it can combine strokes in ways one template
# per class cannot.
architectures = {
    "softmax regression": lambda: nn.Linear(64, 10),
    "MLP, one hidden layer": lambda: nn.Sequential(
        nn.Linear(64, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 10)
    ),
}
models = {name: build() for name, build in architectures.items()}


# %%
# The training loop
# -----------------
# Each epoch shuffles the training set and takes one AdamW step per mini-batch of
# ``BATCH_SIZE`` images. :func:`~torch.nn.functional.cross_entropy` takes the raw
# class scores (logits) and the labels, and applies the softmax inside, stably.
# After each epoch both sets are scored with
# :func:`~pytorch_examples.evaluation.evaluate`, which runs the model without
# gradients and in evaluation mode. The validation loss makes the first choice: we
# keep a copy of the weights from the epoch where it was lowest (early stopping).
def train_epoch(model, optimizer, images, labels, shuffles):
    """One pass over the images in shuffled mini-batches, one optimizer step per batch."""
    model.train()
    order = torch.randperm(len(labels), generator=shuffles)
    for batch in order.split(BATCH_SIZE):
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


histories, best_epochs = {}, {}
for name, model in models.items():
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    shuffles = torch.Generator().manual_seed(SEED)  # both models see the same batches
    history = {"train loss": [], "validation loss": [], "validation accuracy": []}
    best_state = None
    for epoch in range(1, N_EPOCHS + 1):
        train_epoch(model, optimizer, data.train_x, data.train_y, shuffles)
        on_train = evaluate(model, data.train_x, data.train_y)
        on_val = evaluate(model, data.val_x, data.val_y)
        history["train loss"].append(on_train.loss)
        history["validation loss"].append(on_val.loss)
        history["validation accuracy"].append(on_val.accuracy)
        if on_val.loss <= min(history["validation loss"]):
            best_state, best_epochs[name] = copy.deepcopy(model.state_dict()), epoch
    model.load_state_dict(best_state)
    histories[name] = history
    n_parameters = sum(p.numel() for p in model.parameters())
    print(f"{name}: {n_parameters:,} parameters, best validation epoch {best_epochs[name]}")

# %%
# The MLP reaches a lower loss on both sets at every epoch. Softmax regression is
# still improving when training stops, so its best epoch is the last. The MLP's
# training loss falls overall, while its validation loss falls more slowly and
# wobbles from epoch to epoch; on the log scale the widening distance between its two curves is the
# MLP fitting the training images more closely than new ones.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
epochs = range(1, N_EPOCHS + 1)
for (name, history), color in zip(histories.items(), ("C0", "C1"), strict=True):
    ax_loss.plot(epochs, history["train loss"], color=color, label=f"{name}, train")
    ax_loss.plot(
        epochs, history["validation loss"], "--", color=color, label=f"{name}, validation"
    )
    ax_loss.axvline(best_epochs[name], color=color, ls=":", lw=1)
    ax_acc.plot(epochs, history["validation accuracy"], color=color, label=name)
ax_loss.set(
    xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss (dotted: best epoch)"
)
ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0.8, 1.0), title="validation accuracy")
ax_loss.legend(fontsize=8)
ax_acc.legend()
fig.tight_layout()
plt.show()

softmax, mlp = histories.values()
check(
    all(m < s for m, s in zip(mlp["train loss"], softmax["train loss"], strict=True))
    and all(
        m < s for m, s in zip(mlp["validation loss"], softmax["validation loss"], strict=True)
    ),
    "the MLP has the lower training and validation loss at every epoch",
)
check(best_epochs["softmax regression"] == N_EPOCHS, "softmax regression's best epoch is the last")
ratio = [v / t for v, t in zip(mlp["validation loss"], mlp["train loss"], strict=True)]
print(
    f"MLP validation / training loss: {ratio[N_EPOCHS // 4 - 1]:.2f} at epoch "
    f"{N_EPOCHS // 4}, {ratio[-1]:.2f} at epoch {N_EPOCHS}"
)
check(ratio[-1] > ratio[N_EPOCHS // 4 - 1], "the distance between the MLP's curves widens")

# %%
# Choosing on validation
# ----------------------
# Each model is back at its best epoch. The validation set makes the second choice,
# the model to keep.
chosen_val = {name: evaluate(model, data.val_x, data.val_y) for name, model in models.items()}
for name, result in chosen_val.items():
    print(f"{name:22} validation loss {result.loss:.4f}, accuracy {result.accuracy:.4f}")
chosen = min(chosen_val, key=lambda name: chosen_val[name].loss)
check(
    chosen == "MLP, one hidden layer"
    and chosen_val[chosen].accuracy > chosen_val["softmax regression"].accuracy,
    "the MLP beats softmax regression on validation loss and accuracy",
)
print(f"chosen: {chosen}, trained for {best_epochs[chosen]} epochs")

# %%
# The recipe, on training and validation data
# -------------------------------------------
# The choices are made, and together with the fixed settings at the top they form a
# recipe: this architecture, this many epochs. The validation images have done their
# job as judges and can now also be training data. A new network follows the recipe
# on the training and validation images together. Nothing is left to stop it early,
# which is why the number of epochs had to be chosen first. The epoch count carries
# over only as a rule of thumb: with more images, each epoch takes more optimizer
# steps, so the new network takes more steps in all than the one validation judged.
# Only then is the test set, which played no part in training or in any choice,
# scored once. An accuracy :math:`p` measured on :math:`n` images has a standard error of about
# :math:`\sqrt{p(1 - p) / n}`: roughly how far it typically lies from the accuracy
# the same network would have on all such images. It does not count how much a
# network trained again, from other random weights, would differ.
train_and_val_x = torch.cat([data.train_x, data.val_x])
train_and_val_y = torch.cat([data.train_y, data.val_y])
final_model = architectures[chosen]()
final_optimizer = torch.optim.AdamW(
    final_model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
)
shuffles = torch.Generator().manual_seed(SEED)
for _ in range(best_epochs[chosen]):
    train_epoch(final_model, final_optimizer, train_and_val_x, train_and_val_y, shuffles)
print(
    f"{chosen}: {best_epochs[chosen]} epochs on {len(train_and_val_y):,} images, "
    f"{len(data.val_y) / len(data.train_y):.0%} more than training alone"
)

test = evaluate(final_model, data.test_x, data.test_y)
standard_error = math.sqrt(test.accuracy * (1 - test.accuracy) / len(data.test_y))
print(
    f"test accuracy {test.accuracy:.4f}, one standard error {standard_error:.4f} "
    f"({standard_error * len(data.test_y):.1f} of {len(data.test_y)} images); scored once"
)

fig, ax = plt.subplots(figsize=(6, 5))
plot_confusion_matrix(ax, confusion_matrix(test.predictions, data.test_y, 10), DIGITS)
ax.set_title(f"test set: {chosen},\ntrained on training and validation images")
fig.tight_layout()
plt.show()

# %%
# Row *i* of the matrix counts the test images of digit *i* by the class predicted;
# everything off the diagonal is a mistake. Below, the test digits the model got
# wrong, titled *true / predicted*.
wrong = torch.nonzero(test.predictions != data.test_y).squeeze(1)[:N_SHOWN]
fig = plot_image_grid(
    data.test_x[wrong].view(-1, 1, 8, 8),
    [f"{int(data.test_y[i])} / {int(test.predictions[i])}" for i in wrong],
)
plt.show()
