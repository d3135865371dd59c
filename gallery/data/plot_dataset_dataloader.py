r"""
Dataset, DataLoader and transforms
==================================

:ref:`sphx_glr_auto_examples_vision_plot_cifar10_data.py` holds CIFAR-10 as one
decoded ``uint8`` tensor, the way the CNN page uses it. PyTorch's usual input
pipeline works differently: a ``Dataset`` reads and decodes one image file when asked
for it, a ``transforms.v2`` pipeline augments it, and a ``DataLoader`` shuffles, batches
and spreads that work over worker processes. This page builds the pipeline over the
CIFAR-10 JPEG files. You will learn:

* how to write a ``Dataset`` that decodes lazily, and how it compares with
  torchvision's ``ImageFolder``;
* how to build an augmentation pipeline with ``transforms.v2``;
* what the ``DataLoader`` options do, and how to make its batches reproducible.

How many images per second the pipeline delivers, and when it holds training back, is
measured on :ref:`sphx_glr_auto_examples_data_plot_dataloader_throughput.py`.
"""

# %%
# Setup
# -----
# The decode-once tensor cache is loaded first: its training images give the channel
# statistics for normalization. The JPEG files are the data directory's, or, where
# there are none, written once from the tensors by
# :func:`~pytorch_examples.data.cifar10_files.cifar10_jpeg_folder`.
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms import v2

from pytorch_examples.claims import check
from pytorch_examples.data.cifar10 import CLASSES, channel_stats, load_cifar10
from pytorch_examples.data.cifar10_files import cifar10_jpeg_folder
from pytorch_examples.plotting import plot_image_grid

# sphinx_gallery_cited_numbers = {"3.14": "Python release that made forkserver the default"}

SEED = 0
BATCH_SIZE = 128
PADDING = 2  # largest shift of the random crop, in pixels, as on the CIFAR-10 pages
N_AUGMENTED = 7  # augmented copies of one image in the figure
START_METHOD = "fork"  # how worker processes start; see "Workers" below

torch.manual_seed(SEED)
started = time.perf_counter()
cache = load_cifar10()
print(
    f"tensor cache: {tuple(cache.train.images.shape)} {cache.train.images.dtype}, "
    f"loaded in {time.perf_counter() - started:.1f} s"
)
# Every fifth image, for a fifth of the cost: normalization needs only rough values.
mean, std = channel_stats(cache.train.images[::5])


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


root = cifar10_jpeg_folder(cache)
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
