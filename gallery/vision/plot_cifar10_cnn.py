r"""
A CNN for CIFAR-10 on a CPU
===========================

A small convolutional network learns to tell apart the ten classes of CIFAR-10
(airplanes, cars, birds, cats, deer, dogs, frogs, horses, ships and trucks), trained
on the CPU of a small machine. The data is prepared as in :doc:`plot_cifar10_data`.
You will learn:

* how convolution, pooling, batch normalization and ReLU stack into a small network,
  and where its work is;
* how to choose between float32 and bfloat16 by timing both;
* what a one-cycle schedule and label smoothing do in a training run of a few epochs;
* how to set up a fair test of augmentation: two networks from the same initial
  weights, one trained on augmented images and one on the plain images.

Both networks are saved; :doc:`plot_cifar10_cnn_test` lets the validation set choose
between them, scores the test set once and looks at the mistakes.
"""

# %%
# Setup
# -----
# All settings are here. The authors set the widths, epochs, batch size, learning rate
# and crop padding by hand, from runs on the validation split that this page does not
# show; the precision is chosen by measurement below. The tests run this script with
# ``SUBSET`` and the network small.
import itertools
import math
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import timing_difference
from pytorch_examples.data.cifar10 import channel_stats, load_cifar10, normalize, random_crop_flip
from pytorch_examples.evaluation import Evaluation, eval_mode, evaluate
from pytorch_examples.results import results_dir

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
SAVED_FILE = "cifar10_cnn.pt"  # both networks, for the page that chooses and tests

torch.manual_seed(SEED)  # the split, the weights, the shuffles and the augmentation
started = time.perf_counter()
data = load_cifar10()
print(f"loaded in {time.perf_counter() - started:.1f} s from {data.describe_source()}")

# %%
# The data
# --------
# As on :doc:`plot_cifar10_data`: a random 5,000 training images are held out for
# validation; the test set is left for :doc:`plot_cifar10_cnn_test`. The images stay
# ``uint8``, are augmented by the batched crop and flip taught there (a shift of up to
# ``CROP_PADDING`` pixels, a mirror image with probability 1/2), and are standardized
# and stored ``channels_last`` (faster CPU convolutions) just before entering the
# network. A JPEG copy of the data, as the setup may have printed, has other pixels
# than the canonical CIFAR-10, and so may give other accuracies.
order = torch.randperm(len(data.train.labels))
val_index, train_index = order[:N_VALIDATION], order[N_VALIDATION:][:SUBSET]
train_images, train_labels = data.train.images[train_index], data.train.labels[train_index]
val_images, val_labels = data.train.images[val_index], data.train.labels[val_index]
print(f"train {tuple(train_images.shape)}, validation {tuple(val_images.shape)}")
mean, std = channel_stats(train_images)


def to_input(images: torch.Tensor) -> torch.Tensor:
    return normalize(images, mean, std).contiguous(memory_format=torch.channels_last)


# %%
# The network
# -----------
# Three stages. Each starts with a 3x3 convolution, 2x2 max pooling, batch
# normalization and ReLU; the second and third add a 3x3 convolution, batch
# normalization and ReLU at the pooled size. :doc:`plot_convolution_layers` writes out
# what these layers compute: a convolution shares a few weights across the whole image,
# each pooling widens the patch that later filters see, and batch normalization
# subtracts each channel's mean, which removes any bias a convolution could add (the
# batch norm's own ``bias`` takes its place). ReLU zeroes the negative values. Pooling
# straight after the convolution leaves the normalization and ReLU a quarter of the
# pixels to process: cheaper than pooling after the ReLU, though not identical, since
# the normalization's statistics are then taken over the pooled values. Global max
# pooling then keeps each final channel's strongest response anywhere in the image,
# and a linear layer maps those to ten class scores. The network is made of PyTorch's
# own layers only, so that another page can load it without this page's code.
def conv_bn_relu(in_channels: int, out_channels: int, pool: bool) -> list[nn.Module]:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
    pooling = [nn.MaxPool2d(2)] if pool else []
    return [conv, *pooling, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


def new_model(widths: tuple[int, ...] = WIDTHS, n_classes: int = 10) -> nn.Sequential:
    layers = conv_bn_relu(3, widths[0], pool=True)
    for in_channels, width in itertools.pairwise(widths):
        layers += conv_bn_relu(in_channels, width, pool=True)
        layers += conv_bn_relu(width, width, pool=False)
    head = [nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(widths[-1], n_classes)]
    return nn.Sequential(*layers, *head).to(memory_format=torch.channels_last)


model = new_model()
print(model)
print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")

# %%
# The first stage is narrow: it works on full-size images, and each of its filters
# sees only 27 numbers (3 x 3 pixels of 3 colours). Counting one multiplication per
# output value and weight, for one image, shows where the work is.
multiplications = []
with torch.no_grad(), eval_mode(model):
    x = to_input(train_images[:1])
    for layer in model:
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
# says whether this processor has either x86 instruction set. Rather than assume, the
# page times a few training steps in each precision, taking turns so that a change in
# the machine's load hits both alike, and chooses bfloat16 only if its steps are faster
# by more than the noise (:func:`~pytorch_examples.comparison.timing_difference`);
# otherwise it keeps float32, the default.
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
        name: torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9) for name, m in models.items()
    }
    seconds = {precision: [] for precision in precisions}
    for _ in range(1 + N_TIMING_STEPS):
        for precision in precisions:
            batch = random_crop_flip(images, CROP_PADDING)
            started = time.perf_counter()
            train_step(models[precision], optimizers[precision], batch, labels, precision)
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
# momentum the opposite way, lowest when the rate peaks, so that the steps do not grow
# too large while the rate is high. Label smoothing spreads ``LABEL_SMOOTHING`` of each
# target evenly over the ten classes, so the true class is asked for the probability
# printed below instead of 1, which curbs overconfidence. After each epoch the
# validation set is scored in evaluation mode, outside the training time, with
# :func:`~pytorch_examples.evaluation.evaluate`. To measure what augmentation does, a
# second network then trains the same way and from the same initial weights, but on
# the plain images.
print(f"target probability of the true class: {1 - LABEL_SMOOTHING + LABEL_SMOOTHING / 10:.2f}")


