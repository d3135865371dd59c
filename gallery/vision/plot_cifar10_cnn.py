r"""
A CNN for CIFAR-10 on a CPU
===========================

A small convolutional network learns to tell apart the ten classes of CIFAR-10
(airplanes, cars, birds, cats, deer, dogs, frogs, horses, ships and trucks), trained
on the CPU of a small machine. The data is prepared as in :doc:`plot_cifar10_data`.
You will learn:

* how convolution, pooling, batch normalization and ReLU stack into a small network,
  and where its work is;
* how to choose between float32 and bfloat16 by timing both, and what bfloat16 costs;
* what a one-cycle schedule and label smoothing do in a training run of a few epochs;
* how to measure what augmentation does, and let the validation set decide whether
  to use it;
* how to let the validation set make every choice and score the test set once;
* how to read a confusion matrix and what the mistakes look like.
"""

# %%
# Setup
# -----
# All settings are here; the widths, epochs, batch size, learning rate and crop
# padding were chosen in trials on the validation split below. The tests run this
# script with ``SUBSET`` and the network small.
import itertools
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.cifar10 import (
    CLASSES,
    channel_stats,
    load_cifar10,
    normalize,
    random_crop_flip,
)
from pytorch_examples.evaluation import confusion_matrix
from pytorch_examples.plotting import plot_confusion_matrix, plot_image_grid

SEED = 0
SUBSET = None  # train on this many images only (a quick check); None: all the rest
N_VALIDATION = 5_000  # training images held out to watch training and make choices
WIDTHS = (16, 48, 96)  # channels of the three stages
N_EPOCHS = 5
BATCH_SIZE = 128
EVAL_BATCH_SIZE = 1000
MAX_LEARNING_RATE = 0.2
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.1
CROP_PADDING = 2
N_TIMING_STEPS = 3  # training steps timed in each precision, after one to warm up
N_SAMPLE_IMAGES = 16

torch.manual_seed(SEED)  # the split, the weights, the shuffles and the augmentation
started = time.perf_counter()
data = load_cifar10()
print(f"loaded in {time.perf_counter() - started:.1f} s from {data.source}")

# %%
# The data
# --------
# As on :doc:`plot_cifar10_data`: a random 5,000 of the training images are held out
# for validation; they draw the learning curves and make every choice below, and the
# test set is scored once, at the very end. The images stay ``uint8``. Training
# batches are augmented with the batched crop and flip of that page (each image is
# shifted by up to ``CROP_PADDING`` pixels and mirrored with probability 1/2); then every
# batch is standardized with the training images' channel statistics and stored
# ``channels_last`` (faster CPU convolutions) just before it enters the network.
order = torch.randperm(len(data.train.labels))
val_index, train_index = order[:N_VALIDATION], order[N_VALIDATION:][:SUBSET]
train_images, train_labels = data.train.images[train_index], data.train.labels[train_index]
val_images, val_labels = data.train.images[val_index], data.train.labels[val_index]
print(f"train {tuple(train_images.shape)}, validation {tuple(val_images.shape)}, "
      f"test {tuple(data.test.images.shape)}")  # fmt: skip
mean, std = channel_stats(train_images)


def to_input(images: torch.Tensor) -> torch.Tensor:
    return normalize(images, mean, std).contiguous(memory_format=torch.channels_last)


def augment(images: torch.Tensor) -> torch.Tensor:
    return random_crop_flip(images, CROP_PADDING)


fig = plot_image_grid(
    train_images[:N_SAMPLE_IMAGES], [CLASSES[label] for label in train_labels[:N_SAMPLE_IMAGES]]
)
fig.suptitle("a random sample of the training images")
fig.tight_layout()
plt.show()


