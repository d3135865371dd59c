r"""
Dataset, DataLoader and transforms
==================================

The CNN page holds CIFAR-10 as one decoded ``uint8`` tensor. PyTorch's usual input
pipeline works differently: a ``Dataset`` reads and decodes one image file when asked
for it, a ``transforms.v2`` pipeline augments it, and a ``DataLoader`` shuffles, batches
and spreads that work over worker processes. This page builds the pipeline over the
CIFAR-10 JPEG files and measures it. You will learn:

* how to write a ``Dataset`` that decodes lazily, and how it compares with
  torchvision's ``ImageFolder``;
* how to build an augmentation pipeline with ``transforms.v2``;
* what the ``DataLoader`` options do, and how to make its batches reproducible;
* how many images per second it delivers with 0, 1 and 2 workers, next to the
  decode-once tensor cache, and when the loader is what holds training back;
* how to time it: warm up, repeat, and call a difference within the noise a tie.
"""

# %%
# Setup
# -----
# The decode-once tensor cache is loaded first: its training images give the channel
# statistics for normalization, and it is the baseline the loader is measured against.
import os
import shutil
import time
from itertools import islice
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from pytorch_examples.claims import check
from pytorch_examples.comparison import timing_difference
from pytorch_examples.data.cifar10 import (
    CLASSES,
    channel_stats,
    load_cifar10,
    normalize,
    random_crop_flip,
)
from pytorch_examples.data.download import cache_dir, data_dir
from pytorch_examples.plotting import plot_image_grid
from pytorch_examples.reporting import format_table

# sphinx_gallery_cited_numbers = {"3.14": "Python release that made forkserver the default"}

SEED = 0
BATCH_SIZE = 128
PADDING = 2  # largest shift of the random crop, in pixels, as on the CIFAR-10 pages
N_AUGMENTED = 7  # augmented copies of one image in the figure
WORKER_COUNTS = (0, 1, 2)
N_WARMUP_BATCHES = 2  # untimed batches at the start of each measured stream
N_REPEATS = 5  # timed windows per source, alone and feeding training
BATCHES_PER_REPEAT = 2  # batches per timed window
START_METHOD = "fork"  # how worker processes start; see "Workers" below
LEARNING_RATE = 0.05
TRAINING_THREADS = 1  # threads of the timed training step; see "How fast?"

torch.manual_seed(SEED)
started = time.perf_counter()
cache = load_cifar10()
print(
    f"tensor cache: {tuple(cache.train.images.shape)} {cache.train.images.dtype}, "
    f"loaded in {time.perf_counter() - started:.1f} s"
)
# Every fifth image, for a fifth of the cost: normalization needs only rough values.
mean, std = channel_stats(cache.train.images[::5])


