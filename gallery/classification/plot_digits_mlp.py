r"""
Handwritten digits: softmax regression versus an MLP
====================================================

scikit-learn ships 1,797 handwritten digits as 8 x 8 grey images inside the library,
so this page runs offline. Two models learn them: softmax regression (one linear
layer) and a multilayer perceptron with one hidden layer. You will learn:

* how a multi-class classifier is trained with cross-entropy on mini-batches;
* how early stopping gives each model the number of epochs its validation loss asks for;
* how to compare two models on the same validation images, and how to choose between
  them when their difference is within noise;
* how the chosen recipe is then trained on training and validation data together,
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
from pytorch_examples.comparison import NOISE_LEVEL, accuracy_difference, paired_difference
from pytorch_examples.data.digits import load_digits_split
from pytorch_examples.evaluation import confusion_matrix, eval_mode, evaluate
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid

SEED = 0
HIDDEN_UNITS = 128
MAX_EPOCHS = 500  # a cap that early stopping should never reach
PATIENCE = 20  # epochs without a new lowest validation loss before training stops
BATCH_SIZE = 64
LEARNING_RATE = 3e-2
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
# per class cannot. Whether that helps on these images is for validation to say.
architectures = {
    "softmax regression": lambda: nn.Linear(64, 10),
    "MLP": lambda: nn.Sequential(  # one hidden layer
        nn.Linear(64, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 10)
    ),
}
models = {name: build() for name, build in architectures.items()}
n_parameters = {name: sum(p.numel() for p in m.parameters()) for name, m in models.items()}


# %%
# The training loop
# -----------------
# Each epoch shuffles the training set and takes one AdamW step per mini-batch of
# ``BATCH_SIZE`` images. :func:`~torch.nn.functional.cross_entropy` takes the raw
# class scores (logits) and the labels, and applies the softmax inside, stably.
# After each epoch both sets are scored with
# :func:`~pytorch_examples.evaluation.evaluate`, which runs the model without
# gradients and in evaluation mode. The validation loss makes the first choice, the
# epoch to stop at: we keep a copy of the weights from the epoch where it was lowest,
# and stop once ``PATIENCE`` epochs in a row have not lowered it (early stopping).
# Both models follow this rule, with the same optimizer, learning rate and batches, so
# each trains for as long as its own validation loss keeps improving. One fixed number
# of epochs for both would ask a different question: which model learns faster, not
# which is better once trained.
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
    for epoch in range(1, MAX_EPOCHS + 1):
        train_epoch(model, optimizer, data.train_x, data.train_y, shuffles)
        on_train = evaluate(model, data.train_x, data.train_y)
        on_val = evaluate(model, data.val_x, data.val_y)
        history["train loss"].append(on_train.loss)
        history["validation loss"].append(on_val.loss)
        history["validation accuracy"].append(on_val.accuracy)
        if on_val.loss <= min(history["validation loss"]):
            best_state, best_epochs[name] = copy.deepcopy(model.state_dict()), epoch
        if epoch - best_epochs[name] == PATIENCE:
            break
    model.load_state_dict(best_state)
    histories[name] = history
    print(
        f"{name}: {n_parameters[name]:,} parameters, best validation epoch "
        f"{best_epochs[name]}, stopped after epoch {epoch}"
    )
last_epochs = {name: len(history["train loss"]) for name, history in histories.items()}
check(
    max(last_epochs.values()) < MAX_EPOCHS,
    "both models stopped because their validation loss stopped improving, before the limit",
)

# %%
# The epoch axis is logarithmic, to show both the first epochs and softmax regression's
# long tail. At every epoch the two share, the MLP has the lower training loss, and its
# validation loss reaches its lowest point in fewer epochs. After that, its training
# loss keeps falling while its validation loss stops falling and stays near its lowest
# value: the widening distance between its two curves is the MLP fitting the training
# images more closely than new ones. Softmax regression gets there more slowly, and its
# validation accuracy ends level with the MLP's; the next section measures how level.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
for (name, history), color in zip(histories.items(), ("C0", "C1"), strict=True):
    epochs = range(1, last_epochs[name] + 1)
    ax_loss.plot(epochs, history["train loss"], color=color, label=f"{name}, train")
    ax_loss.plot(
        epochs, history["validation loss"], "--", color=color, label=f"{name}, validation"
    )
    ax_loss.axvline(best_epochs[name], color=color, ls=":", lw=1)
    ax_acc.plot(epochs, history["validation accuracy"], color=color, label=name)
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss (dotted: best epoch)")
ax_loss.set(xscale="log", yscale="log")
ax_acc.set(xlabel="epoch", ylabel="accuracy", xscale="log", ylim=(0.8, 1.0))
ax_acc.set_title("validation accuracy")
ax_loss.legend(fontsize=8)
ax_acc.legend()
fig.tight_layout()
plt.show()

softmax, mlp = histories.values()
check(
    all(m < s for m, s in zip(mlp["train loss"], softmax["train loss"], strict=False)),
    "at every epoch the two share, the MLP has the lower training loss",
)
check(
    best_epochs["MLP"] < best_epochs["softmax regression"],
    "the MLP reaches its lowest validation loss in fewer epochs",
)
ratio = [v / t for v, t in zip(mlp["validation loss"], mlp["train loss"], strict=True)]
quarter = len(ratio) // 4
print(
    f"MLP validation / training loss: {ratio[quarter - 1]:.2f} at epoch {quarter}, "
    f"{ratio[-1]:.2f} at epoch {len(ratio)}"
)
check(ratio[-1] > ratio[quarter - 1], "the distance between the MLP's curves widens")

# %%
# Choosing on validation
# ----------------------
# Each model is back at its best epoch. The validation set makes the second choice,
# the model to keep, by a rule fixed before the two are compared: the model with the
# lower validation loss, if it is lower by more than the noise (``NOISE_LEVEL``
# standard errors); if the two are within noise, the choice is a toss-up, and the
# simpler model, with fewer parameters, is kept. Both are scored on the same
# validation images, so the comparison is paired:
# :func:`~pytorch_examples.comparison.paired_difference` takes the two losses image by
# image, which cancels what both find easy or hard, and
# :func:`~pytorch_examples.comparison.accuracy_difference` counts only the images
# the two classify differently. The standard errors measure how much the differences
# would move on another draw of validation images. Two things they leave out: the same
# validation images also chose each model's epoch, at the lowest point of its own noisy
# curve, which flatters both a little; and both models share one learning rate, which
# the authors set by hand rather than tuning it for each model on validation, so the
# comparison is of the two models at that rate.
val_losses, val_predictions = {}, {}
for name, model in models.items():
    with torch.no_grad(), eval_mode(model):
        logits = model(data.val_x)
    val_losses[name] = F.cross_entropy(logits, data.val_y, reduction="none")  # one per image
    val_predictions[name] = logits.argmax(dim=1)
for name in models:
    accuracy = (val_predictions[name] == data.val_y).float().mean()
    print(f"{name:18} validation loss {val_losses[name].mean():.4f}, accuracy {accuracy:.4f}")
loss_gap = paired_difference(val_losses["MLP"], val_losses["softmax regression"])
accuracy_gap = accuracy_difference(
    val_predictions["MLP"], val_predictions["softmax regression"], data.val_y
)
print(f"within noise: at most {NOISE_LEVEL:g} standard errors from zero")
print("loss:    ", loss_gap.describe("MLP", "softmax regression"))
print("accuracy:", accuracy_gap.describe("MLP", "softmax regression"))
differ = val_predictions["MLP"] != val_predictions["softmax regression"]
print(f"the two classify {int(differ.sum())} of {len(data.val_y)} validation images differently")
check(
    loss_gap.a_lower() and loss_gap.z > -2 * NOISE_LEVEL and accuracy_gap.within_noise(),
    "the MLP's validation loss is lower by more than the noise level but by less than twice it; "
    "the accuracies are within noise",
)
if loss_gap.within_noise():  # a toss-up: keep the simpler model
    chosen = min(models, key=n_parameters.get)
else:
    chosen = "MLP" if loss_gap.a_lower() else "softmax regression"
print(f"chosen: {chosen}, {n_parameters[chosen]:,} parameters, {best_epochs[chosen]} epochs")

# %%
# Trained for as long as validation asks, softmax regression classifies the
# validation images about as well as the MLP: the two classify only a few of them
# differently, and their accuracies are within noise of each other. On accuracy alone
# the choice would be a toss-up. The validation loss, which also weighs how much
# probability each model gives the right digit, separates them: the MLP's is lower by
# more than ``NOISE_LEVEL`` standard errors, though by less than twice that. So the
# rule keeps the MLP, without needing its tie-break. That verdict is about these two
# trained networks and this validation set; the standard error does not say whether
# two networks trained again, from other random weights, would differ by as much.
#
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
