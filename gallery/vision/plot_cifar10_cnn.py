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
  to use it, counting a difference only when it is larger than the noise;
* how to let the validation set make every choice and score the test set once;
* how to read a confusion matrix and what the mistakes look like.
"""

# %%
# Setup
# -----
# All settings are here. The authors set the widths, epochs, batch size, learning rate
# and crop padding by hand, from runs on the validation split that this page does not
# show; the choices the page does make (augmentation, mirror averaging, precision) are
# measured below. The tests run this script with ``SUBSET`` and the network small.
import itertools
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import Difference, accuracy_difference, timing_difference
from pytorch_examples.data.cifar10 import (
    CLASSES,
    channel_stats,
    load_cifar10,
    normalize,
    random_crop_flip,
)
from pytorch_examples.evaluation import Evaluation, confusion_matrix, eval_mode, evaluate
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
N_TIMING_STEPS = 5  # training steps timed in each precision, after one to warm up
N_SAMPLE_IMAGES = 16
TIE_KEEPS = "plain"  # the network kept if the two are within noise: the simpler recipe

torch.manual_seed(SEED)  # the split, the weights, the shuffles and the augmentation
started = time.perf_counter()
data = load_cifar10()
print(f"loaded in {time.perf_counter() - started:.1f} s from {data.describe_source()}")

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
#
# The setup above printed where the images came from. When it is a JPEG copy,
# as on machines without internet that read the project's offline data, the pixels
# differ from those of the canonical CIFAR-10, and so may the accuracies below.
order = torch.randperm(len(data.train.labels))
val_index, train_index = order[:N_VALIDATION], order[N_VALIDATION:][:SUBSET]
train_images, train_labels = data.train.images[train_index], data.train.labels[train_index]
val_images, val_labels = data.train.images[val_index], data.train.labels[val_index]
print(
    f"train {tuple(train_images.shape)}, validation {tuple(val_images.shape)}, "
    f"test {tuple(data.test.images.shape)}"
)
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
            print(
                f"conv {layer.in_channels:>2} -> {layer.out_channels:<2} on "
                f"{x.shape[-2]:>2} x {x.shape[-1]:<2}: {weights:>3} weights per output, "
                f"{multiplications[-1]:>9,} multiplications"
            )
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
# processor that computes bfloat16 natively (x86 chips with the AVX512-BF16 or AMX-BF16
# instructions, recent ARM chips); elsewhere it is emulated, and slower. The output
# prints whether this processor has either x86 instruction set (the general vector
# level PyTorch reports does not say). So rather than assume,
# the page times a few training steps in each precision, taking turns so that a
# change in the machine's load hits both alike. Timings on a busy machine are noisy,
# so bfloat16 is chosen only if its steps are faster by more than the noise
# (:func:`~pytorch_examples.comparison.timing_difference`); otherwise the page stays
# with float32, the default.
def train_step(model, optimizer, images, labels, precision):
    """One SGD step on a batch of uint8 images; returns the loss and the logits."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        logits = model(to_input(images))
    loss = F.cross_entropy(logits.float(), labels, label_smoothing=LABEL_SMOOTHING)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach(), logits.detach()


def time_steps(precisions: tuple[str, ...]) -> dict[str, list[float]]:
    """Seconds per training step of a throwaway model in each precision, on one batch,
    the precisions taking turns; the first step of each warms up and is not kept."""
    images, labels = train_images[:BATCH_SIZE], train_labels[:BATCH_SIZE]
    models = {precision: new_model() for precision in precisions}
    optimizers = {
        precision: torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        for precision, model in models.items()
    }
    seconds = {precision: [] for precision in precisions}
    for _ in range(1 + N_TIMING_STEPS):
        for precision in precisions:
            started = time.perf_counter()
            train_step(
                models[precision], optimizers[precision], augment(images), labels, precision
            )
            seconds[precision].append(time.perf_counter() - started)
    return {precision: times[1:] for precision, times in seconds.items()}


def choose_precision(step_seconds: dict[str, list[float]]) -> str:
    """bfloat16 if its steps are faster than float32's by more than the noise."""
    bfloat16_faster = timing_difference(step_seconds["bfloat16"], step_seconds["float32"])
    return "bfloat16" if bfloat16_faster.a_lower() else "float32"


for dtype in (torch.float32, torch.bfloat16):  # eps = 2 ** -(significant bits - 1)
    print(f"{dtype}: {1 - math.log2(torch.finfo(dtype).eps):.0f} significant bits")
cpu_features = torch.cpu.get_capabilities()
print(
    f"CPU vector instructions: {torch.backends.cpu.get_cpu_capability()}, "
    f"AVX512-BF16: {cpu_features.get('avx512_bf16')}, AMX-BF16: {cpu_features.get('amx_bf16')}, "
    f"threads: {torch.get_num_threads()}"
)
step_seconds = time_steps(("float32", "bfloat16"))
for name, times in step_seconds.items():
    print(f"{name:>9}: {BATCH_SIZE * len(times) / sum(times):,.0f} images/s")