# %%
# The network
# -----------
# Three stages. Each starts with a 3x3 convolution, 2x2 max pooling, batch
# normalization and ReLU; the second and third add a 3x3 convolution, batch
# normalization and ReLU at the pooled size. What the convolutions, the pooling and
# the batch normalization compute is written out on :doc:`plot_convolution_layers`: a
# convolution shares a few weights across the whole image, each pooling widens the
# patch that later filters see, and batch normalization subtracts each channel's
# mean, which removes any bias a convolution could add (its own shift takes the
# bias's place; in the printed model it is the batch norm's ``bias``). ReLU zeroes
# the negative values. Pooling straight after the convolution, rather than after the
# ReLU, leaves the normalization and ReLU a quarter of the pixels to process: a
# cheaper order, though not an identical one, since the normalization's statistics
# are then taken over the pooled values.
#
# Global max pooling then keeps each final channel's strongest response anywhere in
# the image, and a linear layer maps those to ten class scores.
def conv_bn_relu(in_channels: int, out_channels: int, pool: bool) -> list[nn.Module]:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
    pooling = [nn.MaxPool2d(2)] if pool else []
    return [conv, *pooling, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


class SmallCNN(nn.Module):
    def __init__(self, widths: tuple[int, ...], n_classes: int = 10) -> None:
        super().__init__()
        layers = conv_bn_relu(3, widths[0], pool=True)
        for in_channels, width in itertools.pairwise(widths):
            layers += conv_bn_relu(in_channels, width, pool=True)
            layers += conv_bn_relu(width, width, pool=False)
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.amax(self.features(images), dim=(2, 3)))


def new_model() -> SmallCNN:
    return SmallCNN(WIDTHS).to(memory_format=torch.channels_last)


model = new_model()
print(model)
print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")

# %%
# The first stage is narrow: it works on full-size images, and each of its filters
# sees only 27 numbers (3 x 3 pixels of 3 colours). Counting one multiplication per
# output value and weight, for one image, shows where the work is.
multiplications = []
with torch.no_grad():
    x = to_input(train_images[:1])
    for layer in model.eval().features:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            weights = layer.weight[0].numel()
            multiplications.append(x.numel() * weights)
            print(f"conv {layer.in_channels:>2} -> {layer.out_channels:<2} on "
                  f"{x.shape[-2]:>2} x {x.shape[-1]:<2}: {weights:>3} weights per output, "
                  f"{multiplications[-1]:>9,} multiplications")  # fmt: skip
check(
    multiplications[0] == min(multiplications),
    "the first convolution, on full-size images, does the fewest multiplications",
)