def jpeg_folder() -> Path:
    """The training images as files ``<root>/<class>/*.jpg``, written once if needed."""
    root = data_dir() / "cifar10" / "train"
    if root.is_dir():
        return root
    # Only torchvision's download (pickled arrays) is there: write JPEG files once.
    root = cache_dir() / "cifar10-jpeg" / "train"
    if not root.is_dir():
        partial = root.with_name("train.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name in CLASSES:
            (partial / name).mkdir(parents=True)
        for index, (image, label) in enumerate(
            zip(cache.train.images, cache.train.labels, strict=True)
        ):
            pixels = Image.fromarray(image.permute(1, 2, 0).numpy())
            pixels.save(partial / CLASSES[label] / f"{index:05d}.jpg", quality=95)
        partial.rename(root)  # a crash never leaves a folder that looks complete
    return root


# %%
# A Dataset that decodes lazily
# -----------------------------
# A map-style ``Dataset`` needs two methods: ``__len__`` and ``__getitem__``, which
# returns one example. The constructor only lists the files, so creating it is cheap
# and memory holds paths, not pixels; each image is read and decoded when it is asked
# for. A wrong path fails here, with a message that says what was expected.


class JpegFolder(Dataset):
    """Images in class folders, ``root/<class>/*.jpg``, decoded one at a time."""

    def __init__(self, root, classes, transform=None):
        root = Path(root)
        missing = [name for name in classes if not (root / name).is_dir()]
        if missing:
            raise FileNotFoundError(
                f"{root} has no folder for classes {missing}: expected one folder of "
                f".jpg files per class in {list(classes)}"
            )
        self.files = [
            (path, label)
            for label, name in enumerate(classes)
            for path in sorted((root / name).glob("*.jpg"))
        ]
        self.transform = transform

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path, label = self.files[index]
        with Image.open(path) as file:
            image = v2.functional.pil_to_tensor(file.convert("RGB"))  # uint8 (3, h, w)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


root = jpeg_folder()
dataset = JpegFolder(root, CLASSES)
image, label = dataset[0]
print(f"{len(dataset)} files; item 0: {tuple(image.shape)} {image.dtype}, label {label}")

# %%
# torchvision's ``ImageFolder`` does the same job for any folder of this layout: it
# finds the classes (folder names, sorted), lists the files, and opens each with
# Pillow. ``v2.ToImage()`` turns the Pillow image into a ``uint8`` tensor.
folder = ImageFolder(str(root), transform=v2.ToImage())
folder_image, folder_label = folder[0]
print(f"ImageFolder: {len(folder)} files, classes {folder.classes}")
difference = (folder_image.int() - image.int()).abs().max().item()
print(f"item 0: labels {folder_label} and {label}, largest pixel difference {difference}")
check(
    folder.classes == list(CLASSES)
    and [path for path, _ in folder.samples] == [str(path) for path, _ in dataset.files],
    "ImageFolder finds the same classes and files, in the same order",
)

# %%
# Augmentation with transforms.v2
# -------------------------------
# The training transform pads each image by ``PADDING`` pixels and cuts a random
# 32 x 32 window from it, flips it left to right half of the time, then converts it to
# float and standardizes each channel with the training statistics. Each call draws
# new random numbers, so the same photo comes out differently every epoch:
augment = v2.Compose([v2.RandomCrop(32, padding=PADDING), v2.RandomHorizontalFlip()])
standardize = v2.Normalize(mean.tolist(), std.tolist())
to_input = v2.Compose([v2.ToDtype(torch.float32, scale=True), standardize])

fig = plot_image_grid(
    torch.stack([image] + [augment(image) for _ in range(N_AUGMENTED)]),
    ["original"] + [f"augmented {k}" for k in range(1, N_AUGMENTED + 1)],
)
plt.show()

# %%
# The DataLoader
# --------------
# * ``batch_size`` examples are stacked into one tensor per batch;
# * ``shuffle`` draws a new order every epoch, from ``generator``, seeded here so the
#   order repeats;
# * ``num_workers`` processes call ``__getitem__`` in parallel, each preparing whole
#   batches ahead; with 0 the main process does it, between training steps;
# * ``persistent_workers`` keeps the workers alive from one epoch to the next instead
#   of starting them again;
# * ``pin_memory`` puts batches in page-locked memory, from which copies to a GPU are
#   faster, so it is on only when there is one.
#
# **Randomness.** In each worker, PyTorch seeds the global generators of torch, NumPy
# and Python's ``random`` from one base number drawn from ``generator`` and the worker's
# number (their sum for torch and ``random``, a hash of the two for NumPy). So the
# seeded ``generator`` alone makes the batches repeat, augmentation included; the check
# below compares the first batch of two loaders. What PyTorch cannot know about is state
# the dataset holds itself, such as a ``numpy.random.Generator`` made in ``__init__``:
# every worker gets an identical copy and would draw the same numbers. That is what
# ``worker_init_fn`` is for: a function each worker runs first, which can re-seed such
# state from ``torch.utils.data.get_worker_info().seed``. This page's transforms draw
# only from torch's global generator, so it needs none. With 0 workers the transforms
# run in this process, and there only ``torch.manual_seed`` makes them repeat.
#
# **Workers** start here with ``fork``: each is a copy of this process, so it already
# holds ``JpegFolder``, although it is defined on this page, which sphinx-gallery runs
# with ``exec`` and is no module another process could import. With ``spawn`` (the
# default on macOS and Windows) or ``forkserver`` (the default on Linux from Python
# 3.14) a worker is a fresh interpreter that imports the dataset's class by its
# module: keep such classes in a module, not in a notebook.
dataset.transform = v2.Compose([augment, to_input])  # from here on, every item


def make_loader(num_workers: int) -> DataLoader:
    """A shuffling, augmenting loader of the training files, seeded with ``SEED``."""
    return DataLoader(
        dataset,
        batch_size=BATCH_SIZE,
        shuffle=True,
        num_workers=num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=num_workers > 0,
        generator=torch.Generator().manual_seed(SEED),
        multiprocessing_context=START_METHOD if num_workers > 0 else None,
    )


first, again = (next(iter(make_loader(2))) for _ in range(2))
images, labels = first
print(f"a batch: images {tuple(images.shape)} {images.dtype}, labels {labels.dtype}")
check(
    torch.equal(first[0], again[0]) and torch.equal(first[1], again[1]),
    "two loaders with the same seed and 2 workers give the same first batch, augmented alike",
)

# %%
# How fast?
# ---------
# Two questions: how many images per second each source delivers on its own, and how
# many per second training gets when it is fed by it. The sources are the loader with
# 0, 1 and 2 workers, and the tensor cache, whose batches are cut from the decoded
# tensor and augmented and normalized as whole batches
# (:func:`~pytorch_examples.data.cifar10.random_crop_flip`). The training step is that
# of a small CNN.
#
# Each source is timed as one stream of batches. The first ``N_WARMUP_BATCHES`` are not
# timed: they pay for starting the workers and for first calls, which a long training
# run pays once. Then ``N_REPEATS`` windows of ``BATCHES_PER_REPEAT`` batches are timed
# with the source alone, and as many with a training step on every batch; their spread
# shows how far one measurement can be trusted.
# :func:`~pytorch_examples.comparison.timing_difference` compares two sources by the
# difference of their mean rates and its standard error. With so few repeats the
# threshold is Student's t for the repeats' degrees of freedom, a little above two
# standard errors (the output prints it as the noise level); a difference within it
# counts as within noise, not as a win.
#
# The timed code runs with ``torch.set_num_threads(TRAINING_THREADS)``, one thread.
# PyTorch would otherwise spread each training step over every core, and the workers
# would always compete with it; with one thread, training leaves the other cores to
# the workers.


def cache_batches():
    """Batches from the decoded tensor: the same crop, flip and normalization, per batch."""
    generator = torch.Generator().manual_seed(SEED)
    order = torch.randperm(len(cache.train.labels), generator=generator)
    for index in order.split(BATCH_SIZE):
        images = random_crop_flip(cache.train.images[index], PADDING, generator=generator)
        yield normalize(images, mean, std), cache.train.labels[index]


model = nn.Sequential(
    nn.Conv2d(3, 16, 3, padding=1),
    nn.BatchNorm2d(16),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1),
    nn.BatchNorm2d(32),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(32, 64, 3, padding=1),
    nn.BatchNorm2d(64),
    nn.ReLU(),
    nn.AdaptiveMaxPool2d(1),
    nn.Flatten(),
    nn.Linear(64, len(CLASSES)),
)
optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=0.9)


