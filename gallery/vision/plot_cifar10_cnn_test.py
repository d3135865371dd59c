r"""
Choosing and testing the CIFAR-10 CNN
=====================================

:doc:`plot_cifar10_cnn` trained two networks from the same initial weights, one on
augmented images and one on the plain images, and saved both. This page makes the
remaining choices on the validation set, scores the test set once, and looks at what
the chosen network gets wrong. You will learn:

* how to measure how much more closely a network fits the images it trained on than
  new ones, and compare that between two networks with its noise;
* how to let the validation set choose, counting a difference only when it is larger
  than the noise: between the two networks, and for averaging with mirror images;
* what bfloat16 arithmetic costs a finished network;
* how to score the test set once, and read a confusion matrix and the mistakes.

Run :doc:`plot_cifar10_cnn` first; without what it saved, this page stops and says so.
"""

# %%
# Setup
# -----
# The saved networks are loaded with ``weights_only=True``, which builds only the
# classes it is told to trust (see :doc:`/auto_examples/scale/plot_checkpoints`). The
# networks are made of PyTorch's own layers, so naming those is enough.
import math

import matplotlib.pyplot as plt
import torch
from torch import nn

from pytorch_examples.claims import check
from pytorch_examples.comparison import Difference, accuracy_difference
from pytorch_examples.data.cifar10 import CLASSES, load_cifar10, normalize
from pytorch_examples.evaluation import Evaluation, confusion_matrix, eval_mode, evaluate
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid
from pytorch_examples.results import MissingResultsError, results_dir

SEED = 0
SAVED_FILE = "cifar10_cnn.pt"  # written by plot_cifar10_cnn.py
EVAL_BATCH_SIZE = 1000
N_SAMPLE_IMAGES = 16
TIE_KEEPS = "plain"  # the network kept if the two are within noise: the simpler recipe
LAYERS = [nn.Sequential, nn.Conv2d, nn.MaxPool2d, nn.BatchNorm2d, nn.ReLU]
LAYERS += [nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear]

torch.manual_seed(SEED)  # the sample of misclassified images
saved = results_dir() / SAVED_FILE
if not saved.exists():
    raise MissingResultsError(
        f"{saved} does not exist. Run plot_cifar10_cnn.py first: it trains the two "
        "networks this page chooses between, and saves them there."
    )
with torch.serialization.safe_globals(LAYERS):
    trained = torch.load(saved, weights_only=True)
data = load_cifar10()
print(data.describe_source())
networks, precision = trained["networks"], trained["precision"]
val_images = data.train.images[trained["val_index"]]
val_labels = data.train.labels[trained["val_index"]]
seen_images = data.train.images[trained["seen_index"]]
seen_labels = data.train.labels[trained["seen_index"]]
print(f"networks: {', '.join(networks)}, trained in {precision}")


def score(model, images, labels, precision=precision, mirror=False) -> Evaluation:
    """Loss, accuracy and predictions in evaluation mode, in the given precision; with
    ``mirror``, each image's class scores are averaged with its mirror image's."""

    def class_scores(inputs: torch.Tensor) -> torch.Tensor:
        logits = model(inputs).float()
        return (logits + model(inputs.flip(3)).float()) / 2 if mirror else logits

    def to_input(images: torch.Tensor) -> torch.Tensor:
        standardized = normalize(images, trained["mean"], trained["std"])
        return standardized.contiguous(memory_format=torch.channels_last)

    with eval_mode(model), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bfloat16"):
        return evaluate(class_scores, images, labels, batch_size=EVAL_BATCH_SIZE, prepare=to_input)


# %%
# How closely each network fits its training images
# --------------------------------------------------
# The training curves could not be set against the validation curves: they were
# averaged while the weights changed, and over augmented images for one network. Here
# both finished networks are scored in evaluation mode on the same clean training
# images, as many as there are validation images, and on the validation set. The *gap*
# is the first accuracy minus the second.
scores = {
    name: {
        "train": score(model, seen_images, seen_labels),
        "val": score(model, val_images, val_labels),
    }
    for name, model in networks.items()
}
gap = {name: both["train"].accuracy - both["val"].accuracy for name, both in scores.items()}
for name, both in scores.items():
    print(
        f"{name:>9}: accuracy on {len(seen_labels):,} training images "
        f"{both['train'].accuracy:.4f}, on validation {both['val'].accuracy:.4f}, "
        f"gap {gap[name]:.4f}"
    )

# %%
# Is the plain network's gap larger by more than the noise? The difference of the gaps
# is the difference between the two networks on the training images minus that on
# the validation images. Each is paired (both networks see the same images, so only the
# images exactly one of the two gets right count;
# :func:`~pytorch_examples.comparison.accuracy_difference`), and the two sets of images
# are separate, so their standard errors combine as the root of the sum of squares.
# The standard errors on this page count the sampling of the images only, not what
# retraining with another seed would change.
on_train = accuracy_difference(
    scores["plain"]["train"].predictions, scores["augmented"]["train"].predictions, seen_labels
)
on_val = accuracy_difference(
    scores["plain"]["val"].predictions, scores["augmented"]["val"].predictions, val_labels
)
gap_difference = Difference(
    on_train.difference - on_val.difference,
    math.hypot(on_train.standard_error, on_val.standard_error),
    on_train.count + on_val.count,
)
print(gap_difference.describe("plain gap", "augmented gap"))
check(gap_difference.a_higher(), "without augmentation the gap is larger, by more than the noise")

