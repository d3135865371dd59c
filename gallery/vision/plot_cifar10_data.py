r"""
CIFAR-10 as tensors
===================

CIFAR-10 holds 60,000 photos of 32 x 32 pixels in ten classes: airplanes, cars,
birds, cats, deer, dogs, frogs, horses, ships and trucks. Before a network can learn
from them they must be split, stored and fed to it in batches. This page prepares
them the way this section's CPU page,
:ref:`sphx_glr_auto_examples_vision_plot_cifar10_cnn.py`, which trains a CNN, uses them.
You will learn:

* why a validation split is drawn at random from the training images, and why the
  test set is kept for the very end;
* how to hold all the images as one uint8 tensor and standardize them batch by batch;
* how to crop and flip a whole batch at once with a few tensor operations.

The data comes from the data directory (``$PYTORCH_EXAMPLES_DATA``, else it is
downloaded with torchvision); decoding is done once and cached. The first line of
output names the source; when it is a JPEG copy, as in the project's offline data for
machines without internet, it says so, since JPEG re-encoding changes pixel values.
"""

# %%
# Setup
# -----
import time

import matplotlib.pyplot as plt
import torch
from torch.nn import functional as F

from pytorch_examples.claims import check
from pytorch_examples.data.cifar10 import CLASSES, load_cifar10
from pytorch_examples.plotting import plot_image_grid

SEED = 0
# As on the CNN page, which uses these images; a test keeps the two pages equal.
N_VALIDATION = 5_000  # training images held out to watch training and make choices
CROP_PADDING = 2  # largest shift of a random crop, in pixels
BATCH_SIZE = 128
N_SAMPLE_IMAGES = 16

torch.manual_seed(SEED)  # the split and the augmentation
started = time.perf_counter()
data = load_cifar10()
print(f"loaded in {time.perf_counter() - started:.1f} s from {data.describe_source()}")
print(
    f"{len(data.train.labels) + len(data.test.labels):,} images: training "
    f"{tuple(data.train.images.shape)} {data.train.images.dtype}, "
    f"test {tuple(data.test.images.shape)}"
)

# %%
# Three splits
# ------------
# A model is trained on one set of images, and every choice about it (how long to
# train, which variant to keep) is made on a second, the **validation** set. The
# **test** set is scored once, at the very end: an accuracy that no choice has been
# tuned to is an honest estimate for new images. The validation images are drawn
# from the training images at random, because files are often stored sorted by class
# (the first labels printed below show how they are stored here).
print(f"first training labels: {data.train.labels[:N_SAMPLE_IMAGES].tolist()}")
order = torch.randperm(len(data.train.labels))
val_index, train_index = order[:N_VALIDATION], order[N_VALIDATION:]
train_images, train_labels = data.train.images[train_index], data.train.labels[train_index]
val_images, val_labels = data.train.images[val_index], data.train.labels[val_index]
val_counts = torch.bincount(val_labels, minlength=len(CLASSES))
print(
    f"training {len(train_labels):,}, validation {len(val_labels):,} images; "
    f"validation images per class: {val_counts.tolist()}"
)
check(
    not set(train_index.tolist()) & set(val_index.tolist()),
    "no image is in both the training and the validation set",
)

# %%
# A look at the data
# ------------------
# One image of each class, and then a random sample of the training images (the
# first ones after the shuffle):
first_of_class = [int(torch.nonzero(train_labels == label)[0]) for label in range(len(CLASSES))]
fig = plot_image_grid(train_images[first_of_class], list(CLASSES), n_columns=len(CLASSES))
plt.show()
fig = plot_image_grid(
    train_images[:N_SAMPLE_IMAGES], [CLASSES[label] for label in train_labels[:N_SAMPLE_IMAGES]]
)
plt.show()

# %%
# Bytes and batches
# -----------------
# Each pixel is stored as it comes, one ``uint8`` per colour channel. As float32 the
# same tensor would take four times the memory, so the conversion is made one batch
# at a time, right before the batch enters the network. The conversion also
# **standardizes** each colour channel, subtracting its mean and dividing by its
# standard deviation, which puts every input on the scale the network's initial
# weights expect. The statistics come from the training images only: nothing about
# the validation or test images may leak into what the model uses.
print(
    f"training images: {train_images.nbytes / 1e6:.0f} MB as uint8, "
    f"{4 * train_images.nbytes / 1e6:.0f} MB as float32"
)
scaled = train_images.float() / 255
mean, std = scaled.mean(dim=(0, 2, 3), keepdim=True), scaled.std(dim=(0, 2, 3), keepdim=True)
del scaled
print(
    f"channel means {mean.flatten().numpy().round(3)}, "
    f"standard deviations {std.flatten().numpy().round(3)}"
)


def to_input(images: torch.Tensor) -> torch.Tensor:
    """Standardize uint8 images, stored channels_last (faster CPU convolutions)."""
    return ((images.float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)


standardized = to_input(train_images[:BATCH_SIZE])
print(
    f"a standardized batch: {standardized.dtype}, mean {standardized.mean():.3f}, "
    f"standard deviation {standardized.std():.3f}"
)


# %%
# Augmentation in batches
# -----------------------
# A network that sees the same pixels in every epoch starts to memorize them. Random
# **crops** and horizontal **flips** show it a slightly different picture each time
# under the same label: a cat shifted by a few pixels, or mirrored, is still a cat.
# A crop pads the image with ``CROP_PADDING`` black pixels on every side and cuts a
# 32 x 32 window at a random position, which shifts the content by up to
# ``CROP_PADDING`` pixels each way.
#
# A Python loop would crop one image at a time. Instead the whole batch is cropped by
# one indexing operation: ``rows[i, 0, y, 0]`` is the padded row that row ``y`` of
# image ``i`` comes from, ``cols[i, 0, 0, x]`` the padded column of column ``x``, and
# indexing with tensors that broadcast to the batch's shape gathers every window at
# once. A random half of the batch is then mirrored.
# Written out here because this page teaches it; the other pages call the library's
# random_crop_flip, the same steps with the same random draws (a test holds them equal).
def augment(images: torch.Tensor) -> torch.Tensor:
    """Shift each uint8 image by up to CROP_PADDING pixels; mirror each with probability 1/2."""
    n, channels, height, width = images.shape
    padded = F.pad(images, (CROP_PADDING,) * 4)
    shift_y, shift_x = torch.randint(0, 2 * CROP_PADDING + 1, (2, n, 1, 1, 1))
    rows = shift_y + torch.arange(height).view(height, 1)  # shape (n, 1, height, 1)
    cols = shift_x + torch.arange(width)  # shape (n, 1, 1, width)
    batch, channel = torch.arange(n).view(n, 1, 1, 1), torch.arange(channels).view(-1, 1, 1)
    cropped = padded[batch, channel, rows, cols]
    flip = torch.rand(n) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), cropped.flip(3), cropped)


examples = train_images[:8]
fig = plot_image_grid(
    torch.cat([examples, augment(examples), augment(examples)]),
    ["original"] * 8 + ["augmented"] * 16,
)
plt.show()

# %%
# Each column shows one image and two random versions of it. Every training batch
# is augmented afresh, so the time one batch takes is worth knowing:
augmented = augment(train_images[:BATCH_SIZE])
started = time.perf_counter()
for _ in range(10):
    augment(train_images[:BATCH_SIZE])
print(
    f"{augmented.shape[0]} images {tuple(augmented.shape[1:])} {augmented.dtype} in "
    f"{(time.perf_counter() - started) / 10 * 1e3:.1f} ms per batch"
)