def score(model, images, labels) -> Evaluation:
    """Loss, accuracy and predictions in evaluation mode, in the chosen precision."""
    with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bfloat16"):
        return evaluate(model, images, labels, batch_size=EVAL_BATCH_SIZE, prepare=to_input)


def train(augmented: bool):
    """Train a new model; return it, its per-epoch history and the training time."""
    torch.manual_seed(SEED)  # the same initial weights for both runs
    model = new_model()
    sgd = {"momentum": 0.9, "nesterov": True, "weight_decay": WEIGHT_DECAY}
    optimizer = torch.optim.SGD(model.parameters(), MAX_LEARNING_RATE, **sgd)
    steps_per_epoch = len(train_labels) // BATCH_SIZE
    schedule = torch.optim.lr_scheduler.OneCycleLR(  # it sets the momentum too
        optimizer, MAX_LEARNING_RATE, total_steps=N_EPOCHS * steps_per_epoch, pct_start=0.25
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
            images = random_crop_flip(images, CROP_PADDING) if augmented else images
            loss, logits = train_step(model, optimizer, images, labels, precision)
            schedule.step()
            losses.append(loss)
            correct += (logits.argmax(dim=1) == labels).sum().item()
        seconds += time.perf_counter() - started
        history["train_loss"].append(torch.stack(losses).mean().item())
        history["train_accuracy"].append(correct / (steps_per_epoch * BATCH_SIZE))
        val = score(model, val_images, val_labels)
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
# The training numbers cannot be set against the validation numbers: they are
# averages over each epoch while the weights still changed, in training mode, and for
# the augmented network over augmented images. Read each curve against itself;
# :doc:`plot_cifar10_cnn_test` compares the two networks on equal terms.
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

# %%
# Result
# ------
# Both networks are saved whole, with the precision they trained in, the channel
# statistics their inputs are standardized with and the validation split, for
# :doc:`plot_cifar10_cnn_test`, which chooses between them on the validation set and
# scores the test set once; the test set is still untouched.
images_seen = N_EPOCHS * (len(train_labels) // BATCH_SIZE) * BATCH_SIZE
print(f"precision: {precision}, parameters: {sum(p.numel() for p in model.parameters()):,}")
for name, (_, run, seconds) in runs.items():
    print(
        f"{name:>9}: trained in {seconds:.1f} s for {N_EPOCHS} epochs, "
        f"{images_seen / seconds:,.0f} images/s; validation accuracy {run['val_accuracy'][-1]:.4f}"
    )
saved = results_dir() / SAVED_FILE
saved.parent.mkdir(parents=True, exist_ok=True)
networks = {name: model for name, (model, _, _) in runs.items()}
training_seconds = {name: seconds for name, (_, _, seconds) in runs.items()}
torch.save(
    {
        "networks": networks,
        "seconds": training_seconds,
        "images_seen": images_seen,
        "precision": precision,
        "mean": mean,
        "std": std,
        "val_index": val_index,
        "seen_index": train_index[:N_VALIDATION],  # training images to measure the fit on
    },
    saved,
)
print(f"saved to {saved.name}")
