r"""
Fast CIFAR-10 training on a GPU
===============================

.. only:: not gpu_examples_run

   .. warning::

      **This build did not run this example**, so the page shows its code without
      output. It needs a CUDA GPU. To run it, execute the script on a machine with
      one, or build the site there with ``PYTORCH_EXAMPLES_GPU=1 nox -s docs``.

The :ref:`CPU example <sphx_glr_auto_examples_vision_plot_cifar10_cnn.py>` trains a
small network for a few epochs. A GPU can afford a larger network and more epochs, if
the code keeps it busy (a GPU waiting for Python, the disk or copies is slow). This
page trains the nine-layer residual network of David Page's *How to train
your ResNet* series, which reached the 94 % test accuracy that the DAWNBench
competition set as its target. It aims at that accuracy with a subset of his
techniques and prints what it reaches. You will learn how to:

* keep the whole data set on the GPU as uint8, and crop, flip and normalize each batch
  there with a few tensor operations instead of per-image Python code;
* run the forward pass in 16-bit floats with :func:`torch.autocast`: bfloat16 where the
  GPU's tensor cores compute it, else float16 with a gradient scaler where they exist;
  and store images and weights ``channels_last``, the layout tensor cores prefer;
* train with large batches, a one-cycle learning-rate schedule and label smoothing;
* optionally compile the model with :func:`torch.compile`;
* time GPU work honestly: warm up first, and synchronize before reading the clock.
"""

# %%
# Setup
# -----
# All settings are here. ``DEVICE`` is ``"cuda"``; the tests set it to ``"cpu"``, with
# ``SUBSET`` and the epochs small, to run this same script as a quick check.
import copy
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.comparison import accuracy_difference
from pytorch_examples.data.cifar10 import channel_stats, load_cifar10, normalize, random_crop_flip
from pytorch_examples.evaluation import Evaluation, eval_mode, evaluate

# sphinx_gallery_cited_numbers = {"94": "DAWNBench target, Page's net", "7.5": "T4, NVIDIA's list"}

DEVICE = "cuda"
SEED = 0
SUBSET = None  # use only this many training and test images (a quick check); None: all
N_VALIDATION = 5000  # training images held out to watch training and make choices
N_EPOCHS = 12
BATCH_SIZE = 512
EVAL_BATCH_SIZE = 1000
MAX_LEARNING_RATE = 0.2
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.2
WIDTH = 64  # channels of the first layer; later layers have 2, 4 and 8 times as many
CROP_PADDING = 4
WARMUP_STEPS = 20
COMPILE = False
TARGET_ACCURACY = 0.94
# Compute capabilities: tensor cores compute float16 from Volta on, bfloat16 from Ampere on.
FLOAT16_TENSOR_CORES = (7, 0)
BFLOAT16_TENSOR_CORES = (8, 0)

if DEVICE == "cuda" and not torch.cuda.is_available():
    raise RuntimeError(
        f"This example needs a CUDA GPU, but PyTorch {torch.__version__} sees none. "
        "Run it on a machine with an NVIDIA GPU and a CUDA build of PyTorch."
    )
device = torch.device(DEVICE)
torch.manual_seed(SEED)  # seeds the CPU and every GPU: split, weights, shuffles, crops
torch.backends.cudnn.benchmark = True  # let cuDNN time its kernels once and keep the best


def autocast_dtype_for(device: torch.device) -> torch.dtype:
    """bfloat16, unless the device is a GPU whose tensor cores lack it: float16 on Volta
    and Turing, float32 (autocast off) on older GPUs, which have no tensor cores."""
    # Not torch.cuda.is_bf16_supported(): by default it also says yes where bfloat16
    # is only emulated, as on a T4.
    if device.type == "cuda" and torch.cuda.get_device_capability(device) < FLOAT16_TENSOR_CORES:
        return torch.float32
    if device.type == "cuda" and torch.cuda.get_device_capability(device) < BFLOAT16_TENSOR_CORES:
        return torch.float16
    return torch.bfloat16


autocast_dtype = autocast_dtype_for(device)
use_autocast = autocast_dtype != torch.float32
if device.type == "cuda":
    major, minor = torch.cuda.get_device_capability(device)
    print(f"{torch.cuda.get_device_name(device)}, compute capability {major}.{minor}")
else:
    print("CPU")
print(f"autocast in {autocast_dtype}")

# %%
# The data, on the GPU once
# -------------------------
# A validation set is split off the training images once. The settings at the top are
# not tuned here; the validation set draws the learning curves and decides the page's
# one choice, below, and the test set is scored once, at the end. All images are copied
# to the GPU as uint8, four times smaller than float32, and stay there. The first line
# printed says whether they are a JPEG re-encoding, whose pixels differ from those of
# the canonical CIFAR-10 that published accuracies were measured on.
data = load_cifar10()
print(data.describe_source())
n_used = None if SUBSET is None else N_VALIDATION + SUBSET  # None: all
order = torch.randperm(len(data.train.labels))[:n_used]
val_index, train_index = order[:N_VALIDATION], order[N_VALIDATION:]
test_index = torch.randperm(len(data.test.labels))[:SUBSET]  # the order does not matter
train_images = data.train.images[train_index].to(device)
train_labels = data.train.labels[train_index].to(device)
val_images = data.train.images[val_index].to(device)
val_labels = data.train.labels[val_index].to(device)
test_images = data.test.images[test_index].to(device)
test_labels = data.test.labels[test_index].to(device)
mean, std = channel_stats(train_images)  # of the training images only
print(
    f"train {len(train_labels):,}, validation {len(val_labels):,}, test {len(test_labels):,} "
    f"images; {train_images.numel() / 1e6:.0f} MB of training images on the {device.type}"
)


