r"""
How fast does the DataLoader deliver?
=====================================

:ref:`sphx_glr_auto_examples_data_plot_dataset_dataloader.py` builds a pipeline that
reads, decodes and augments CIFAR-10's JPEG files one at a time, in worker processes.
This page measures it. You will learn:

* how many images per second it delivers with 0, 1 and 2 workers, next to the
  decode-once tensor cache, and when the loader is what holds training back;
* how to time it: warm up, repeat, and call a difference within the noise a tie.
"""

# %%
# Setup
# -----
# The pipeline is the previous page's, over the same files, with torchvision's
# ``ImageFolder`` as the ``Dataset`` (that page shows it lists the same files in the
# same order as its own): random crop and flip, then float and standardization with the
# channel statistics of the tensor cache, which is also the baseline here. Workers
# start with ``fork``, as there.
import os
import time
from itertools import islice

import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader
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
from pytorch_examples.data.cifar10_files import cifar10_jpeg_folder
from pytorch_examples.reporting import format_table

SEED = 0
BATCH_SIZE = 128
PADDING = 2  # largest shift of the random crop, in pixels, as on the CIFAR-10 pages
WORKER_COUNTS = (0, 1, 2)
N_WARMUP_BATCHES = 2  # untimed batches at the start of each measured stream
N_REPEATS = 5  # timed windows per source, alone and feeding training
BATCHES_PER_REPEAT = 2  # batches per timed window, times the batches a loader keeps in flight
PREFETCH_FACTOR = 2  # batches each worker prepares ahead (the DataLoader's default)
START_METHOD = "fork"  # how worker processes start
LEARNING_RATE = 0.05
TRAINING_THREADS = 1  # threads of the timed training step; see "How fast?"

torch.manual_seed(SEED)
cache = load_cifar10()
mean, std = channel_stats(cache.train.images[::5])  # as on the previous page
augment = v2.Compose([v2.RandomCrop(32, padding=PADDING), v2.RandomHorizontalFlip()])
to_input = v2.Compose(
    [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean.tolist(), std.tolist())]
)
transform = v2.Compose([v2.ToImage(), augment, to_input])
dataset = ImageFolder(str(cifar10_jpeg_folder(cache)), transform=transform)
print(f"{len(dataset)} files in {len(CLASSES)} class folders")


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
        prefetch_factor=PREFETCH_FACTOR if num_workers > 0 else None,
    )


def in_flight(num_workers: int) -> int:
    """How many batches the loader prepares ahead: none without workers."""
    return num_workers * PREFETCH_FACTOR


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
# run pays once. Then ``N_REPEATS`` windows are timed with the source alone, and as many
# with a training step on every batch; their spread shows how far one measurement can
# be trusted. A window must be longer than what the loader holds in reserve: each
# worker prepares ``PREFETCH_FACTOR`` batches ahead, and a window that starts with
# batches already waiting is served partly from that reserve, so it measures how full
# the queue happened to be rather than how fast the workers make batches, and borrows
# from or lends to the window before it. A loader with workers is therefore timed in
# windows of ``BATCHES_PER_REPEAT`` times the batches it keeps in flight, so that at
# most part of a window can come from the reserve
# (``num_workers * PREFETCH_FACTOR``); without workers nothing is prepared ahead, and a
# window is ``BATCHES_PER_REPEAT`` batches.
# :func:`~pytorch_examples.comparison.timing_difference` compares two sources by the
# difference of their mean rates and its standard error. With so few repeats the
# threshold is Student's t for the repeats' degrees of freedom, above two standard
# errors (the output prints each as the noise level); a difference within it
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


def measure(source, batches_per_window: int) -> tuple[list[float], list[float]]:
    """Images per second in each timed window of one stream: alone, then feeding training."""
    batches = iter(source())
    for _ in range(N_WARMUP_BATCHES):
        next(batches)
    alone, training = [], []
    for step, rates in ((None, alone), (train_step, training)):
        for _ in range(N_REPEATS):
            started = time.perf_counter()
            for images, labels in islice(batches, batches_per_window):
                if step is not None:
                    step(images, labels)
            rates.append(batches_per_window * BATCH_SIZE / (time.perf_counter() - started))
    return alone, training  # the loader's workers stop when ``batches`` goes


load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
print(f"this machine: {os.cpu_count()} CPU cores, load average {load:.1f} before timing")
threads = torch.get_num_threads()
torch.set_num_threads(TRAINING_THREADS)
train_step(*next(cache_batches()))  # the first step pays one-time costs; not timed
loader_name = {n: f"loader, num_workers={n}" for n in WORKER_COUNTS}
sources = {loader_name[n]: (lambda n=n: make_loader(n)) for n in WORKER_COUNTS}
sources["tensor cache"] = cache_batches
window = {loader_name[n]: BATCHES_PER_REPEAT * max(1, in_flight(n)) for n in WORKER_COUNTS}
window["tensor cache"] = BATCHES_PER_REPEAT  # a generator: nothing is prepared ahead
alone, training = {}, {}
for name, source in sources.items():
    alone[name], training[name] = measure(source, window[name])
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


print(f"images per second, mean (min-max) of {N_REPEATS} windows")
rows = [
    [name, window[name], spread(alone[name]), spread(training[name]), keeps_up(name)]
    for name in sources
]
header = ["source", "batches per window", "alone", "feeding training", "keeps up with training"]
print(format_table(header, rows))

# %%
# The differences, in images per second, with their standard errors and verdicts:
# first what workers add, then the two claims the text below rests on, then training
# fed by each loader with workers against training fed by the cache.
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
for n in WORKER_COUNTS[1:]:
    fed = timing_difference(training[loader_name[n]], consumed)
    print(f"{'feeding training:':17} {fed.describe(workers[n], 'cache', digits=0)}")

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
# Keeping up alone is measured without training running. Fed by a loader with workers,
# training shares the cores with them, so it can get fewer images per second than from
# the cache even from a loader that keeps up: the last lines above compare the two for
# each worker count on this build. Other load on the machine during the run slows it
# the same way, and this page cannot tell the two apart. A faster training step moves
# the dashed line to the right: a loader that keeps up with this small CNN on a CPU may
# fall behind a model trained on a GPU.
#
# The tensor cache sidesteps the question: it decodes every image once, keeps the
# result in memory, and augments whole batches with a few tensor operations. That
# works when the data set fits in memory, as CIFAR-10's training images do; a data
# set that does not is read from files, and then the number of workers is the setting
# to tune.
