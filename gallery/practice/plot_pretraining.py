r"""
Pretraining a network to adapt
==============================

Pretrained weights cannot be downloaded while this site is built, so the site
pretrains its own: a small convolutional network learns CIFAR-10's six animal classes,
and the next pages adapt it to the four vehicle classes from a few labelled images of
each. This page sets up that experiment. You will learn:

* how to cut a source task, a target task with few labels, a validation set and a test
  set from one data set, and why the validation set is several times the labelled set;
* how to build a network in two named parts, a ``body`` that computes features and a
  ``head`` that turns them into class scores, so that the head can be replaced;
* how to save a trained network, its splits and its preprocessing for the next pages.

:doc:`plot_fine_tuning` compares ways to adapt the network saved here.
"""

# %%
# Setup
# -----
# One shuffle of CIFAR-10's training images is cut per class: the source task is every
# image of the six animals; the target's labelled set is the first
# ``N_TARGET_PER_CLASS`` images of each vehicle; its validation set, which makes every
# choice on the next pages, the next ``N_VAL_PER_CLASS``. The network and its
# pretraining are given, not chosen here: those of :doc:`../vision/plot_cifar10_cnn`
# (its widths, epochs and peak rate were set on validation there), narrower and
# trained for fewer epochs to fit this site's build time, without label smoothing. The
# tests run the page smaller.
import itertools
import math
from collections import OrderedDict

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
from pytorch_examples.evaluation import evaluate
from pytorch_examples.results import results_dir

SEED = 0
SOURCE_CLASSES = ("bird", "cat", "deer", "dog", "frog", "horse")
TARGET_CLASSES = ("airplane", "automobile", "ship", "truck")
N_SOURCE_PER_CLASS = None  # source images per class for pretraining; None: all
N_TARGET_PER_CLASS = 100
N_VAL_PER_CLASS = 500
WIDTHS = (16, 32, 64)  # channels of the three stages
CROP_PADDING = 2
PRETRAIN_EPOCHS = 3
PRETRAIN_BATCH_SIZE = 128
PRETRAIN_LR = 0.2  # peak of a one-cycle schedule
SAVED_FILE = "pretrained.pt"  # read by plot_fine_tuning.py and plot_lora_rank_and_rate.py

torch.manual_seed(SEED)  # the split, the weights, the shuffles and the augmentation
data = load_cifar10()
print(data.describe_source())


def pick(split, class_names, start=0, stop=None, order=None):
    """Indices, images and labels (0, 1, ...) of the named classes: ``start:stop`` of each."""
    order = torch.arange(len(split.labels)) if order is None else order
    index = [order[split.labels[order] == CLASSES.index(name)][start:stop] for name in class_names]
    labels = torch.cat([torch.full((len(i),), k) for k, i in enumerate(index)])
    return torch.cat(index), split.images[torch.cat(index)], labels


order = torch.randperm(len(data.train.labels))  # one shuffle of the training images
n_target, n_val = N_TARGET_PER_CLASS, N_VAL_PER_CLASS
source = pick(data.train, SOURCE_CLASSES, 0, N_SOURCE_PER_CLASS, order)
target_index, target_images, target_labels = pick(data.train, TARGET_CLASSES, 0, n_target, order)
val_index, val_images, val_labels = pick(
    data.train, TARGET_CLASSES, n_target, n_target + n_val, order
)
test_index, test_images, test_labels = pick(data.test, TARGET_CLASSES)
print(
    f"source {len(source[0])}, target {len(target_labels)}, "
    f"validation {len(val_labels)}, test {len(test_labels)} images"
)
check(
    not set(target_index.tolist()) & set(val_index.tolist()),
    "no image is both in the target's labelled set and in its validation set",
)

# %%
# The validation set is several times the labelled set because the next pages measure
# small differences on it: a measuring device for these pages, not advice for a task
# with few labels. A standard error goes as one over the square root of the number of
# images, so a validation set the labelled set's size would give errors about the
# factor printed below larger. Images are standardized with the source
# images' channel statistics: the pretrained network's own, as ImageNet's are those of
# torchvision's pretrained weights.
se_factor = math.sqrt(len(val_labels) / len(target_labels))
print(f"standard errors with a validation set the labelled set's size: about x{se_factor:.1f}")
mean, std = channel_stats(source[1])
print(f"source channel means {mean.numpy().round(3)}, standard deviations {std.numpy().round(3)}")