# %%
# Augmentation or not
# -------------------
# Relative to new images, the plain network fits the images it trained on more
# closely. Augmentation shows the network a slightly different image each time, and
# is meant to narrow that gap; the scores above show what it did to each network's fit
# of its training images in this budget. Whether it pays off on new images is for the
# validation set to say, by the same paired comparison. A network ahead by more than
# the noise is kept. If neither is, the rule fixed in the code before this run,
# ``TIE_KEEPS``, keeps the plain network, the simpler recipe. The output says which
# case this run is.
predicted_val = {name: both["val"].predictions for name, both in scores.items()}
right = {name: predicted == val_labels for name, predicted in predicted_val.items()}
print(
    f"validation images right only with augmentation: "
    f"{(right['augmented'] & ~right['plain']).sum().item()}, "
    f"only without: {(right['plain'] & ~right['augmented']).sum().item()}"
)
augmentation = accuracy_difference(predicted_val["augmented"], predicted_val["plain"], val_labels)
print(augmentation.describe("augmented", "plain"))
if augmentation.within_noise():
    kept = TIE_KEEPS
    print(f"within noise: a tie, so the rule keeps the {kept} network")
else:
    kept = "augmented" if augmentation.a_higher() else "plain"
    print(f"the {kept} network is ahead by more than the noise and is kept")
model, training_seconds = networks[kept], trained["seconds"][kept]
print(
    f"kept: the {kept} network, trained in {training_seconds:.1f} s "
    f"({trained['images_seen'] / training_seconds:,.0f} images/s)"
)

# %%
# What bfloat16 costs
# -------------------
# The kept network scores the validation images in float32 and under bfloat16
# autocast. If 8 significant bits were too few for it, the two would disagree. (This
# measures the precision of the finished network's arithmetic; what bfloat16 does to
# training itself would take a second training run.)
in_float32 = score(model, val_images, val_labels, "float32")
in_bfloat16 = score(model, val_images, val_labels, "bfloat16")
agreement = (in_float32.predictions == in_bfloat16.predictions).float().mean().item()
bfloat16_cost = accuracy_difference(in_bfloat16.predictions, in_float32.predictions, val_labels)
print(
    f"validation accuracy: {in_float32.accuracy:.4f} in float32, {in_bfloat16.accuracy:.4f} "
    f"in bfloat16; the two predict the same class for {agreement:.4f} of the images\n"
    f"{bfloat16_cost.describe('bfloat16', 'float32')}"
)
check(
    abs(in_bfloat16.accuracy - in_float32.accuracy) < 0.005,
    "bfloat16 changes the validation accuracy by less than half a percentage point",
)

# %%
# Mirror images at test time
# --------------------------
# A mirrored airplane is still an airplane, so the network can also be shown the
# mirror image of each test image, and the two sets of class scores averaged, at the
# price of a second forward pass. The validation set decides, by the same paired
# comparison: the mirror images are used only if they raise the validation accuracy
# by more than the noise; within noise, the single pass, which costs half as much, is
# kept.
alone = scores[kept]["val"]
mirrored = score(model, val_images, val_labels, mirror=True)
mirror_gain = accuracy_difference(mirrored.predictions, alone.predictions, val_labels)
use_mirror = mirror_gain.a_higher()
print(
    f"validation accuracy: {alone.accuracy:.4f} alone, {mirrored.accuracy:.4f} averaged "
    f"with the mirror images\n{mirror_gain.describe('with mirror images', 'alone')}; "
    f"use the mirror images: {use_mirror}"
)

# %%
# The test set, once
# ------------------
# Every choice is made, so the test set is scored now, for the first and only time.
test = score(model, data.test.images, data.test.labels, mirror=use_mirror)
test_accuracy, predicted = test.accuracy, test.predictions
print(f"test accuracy: {test_accuracy:.4f}")

# %%
# Row *i* of the confusion matrix counts how the test images of class *i* were
# classified; the diagonal holds the correct ones.
matrix = confusion_matrix(predicted, data.test.labels, len(CLASSES))
fig, ax = plt.subplots(figsize=(7, 6))
plot_confusion_matrix(ax, matrix, CLASSES)
ax.set_title("test set confusion matrix")
fig.tight_layout()
plt.show()

per_class = matrix.diag() / matrix.sum(dim=1)
for name, accuracy in sorted(zip(CLASSES, per_class.tolist(), strict=True), key=lambda p: -p[1]):
    print(f"{name:>10}: {accuracy:.3f}")
off_diagonal = matrix - torch.diag(matrix.diag())
most = off_diagonal.max().item()
confusions = [
    f"{CLASSES[true_class]} taken for {CLASSES[wrong_class]}"
    for true_class, wrong_class in torch.nonzero(off_diagonal == most).tolist()
]
tie = f", a tie of {len(confusions)}" if len(confusions) > 1 else ""
print(f"most common confusion ({most} times{tie}): {'; '.join(confusions)}")

# %%
# Some misclassified test images, titled *true / predicted*. Many are hard even for a
# person at this resolution.
all_wrong = torch.nonzero(predicted != data.test.labels).squeeze(1)
wrong = all_wrong[torch.randperm(len(all_wrong))[:N_SAMPLE_IMAGES]]
fig = plot_image_grid(
    data.test.images[wrong],
    [f"{CLASSES[data.test.labels[i]]}\n/ {CLASSES[predicted[i]]}" for i in wrong],
)
plt.show()

# %%
# Result
# ------
print(f"kept: the {kept} network, {precision}, mirror images: {use_mirror}")
print(f"test accuracy: {test_accuracy:.4f}")