# %%
# float32 or bfloat16?
# --------------------
# Under ``torch.autocast`` the convolutions and the linear layer compute in bfloat16,
# which has float32's range but 8 significant bits instead of 24; the weights and
# their updates stay float32. Half the bytes can mean twice the speed, but only on a
# processor that computes bfloat16 natively (x86 chips with AVX512-BF16 or AMX,
# recent ARM chips); elsewhere it is emulated, and slower. So rather than assume,
# the page times a few training steps in each precision and trains in the faster.
def train_step(model, optimizer, images, labels, precision):
    """One SGD step on a batch of uint8 images; returns the loss and the logits."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        logits = model(to_input(images))
    loss = F.cross_entropy(logits.float(), labels, label_smoothing=LABEL_SMOOTHING)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def images_per_second(precision: str) -> float:
    """Time training steps of a throwaway model on one batch, after a warm-up step."""
    model = new_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = train_images[:BATCH_SIZE], train_labels[:BATCH_SIZE]
    for step in range(1 + N_TIMING_STEPS):
        if step == 1:
            started = time.perf_counter()
        train_step(model, optimizer, augment(images), labels, precision)
    return N_TIMING_STEPS * len(images) / (time.perf_counter() - started)


def choose_precision(speeds: dict[str, float]) -> str:
    """bfloat16 if it trained faster, else float32."""
    return "bfloat16" if speeds["bfloat16"] > speeds["float32"] else "float32"


for dtype in (torch.float32, torch.bfloat16):  # eps = 2 ** -(significant bits - 1)
    print(f"{dtype}: {1 - math.log2(torch.finfo(dtype).eps):.0f} significant bits")
print(f"CPU vector instructions: {torch.backends.cpu.get_cpu_capability()}, "
      f"threads: {torch.get_num_threads()}")  # fmt: skip
speeds = {precision: images_per_second(precision) for precision in ("float32", "bfloat16")}
for name, speed in speeds.items():
    print(f"{name:>9}: {speed:,.0f} images/s")
precision = choose_precision(speeds)
print(f"training in {precision}")

# %%
# Training
# --------
# Mini-batch SGD with Nesterov momentum and weight decay. The one-cycle schedule raises
# the learning rate for the first quarter of the steps and then lowers it to nearly
# zero: the large middle rates move fast, the small final rates settle. It moves the
# momentum the opposite way, between 0.95 and 0.85, so that the steps do not grow too
# large while the rate is high. Label smoothing spreads ``LABEL_SMOOTHING`` of each
# target evenly over the ten classes, so the true class is asked for the probability
# printed below instead of 1, which curbs overconfidence. After each epoch the
# validation set is scored in evaluation mode, outside the training time. To measure
# what augmentation does, a second network then trains the same way and from the same
# initial weights, but on the plain images; the validation set decides which one to
# keep.
print(f"target probability of the true class: {1 - LABEL_SMOOTHING + LABEL_SMOOTHING / 10:.2f}")


@torch.no_grad()
def evaluate(model, images, labels, precision, mirror=False):
    """Loss, accuracy and predictions in evaluation mode; with ``mirror``, the class
    scores are averaged with those of the mirror images."""
    model.eval()
    logits = []
    for batch in images.split(EVAL_BATCH_SIZE):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            scores = model(to_input(batch)).float()
            if mirror:
                scores = (scores + model(to_input(batch.flip(3))).float()) / 2
        logits.append(scores)
    model.train()
    logits = torch.cat(logits)
    accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    return F.cross_entropy(logits, labels).item(), accuracy, logits.argmax(dim=1)


def train(augmented: bool):
    """Train a new model; return it, its per-epoch history and the training time."""
    torch.manual_seed(SEED)  # the same initial weights for both runs
    model = new_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=MAX_LEARNING_RATE, momentum=0.9,
                                nesterov=True, weight_decay=WEIGHT_DECAY)  # fmt: skip
    steps_per_epoch = len(train_labels) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, MAX_LEARNING_RATE, total_steps=N_EPOCHS * steps_per_epoch, pct_start=0.25,
        base_momentum=0.85, max_momentum=0.95,  # replaces the optimizer's momentum
    )  # fmt: skip
    history = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": []}
    seconds = 0.0
    for epoch in range(1, N_EPOCHS + 1):
        started = time.perf_counter()
        order = torch.randperm(len(train_labels))
        losses, correct = [], 0
        for step in range(steps_per_epoch):
            index = order[step * BATCH_SIZE : (step + 1) * BATCH_SIZE]
            images, labels = train_images[index], train_labels[index]
            images = augment(images) if augmented else images
            loss, logits = train_step(model, optimizer, images, labels, precision)
            schedule.step()
            losses.append(loss)
            correct += (logits.argmax(dim=1) == labels).sum().item()
        seconds += time.perf_counter() - started
        history["train_loss"].append(torch.stack(losses).mean().item())
        history["train_accuracy"].append(correct / (steps_per_epoch * BATCH_SIZE))
        val_loss, val_accuracy, _ = evaluate(model, val_images, val_labels, precision)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        print(f"  epoch {epoch}: train loss {history['train_loss'][-1]:.3f}, accuracy "
              f"{history['train_accuracy'][-1]:.3f} | validation loss {val_loss:.3f}, "
              f"accuracy {val_accuracy:.4f} | {seconds:.1f} s")  # fmt: skip
    return model, history, seconds


runs = {}
for name, augmented in (("augmented", True), ("plain", False)):
    print(f"{name}:")
    runs[name] = train(augmented)

# %%
# The training numbers are averages over each epoch while the weights still changed,
# in training mode and with smoothed labels; the validation numbers are measured on
# the finished epoch's weights in evaluation mode. Without augmentation the network
# fits its training images more closely than new ones: its training accuracy ends
# further ahead of its validation accuracy. Augmentation shows the network a
# slightly different image each time, which guards against that but makes the task
# harder to learn in a few epochs. Whether it pays off in this budget is what the
# validation accuracy decides: the network that ends higher is kept.
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
    for (name, (_, run, _)), style in zip(runs.items(), ("-", "--"), strict=True):
        for split, colour in (("train", "C0"), ("val", "C1")):
            ax.plot(range(1, N_EPOCHS + 1), run[f"{split}_{metric}"], style, color=colour,
                    marker=".", label=f"{split}, {name}")  # fmt: skip
    ax.set(xlabel="epoch", title=metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

final = {name: run["val_accuracy"][-1] for name, (_, run, _) in runs.items()}
gap = {name: run["train_accuracy"][-1] - final[name] for name, (_, run, _) in runs.items()}
for name in runs:
    print(f"{name:>9}: final validation accuracy {final[name]:.4f}, "
          f"training minus validation accuracy {gap[name]:.4f}")  # fmt: skip
check(
    gap["plain"] > gap["augmented"],
    "without augmentation the training accuracy ends further ahead",
)
kept = max(final, key=final.get)
model, history, training_seconds = runs[kept]
images_seen = N_EPOCHS * (len(train_labels) // BATCH_SIZE) * BATCH_SIZE
print(f"kept: the {kept} network, trained in {training_seconds:.1f} s "
      f"({images_seen / training_seconds:,.0f} images/s)")  # fmt: skip

# %%
# How far apart are the two? A validation accuracy is a proportion :math:`p` of
# :math:`n` images, with a standard error of about :math:`\sqrt{p(1 - p) / n}`: had a
# different random 5,000 images been held out, the same network would have scored
# differently by about that much. Printed in images:
difference = abs(final["augmented"] - final["plain"])
standard_error = math.sqrt(final[kept] * (1 - final[kept]) / len(val_labels))
print(f"difference: {difference * len(val_labels):.0f} of {len(val_labels):,} validation "
      f"images; one standard error: {standard_error * len(val_labels):.0f}")  # fmt: skip

# %%
# The whole difference between the two networks is smaller than one standard error:
# in five epochs augmentation neither clearly helped nor clearly hurt the validation
# accuracy, while it clearly closed the gap between training and validation accuracy.
# The rule still picks one network, and it is applied as it stands.
check(difference < standard_error, "the two validation accuracies differ by less than one "
      "standard error")  # fmt: skip

# %%
# What bfloat16 costs
# -------------------
# The finished network scores the validation images in float32 and under bfloat16
# autocast. If 8 significant bits were too few for it, the two would disagree. (This
# measures the precision of the finished network's arithmetic; what bfloat16 does to
# training itself would take a second training run.)
_, accuracy_float32, predicted_float32 = evaluate(model, val_images, val_labels, "float32")
_, accuracy_bfloat16, predicted_bfloat16 = evaluate(model, val_images, val_labels, "bfloat16")
agreement = (predicted_float32 == predicted_bfloat16).float().mean().item()
print(f"validation accuracy: {accuracy_float32:.4f} in float32, {accuracy_bfloat16:.4f} in "
      f"bfloat16; the two predict the same class for {agreement:.4f} of the images")  # fmt: skip
check(abs(accuracy_bfloat16 - accuracy_float32) < 0.005,
      "bfloat16 changes the validation accuracy by less than half a percentage point")  # fmt: skip

# %%
# Mirror images at test time
# --------------------------
# A mirrored airplane is still an airplane, so the network can also be shown the
# mirror image of each test image, and the two sets of class scores averaged, at the
# price of a second forward pass. Whether that helps is a choice, so the validation set
# decides.
_, mirror_accuracy, _ = evaluate(model, val_images, val_labels, precision, mirror=True)
use_mirror = mirror_accuracy > history["val_accuracy"][-1]
print(f"validation accuracy: {history['val_accuracy'][-1]:.4f} alone, {mirror_accuracy:.4f} "
      f"averaged with the mirror images; use the mirror images: {use_mirror}")  # fmt: skip

# %%
# The test set, once
# ------------------
# Every choice is made, so the test set is scored now, for the first and only time.
test_loss, test_accuracy, predicted = evaluate(
    model, data.test.images, data.test.labels, precision, mirror=use_mirror
)
print(f"test accuracy: {test_accuracy:.4f}")

# %%
# Row *i* of the confusion matrix counts how the test images of class *i* were
# classified; the diagonal holds the correct ones.
n_classes = len(CLASSES)
matrix = confusion_matrix(predicted, data.test.labels, n_classes)
fig, ax = plt.subplots(figsize=(7, 6))
plot_confusion_matrix(ax, matrix, CLASSES)
ax.set_title("test set confusion matrix")
fig.tight_layout()
plt.show()

per_class = matrix.diag() / matrix.sum(dim=1)
for name, accuracy in sorted(zip(CLASSES, per_class.tolist(), strict=True), key=lambda p: -p[1]):
    print(f"{name:>10}: {accuracy:.3f}")
off_diagonal = matrix - torch.diag(matrix.diag())
true_class, wrong_class = divmod(off_diagonal.argmax().item(), n_classes)
print(f"most common confusion: {CLASSES[true_class]} taken for {CLASSES[wrong_class]} "
      f"({off_diagonal.max()} times)")  # fmt: skip

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
print(f"precision: {precision}, parameters: {sum(p.numel() for p in model.parameters()):,}")
print(f"training time: {training_seconds:.1f} s for {N_EPOCHS} epochs "
      f"({images_seen / training_seconds:,.0f} images/s)")  # fmt: skip
print(f"test accuracy: {test_accuracy:.4f}")