timing = timing_difference(step_seconds["bfloat16"], step_seconds["float32"])
print(f"seconds per step: {timing.describe('bfloat16', 'float32', digits=3)}")
precision = choose_precision(step_seconds)
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
# validation set is scored in evaluation mode, outside the training time, with
# :func:`~pytorch_examples.evaluation.evaluate`. To measure what augmentation does, a
# second network then trains the same way and from the same initial weights, but on
# the plain images.
print(f"target probability of the true class: {1 - LABEL_SMOOTHING + LABEL_SMOOTHING / 10:.2f}")


def score(model, images, labels, precision, mirror=False) -> Evaluation:
    """Loss, accuracy and predictions in evaluation mode, in the given precision; with
    ``mirror``, each image's class scores are averaged with its mirror image's."""

    def class_scores(inputs: torch.Tensor) -> torch.Tensor:
        logits = model(inputs).float()
        return (logits + model(inputs.flip(3)).float()) / 2 if mirror else logits

    with eval_mode(model), torch.autocast("cpu", torch.bfloat16, enabled=precision == "bfloat16"):
        return evaluate(class_scores, images, labels, batch_size=EVAL_BATCH_SIZE, prepare=to_input)


def train(augmented: bool):
    """Train a new model; return it, its per-epoch history and the training time."""
    torch.manual_seed(SEED)  # the same initial weights for both runs
    model = new_model()
    optimizer = torch.optim.SGD(
        model.parameters(),
        MAX_LEARNING_RATE,
        momentum=0.9,
        nesterov=True,
        weight_decay=WEIGHT_DECAY,
    )
    steps_per_epoch = len(train_labels) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        MAX_LEARNING_RATE,
        total_steps=N_EPOCHS * steps_per_epoch,
        pct_start=0.25,
        base_momentum=0.85,
        max_momentum=0.95,  # replaces the optimizer's momentum
    )
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
        val = score(model, val_images, val_labels, precision)
        history["val_loss"].append(val.loss)
        history["val_accuracy"].append(val.accuracy)
        print(
            f"  epoch {epoch}: train loss {history['train_loss'][-1]:.3f}, accuracy "
            f"{history['train_accuracy'][-1]:.3f} | validation loss {val.loss:.3f}, "
            f"accuracy {val.accuracy:.4f} | {seconds:.1f} s"
        )
    return model, history, seconds


runs = {}
for name, augmented in (("augmented", True), ("plain", False)):
    print(f"{name}:")
    runs[name] = train(augmented)

# %%
# The curves show each run's progress, but the training numbers cannot be set against
# the validation numbers: they are averages over each epoch while the weights still
# changed, in training mode, and for the augmented network over augmented images. To
# see how much more closely each network fits the images it trained on than new ones,
# both finished networks are scored in evaluation mode on the same clean (not
# augmented) training images, as many as there are validation images, and on the
# validation set. The *gap* is the first accuracy minus the second.
epochs = range(1, N_EPOCHS + 1)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
    for (name, (_, run, _)), style in zip(runs.items(), ("-", "--"), strict=True):
        for split, colour in (("train", "C0"), ("val", "C1")):
            label = f"{split}, {name}"
            ax.plot(epochs, run[f"{split}_{metric}"], style, color=colour, marker=".", label=label)
    ax.set(xlabel="epoch", title=metric)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

seen_images, seen_labels = train_images[:N_VALIDATION], train_labels[:N_VALIDATION]
scores = {
    name: {
        "train": score(model, seen_images, seen_labels, precision),
        "val": score(model, val_images, val_labels, precision),
    }
    for name, (model, _, _) in runs.items()
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
check(
    gap_difference.a_higher(),
    "without augmentation the gap is larger, by more than the noise",
)

# %%
# The plain network's gap is the larger: relative to new images, it fits the images it
# trained on more closely. Augmentation shows the network a slightly different image
# each time, which guards against that but makes the task harder to learn in a few
# epochs. Whether it pays off
# in this budget is for the validation set to say, and again both networks are scored
# on the same images, so the comparison is paired. If one network is ahead by more
# than the noise, it is kept. If not, the validation set cannot tell them apart, and
# the rule fixed in the code before this run, ``TIE_KEEPS``, keeps the plain network,
# the simpler recipe. The output says which case this run is.
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
model, history, training_seconds = runs[kept]
images_seen = N_EPOCHS * (len(train_labels) // BATCH_SIZE) * BATCH_SIZE
print(
    f"kept: the {kept} network, trained in {training_seconds:.1f} s "
    f"({images_seen / training_seconds:,.0f} images/s)"
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
# price of a second forward pass. Whether that helps is a choice, so the validation
# set decides, by the same paired comparison: the mirror images are used only if they
# raise the validation accuracy by more than the noise; within noise, the single
# pass, which costs half as much, is kept.
alone = scores[kept]["val"]
mirrored = score(model, val_images, val_labels, precision, mirror=True)
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
test = score(model, data.test.images, data.test.labels, precision, mirror=use_mirror)
test_accuracy, predicted = test.accuracy, test.predictions
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
print(f"precision: {precision}, parameters: {sum(p.numel() for p in model.parameters()):,}")
print(
    f"training time: {training_seconds:.1f} s for {N_EPOCHS} epochs "
    f"({images_seen / training_seconds:,.0f} images/s)"
)
print(f"test accuracy: {test_accuracy:.4f}")