def train_step(images: torch.Tensor, labels: torch.Tensor) -> None:
    """One step of mini-batch SGD on the CNN."""
    loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def measure(source) -> tuple[list[float], list[float]]:
    """Images per second in each timed window of one stream: alone, then feeding training."""
    batches = iter(source())
    for _ in range(N_WARMUP_BATCHES):
        next(batches)
    alone, training = [], []
    for step, rates in ((None, alone), (train_step, training)):
        for _ in range(N_REPEATS):
            started = time.perf_counter()
            for images, labels in islice(batches, BATCHES_PER_REPEAT):
                if step is not None:
                    step(images, labels)
            rates.append(BATCHES_PER_REPEAT * BATCH_SIZE / (time.perf_counter() - started))
    return alone, training  # the loader's workers stop when ``batches`` goes


load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
print(f"this machine: {os.cpu_count()} CPU cores, load average {load:.1f} before timing")
threads = torch.get_num_threads()
torch.set_num_threads(TRAINING_THREADS)
train_step(*next(cache_batches()))  # the first step pays one-time costs; not timed
loader_name = {n: f"loader, num_workers={n}" for n in WORKER_COUNTS}
sources = {loader_name[n]: (lambda n=n: make_loader(n)) for n in WORKER_COUNTS}
sources["tensor cache"] = cache_batches
alone, training = {}, {}
for name, source in sources.items():
    alone[name], training[name] = measure(source)
torch.set_num_threads(threads)  # restore the default for the rest of the session
consumed = training["tensor cache"]  # what training takes when data costs almost nothing


def keeps_up(name: str) -> str:
    """Whether the source alone delivers more images per second than training consumes.

    With 0 workers loading and training take turns in one process, so the question
    does not apply.
    """
    if name == loader_name[0]:
        return "n/a (serial)"
    margin = timing_difference(alone[name], consumed)
    return "yes" if margin.a_higher() else "no" if margin.a_lower() else "within noise"


def spread(rates: list[float]) -> str:
    return f"{np.mean(rates):.0f} ({min(rates):.0f}-{max(rates):.0f})"