# %%
# Each batch is augmented on the GPU by the batched crop and flip taught on
# :doc:`plot_cifar10_data` (:func:`~pytorch_examples.data.cifar10.random_crop_flip`):
# one indexing operation for the whole batch, no Python loop over images.
def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 images to standardized floats in the channels_last layout."""
    return normalize(images, mean, std).contiguous(memory_format=torch.channels_last)


# %%
# The network
# -----------
# Page's nine layers: a first convolution, then three stages that each widen the
# channels and halve the image with max pooling; the first and last stage add a
# residual pair of convolutions, which learns a correction to its input. Global max
# pooling and a linear layer give the ten class scores. As in Page's network, the
# scores are multiplied by ``0.125``, which makes the softmax softer and the gradients
# reaching the last layer eight times smaller.


def conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    # No bias: batch normalization's shift takes its place.
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.inner = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.inner(x)


class ResNet9(nn.Module):
    def __init__(self, width: int, n_classes: int = 10) -> None:
        super().__init__()
        stage_1 = [conv_bn(width, 2 * width), nn.MaxPool2d(2), Residual(2 * width)]
        stage_2 = [conv_bn(2 * width, 4 * width), nn.MaxPool2d(2)]
        stage_3 = [conv_bn(4 * width, 8 * width), nn.MaxPool2d(2), Residual(8 * width)]
        self.layers = nn.Sequential(conv_bn(3, width), *stage_1, *stage_2, *stage_3)
        self.head = nn.Linear(8 * width, n_classes, bias=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(torch.amax(self.layers(images), dim=(2, 3))) * 0.125


model = ResNet9(WIDTH).to(device=device, memory_format=torch.channels_last)
# The compiled model shares its weights with ``model``; only training steps use it.
train_model = torch.compile(model) if COMPILE else model
print(f"parameters: {sum(p.numel() for p in model.parameters()):,}")

# %%
# Training
# --------
# One step runs the forward pass under :func:`torch.autocast`: matrix products and
# convolutions compute in a 16-bit format on the tensor cores, while the weights and
# the loss stay float32. Tensor cores compute bfloat16, which has float32's range, from
# compute capability ``(8, 0)`` (Ampere) on. From 7.0 (Volta, and Turing such as the
# T4, 7.5, that free notebook services offer) they compute float16 only, and gradients
# smaller than its smallest normal number, printed below, lose their precision or
# become zero. So there a gradient scaler multiplies the loss by a large factor before
# the backward pass and divides the gradients by it again before the step; where a
# gradient overflows, it skips that step and lowers the factor, and after a run of good
# steps it raises it again. Elsewhere the scaler is off and its calls pass straight
# through. Below 7.0 there are no tensor cores, and the page trains in float32 with
# autocast off. The loss stays on the GPU: calling ``.item()`` each step would make
# Python wait for the GPU every time.
for dtype in (torch.float16, torch.bfloat16):
    print(f"{dtype}: smallest normal number {torch.finfo(dtype).tiny:.1e}")
scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16)


def train_step(images, labels, optimizer):
    inputs = to_input(random_crop_flip(images, CROP_PADDING))
    with torch.autocast(device.type, autocast_dtype, enabled=use_autocast):
        logits = train_model(inputs)
    loss = F.cross_entropy(logits.float(), labels, label_smoothing=LABEL_SMOOTHING)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(optimizer)  # unscales the gradients; skips the step if any is inf or nan
    scaler.update()
    return loss.detach()


def score(images, labels, mirror_average=False) -> Evaluation:
    """Loss, accuracy and predictions in evaluation mode and under autocast, optionally
    averaging each image's scores with its mirror image's."""

    def class_scores(inputs: torch.Tensor) -> torch.Tensor:
        logits = model(inputs).float()
        return (logits + model(inputs.flip(3)).float()) / 2 if mirror_average else logits

    with eval_mode(model), torch.autocast(device.type, autocast_dtype, enabled=use_autocast):
        return evaluate(class_scores, images, labels, batch_size=EVAL_BATCH_SIZE, prepare=to_input)


# %%
# The first steps pay one-time costs: the CUDA context, cuDNN's search for the fastest
# kernels, and compilation when ``COMPILE`` is on. Warm-up steps pay them before the
# clock starts; then the initial weights are restored, so that the timed run trains
# from scratch (the gradient scaler keeps the factor the warm-up left it).
initial_weights = copy.deepcopy(model.state_dict())
warmup_optimizer = torch.optim.SGD(model.parameters(), lr=MAX_LEARNING_RATE)
for _ in range(WARMUP_STEPS):
    index = torch.randint(len(train_labels), (BATCH_SIZE,), device=device)
    train_step(train_images[index], train_labels[index], warmup_optimizer)
model.load_state_dict(initial_weights)


# %%
# SGD with Nesterov momentum follows a one-cycle schedule: the learning rate climbs for
# the first quarter of the steps and then falls to nearly zero. Label smoothing spreads
# a share (``LABEL_SMOOTHING``) of each target's probability evenly over all classes,
# which curbs overconfidence. The GPU runs queued work while Python moves on, so a
# clock read right after a call measures only the queueing: the clock is read after
# :func:`torch.cuda.synchronize`, which waits for the queue to empty, and is stopped
# while the validation set is scored after each epoch.
def wait_for_device() -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


steps_per_epoch = len(train_labels) // BATCH_SIZE  # the last partial batch is dropped
optimizer = torch.optim.SGD(
    model.parameters(), MAX_LEARNING_RATE, momentum=0.9, nesterov=True, weight_decay=WEIGHT_DECAY
)
schedule = torch.optim.lr_scheduler.OneCycleLR(
    optimizer, max_lr=MAX_LEARNING_RATE, total_steps=N_EPOCHS * steps_per_epoch, pct_start=0.25
)
history = {"train_loss": [], "val_loss": [], "val_accuracy": []}
training_seconds = 0.0
for epoch in range(1, N_EPOCHS + 1):
    wait_for_device()
    started = time.perf_counter()
    shuffled = torch.randperm(len(train_labels), device=device)
    losses = torch.empty(steps_per_epoch, device=device)
    for step in range(steps_per_epoch):
        index = shuffled[step * BATCH_SIZE : (step + 1) * BATCH_SIZE]
        losses[step] = train_step(train_images[index], train_labels[index], optimizer)
        schedule.step()
    wait_for_device()
    training_seconds += time.perf_counter() - started
    val = score(val_images, val_labels)
    history["train_loss"].append(losses.mean().item())
    history["val_loss"].append(val.loss)
    history["val_accuracy"].append(val.accuracy)
    print(
        f"epoch {epoch:2d}: train loss {history['train_loss'][-1]:.3f} | validation loss "
        f"{val.loss:.3f} accuracy {val.accuracy:.4f} | {training_seconds:.1f} s"
    )
images_per_second = N_EPOCHS * steps_per_epoch * BATCH_SIZE / training_seconds
print(f"training: {training_seconds:.1f} s, {images_per_second:,.0f} images/s")
check(
    history["train_loss"][-1] < history["train_loss"][0],
    "the training loss of the last epoch is below that of the first",
)

# %%
# The two losses measure different things: the training loss is averaged over an
# epoch of augmented images with smoothed labels while the weights change, the
# validation loss is taken on the finished epoch's weights, without either. Read each
# curve against itself, over the epochs: the training loss of the last epoch is below
# that of the first, as checked above.
epochs = range(1, N_EPOCHS + 1)
fig, (ax_loss, ax_accuracy) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
ax_loss.plot(epochs, history["train_loss"], marker="o", label="train (smoothed labels)")
ax_loss.plot(epochs, history["val_loss"], marker="o", label="validation")
ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
ax_loss.legend()
ax_accuracy.plot(epochs, history["val_accuracy"], marker="o", color="C1")
ax_accuracy.set(xlabel="epoch", ylabel="accuracy", title="validation accuracy")
plt.show()

# %%
# Result
# ------
# Averaging the scores of each image and its mirror image (test-time augmentation)
# costs a second forward pass. The validation set decides whether it is used: only
# the images on which the two ways disagree move the difference, and it is used only
# if it is higher by more than the noise (:mod:`pytorch_examples.comparison`). Within
# the noise the rule, fixed before the run, keeps the cheaper single pass. Then the
# test set is scored, once.
plain, mirrored = score(val_images, val_labels), score(val_images, val_labels, True)
val_labels_cpu = val_labels.cpu()  # where evaluate returns the predictions
mirror_gain = accuracy_difference(mirrored.predictions, plain.predictions, val_labels_cpu)
plain_right = plain.predictions == val_labels_cpu
mirrored_right = mirrored.predictions == val_labels_cpu
use_mirror = mirror_gain.a_higher()
print(
    f"validation accuracy {plain.accuracy:.4f}, with mirror averaging {mirrored.accuracy:.4f}; "
    f"right only with it: {(mirrored_right & ~plain_right).sum().item()}, only without: "
    f"{(plain_right & ~mirrored_right).sum().item()}\n"
    f"{mirror_gain.describe('mirror averaging', 'single pass')}: "
    f"mirror averaging {'on' if use_mirror else 'off'}"
)
test = score(test_images, test_labels, mirror_average=use_mirror)
print(
    f"test loss {test.loss:.3f}, test accuracy {test.accuracy:.4f} "
    f"(the target of the speed runs: {TARGET_ACCURACY})"
)
