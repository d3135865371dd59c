r"""
Handwritten digits: softmax regression versus an MLP
====================================================

scikit-learn ships 1,797 handwritten digits as 8 x 8 grey images, small enough to
train on in seconds and bundled, so this page runs offline. Two models learn them:
softmax regression (one linear layer) and a multilayer perceptron with one hidden
layer. You will learn:

* how a multi-class classifier is trained with cross-entropy on mini-batches;
* what a hidden layer adds over a linear model;
* how to score on held-out data and read a confusion matrix.

The theory of softmax and cross-entropy is in :doc:`/notes/classification`.
"""

# %%
# Setup
# -----
# The images are flattened to 64 pixel values in :math:`[0, 1]` and split 60/20/20
# into training, validation and test sets with a fixed seed.
import matplotlib.pyplot as plt
import torch
from torch import nn

from pytorch_examples.digits import load_digits_split
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid
from pytorch_examples.training import TrainConfig, loss_and_accuracy, train_classifier
from pytorch_examples.vision import confusion_matrix

SEED = 0
HIDDEN_UNITS = 128
CONFIG = TrainConfig(n_epochs=40, batch_size=64, learning_rate=3e-3, weight_decay=1e-4, seed=SEED)
DIGITS = [str(d) for d in range(10)]
N_SHOWN = 16

torch.manual_seed(SEED)
data = load_digits_split(seed=SEED)
print(
    f"train {tuple(data.train_x.shape)}, validation {tuple(data.val_x.shape)}, "
    f"test {tuple(data.test_x.shape)}"
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
models = {
    "softmax regression": nn.Linear(64, 10),
    "MLP, one hidden layer": nn.Sequential(
        nn.Linear(64, HIDDEN_UNITS), nn.ReLU(), nn.Linear(HIDDEN_UNITS, 10)
    ),
}
histories = {}
for name, model in models.items():
    n_parameters = sum(p.numel() for p in model.parameters())
    histories[name] = train_classifier(
        model, (data.train_x, data.train_y), (data.val_x, data.val_y), CONFIG
    )
    print(
        f"{name}: {n_parameters:,} parameters, final validation accuracy "
        f"{histories[name].val_accuracy[-1]:.3f}"
    )

# %%
# The MLP learns faster and reaches a lower loss on both sets; softmax regression is
# still improving slowly when training stops. The gap between each model's training
# and validation curves is how much it fits the training images more closely than
# new ones.
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
for (name, history), color in zip(histories.items(), ("C0", "C1"), strict=True):
    epochs = range(1, CONFIG.n_epochs + 1)
    ax_loss.plot(epochs, history.train_loss, color=color, label=f"{name}, train")
    ax_loss.plot(epochs, history.val_loss, "--", color=color, label=f"{name}, validation")
    ax_acc.plot(epochs, history.val_accuracy, color=color, label=name)
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0.8, 1.0), title="validation accuracy")
ax_loss.legend(fontsize=8)
ax_acc.legend()
fig.tight_layout()
plt.show()

# %%
# Held-out test accuracy
# ----------------------
# The test set played no part in training or in choosing the settings above.
test_accuracy = {}
for name, model in models.items():
    _, test_accuracy[name] = loss_and_accuracy(model, data.test_x, data.test_y)
    print(f"{name:22} test accuracy {test_accuracy[name]:.4f}")

mlp = models["MLP, one hidden layer"]
with torch.no_grad():
    predicted = mlp(data.test_x).argmax(dim=1)
fig, ax = plt.subplots(figsize=(6, 5))
plot_confusion_matrix(ax, confusion_matrix(predicted, data.test_y, 10), DIGITS)
ax.set_title("MLP on the test set")
fig.tight_layout()
plt.show()

# %%
# The test digits the MLP got wrong, titled *true / predicted*. Several are hard to
# read even for a person at 8 x 8 pixels.
wrong = torch.nonzero(predicted != data.test_y).squeeze(1)[:N_SHOWN]
fig = plot_image_grid(
    data.test_x[wrong].view(-1, 1, 8, 8),
    [f"{int(data.test_y[i])} / {int(predicted[i])}" for i in wrong],
)
plt.show()