print(f"images per second, mean (min-max) of {N_REPEATS} windows of {BATCHES_PER_REPEAT} batches")
rows = [[name, spread(alone[name]), spread(training[name]), keeps_up(name)] for name in sources]
print(format_table(["source", "alone", "feeding training", "keeps up with training"], rows))

# %%
# The differences, in images per second, with their standard errors and verdicts:
# first what workers add, then the two claims the text below rests on.
workers = {n: f"{n} worker" + ("" if n == 1 else "s") for n in WORKER_COUNTS}
for phase, rates in (("alone", alone), ("feeding training", training)):
    for n in WORKER_COUNTS[1:]:
        gain = timing_difference(rates[loader_name[n]], rates[loader_name[0]])
        print(f"{phase + ':':17} {gain.describe(workers[n], workers[0], digits=0)}")
cache_leads = {
    n: timing_difference(alone["tensor cache"], alone[loader_name[n]]) for n in WORKER_COUNTS
}
closest = min(WORKER_COUNTS, key=lambda n: cache_leads[n].z)
print(f"{'alone:':17} {cache_leads[closest].describe('cache', workers[closest], digits=0)}")
check(
    all(lead.a_higher() for lead in cache_leads.values()),
    "the tensor cache delivers more images per second than the loader with any worker count",
)
serial = timing_difference(training[loader_name[0]], consumed)
print(f"{'feeding training:':17} {serial.describe(workers[0], 'cache', digits=0)}")
check(
    serial.a_lower(),
    "with 0 workers, training gets fewer images per second than from the tensor cache",
)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True, sharey=True)
# The scale fits the loaders and training; the cache alone is far beyond them.
loader_rates = [*(alone[loader_name[n]] for n in WORKER_COUNTS), *training.values()]
right = 1.15 * max(map(max, loader_rates))
for ax, rates, title in zip(axes, (alone, training), ("alone", "feeding training"), strict=True):
    for row, values in enumerate(rates.values()):
        if max(values) > right:
            note = f"mean {np.mean(values):.0f}, off the scale"
            ax.text(right, row, note, ha="right", va="center", fontsize=8, backgroundcolor="w")
            continue
        ax.barh(row, np.mean(values), height=0.6, color="C0", alpha=0.3)
        ax.plot(values, [row] * len(values), "o", ms=4, color="C0", alpha=0.8)
    ax.axvline(np.mean(consumed), color="0.3", ls="--", lw=1, label="training fed by the cache")
    ax.set(title=title, xlabel="images per second", xlim=(0, right))
axes[0].set_yticks(range(len(sources)), list(sources))
axes[0].invert_yaxis()
axes[1].legend(fontsize=8, loc="upper right")
fig.tight_layout()
plt.show()

# %%
# Reading the numbers
# -------------------
# Each dot is one timed window, each bar the mean of a source's windows, and the dashed
# line the mean rate at which training consumed batches from the tensor cache, the
# cheapest source. A source whose rate *alone* is lower than the line by more than the
# noise (the table's *no*) is the bottleneck: training waits for it. The table's last
# column says which sources keep up on the machine that built this page; with 0
# workers loading and training run one after the other in one process, so the
# question does not apply there.
#
# With 0 workers one process decodes a batch and then trains on it, so every step also
# pays for decoding and per-image transforms, which cost far more than the cache's few
# tensor operations: training gets fewer images per second from the loader than from the
# cache. What workers add depends on the machine. A worker decodes in its own process
# while training runs, which pays only if a core is idle to run it: with cores to spare
# each worker adds images per second; when the cores are busy, workers and training take
# turns on them, and the gain shrinks, vanishes, or turns into a loss, since a worker
# also costs the passing of each batch between processes. The verdicts above are this
# build's; the core count and load average printed before the timings hint at which case
# it was (the load average counts this build's own process too). The sources are timed
# one after another, so a change of load between them, which the spread of one source's
# windows cannot show, can shift a whole row.
#
# A source that keeps up can still slow training when both need the same cores: compare
# the *feeding training* bars with the dashed line. A faster training step moves the
# line to the right: a loader that keeps up with this small CNN on a CPU may fall
# behind a model trained on a GPU.
#
# The tensor cache sidesteps the question: it decodes every image once, keeps the
# result in memory, and augments whole batches with a few tensor operations. That
# works when the data set fits in memory, as CIFAR-10's training images do; a data
# set that does not is read from files, and then the number of workers is the setting
# to tune.