def to_input(images):
    return normalize(images, mean, std).contiguous(memory_format=torch.channels_last)


# %%
# The network
# -----------
# The network of :doc:`../vision/plot_cifar10_cnn`, narrower, in two named parts: a
# ``body`` of three stages that turns an image into ``WIDTHS[-1]`` features, and a
# linear ``head`` that turns those into class scores. The body is what transfers; the
# head belongs to its classes and is replaced.
def conv_bn_relu(in_channels, out_channels, pool):
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)
    pooling = [nn.MaxPool2d(2)] if pool else []
    return [conv, *pooling, nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]


def new_model(n_classes):
    stages = [nn.Sequential(*conv_bn_relu(3, WIDTHS[0], pool=True))]
    for in_channels, width in itertools.pairwise(WIDTHS):
        layers = conv_bn_relu(in_channels, width, pool=True) + conv_bn_relu(width, width, False)
        stages.append(nn.Sequential(*layers))
    body = nn.Sequential(*stages, nn.AdaptiveMaxPool2d(1), nn.Flatten())
    model = nn.Sequential(OrderedDict(body=body, head=nn.Linear(WIDTHS[-1], n_classes)))
    return model.to(memory_format=torch.channels_last)


pretrained = new_model(len(SOURCE_CLASSES))
n_body = sum(p.numel() for p in pretrained.body.parameters())
n_head = sum(p.numel() for p in pretrained.head.parameters())
print(f"body {n_body:,} parameters, head {n_head:,}")


# %%
# Pretraining
# -----------
# As on the vision page: SGD with Nesterov momentum and a one-cycle schedule (the rate
# rises to ``PRETRAIN_LR`` over the first quarter of the steps, then falls to almost
# nothing), on images shifted and mirrored at random.
def sgd(params, lr):
    # OneCycleLR (cycle_momentum=True) replaces this momentum: 0.95 down to 0.85 and back
    return torch.optim.SGD(params, lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


def train(model, optimizer, images, labels, epochs, batch_size):
    """One-cycle SGD on augmented images."""
    steps_per_epoch = len(labels) // batch_size
    peaks = [group["lr"] for group in optimizer.param_groups]
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, peaks, total_steps=epochs * steps_per_epoch, pct_start=0.25
    )
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels))
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            batch = to_input(random_crop_flip(images[index], CROP_PADDING))
            loss = F.cross_entropy(model(batch), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model


optimizer = sgd(pretrained.parameters(), PRETRAIN_LR)
train(pretrained, optimizer, *source[1:], PRETRAIN_EPOCHS, PRETRAIN_BATCH_SIZE)

# %%
# The source task's test images are scored once, to show what the body learnt (well
# above chance, checked as more than twice chance); nothing on this page or the next
# ones is chosen by this score. The target's test images are
# left for :doc:`plot_fine_tuning`, which scores them once, at its end.
source_test = pick(data.test, SOURCE_CLASSES)
source_accuracy = evaluate(pretrained, *source_test[1:], batch_size=1000, prepare=to_input)
print(f"pretrained: accuracy {source_accuracy.accuracy:.4f} on the source task's test images")
chance = 1 / len(SOURCE_CLASSES)
check(source_accuracy.accuracy > 2 * chance, "the pretrained network beats twice chance")

# %%
# Saved for the next pages
# ------------------------
# The network is saved whole, with the indices and labels of the target's splits and
# the standardization it was trained with. The next pages load it with
# ``weights_only=True``, which builds only the classes they name as trusted (see
# :doc:`/auto_examples/scale/plot_checkpoints`).
saved = results_dir() / SAVED_FILE
saved.parent.mkdir(parents=True, exist_ok=True)
torch.save(
    {
        "pretrained": pretrained,
        "mean": mean,
        "std": std,
        "splits": {
            "target": (target_index, target_labels),
            "val": (val_index, val_labels),
            "test": (test_index, test_labels),
        },
        "target_classes": TARGET_CLASSES,
        "crop_padding": CROP_PADDING,
    },
    saved,
)
print(f"saved to {saved.name}")
