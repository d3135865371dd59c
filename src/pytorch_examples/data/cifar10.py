"""CIFAR-10 as uint8 tensors: loading, caching, and augmentation on batches.

Two sources are accepted, looked for in the data directory
(:func:`pytorch_examples.data.download.data_dir`):

* the ImageFolder layout ``cifar10/{train,test}/<class>/*.jpg``, as in the offline copy
  used for development and CI;
* torchvision's canonical download, ``cifar-10-batches-py/``, fetched with
  ``torchvision.datasets.CIFAR10(download=True)`` when nothing is there yet.

JPEG files are a lossy re-encoding: their pixels differ from those of the canonical
data, so :attr:`Cifar10.jpeg` records whether they were read, and
:meth:`Cifar10.describe_source` says so for a page to print.

Decoding 60,000 images takes seconds, so the decoded tensors are cached once in
:func:`pytorch_examples.data.download.cache_dir`, together with a fingerprint of their
source; a cache whose fingerprint no longer matches is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pytorch_examples._checks import check_positive_int
from pytorch_examples.data.download import DATA_ENV_VAR, DataUnavailableError, cache_dir, data_dir

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
CACHE_FORMAT = 1
IMAGE_FOLDER = "cifar10"
TORCHVISION_FOLDER = "cifar-10-batches-py"


@dataclass(frozen=True)
class ImageSplit:
    """Images and labels of one split.

    Taught on :doc:`/auto_examples/vision/plot_cifar10_data`.

    Attributes
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(n, 3, 32, 32)``.
    labels : torch.Tensor
        ``int64`` class indices into :data:`CLASSES`, shape ``(n,)``.
    """

    images: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class Cifar10:
    """The CIFAR-10 training and test splits, and where they were read from.

    Taught on :doc:`/auto_examples/vision/plot_cifar10_data`.

    Attributes
    ----------
    train, test : ImageSplit
        The 50,000 training and 10,000 test images.
    source : pathlib.Path
        The folder the images were read from (not the cache).
    jpeg : bool
        Whether they were decoded from JPEG files, a lossy re-encoding of CIFAR-10,
        rather than from torchvision's canonical download.
    """

    train: ImageSplit
    test: ImageSplit
    source: Path
    jpeg: bool = False

    def describe_source(self) -> str:
        """Say in one line where the images came from, and if they are a JPEG copy.

        The pages print it, so that a reader knows whether the accuracies they show
        were measured on the canonical pixels; the first is
        :ref:`sphx_glr_auto_examples_vision_plot_cifar10_data.py`.
        """
        if self.jpeg:
            return (
                f"{self.source}: a JPEG re-encoding of CIFAR-10. JPEG is lossy, so its "
                "pixel values differ from those of the canonical CIFAR-10"
            )
        if self.source.name == TORCHVISION_FOLDER:
            return f"{self.source}: torchvision's canonical CIFAR-10 download"
        return f"{self.source}: an ImageFolder copy of CIFAR-10"


def _image_folder_files(root: Path) -> list[tuple[Path, int]]:
    """List ``(file, class index)`` of one ImageFolder split in a fixed order."""
    files = []
    for label, name in enumerate(CLASSES):
        class_dir = root / name
        if not class_dir.is_dir():
            raise DataUnavailableError(
                f"CIFAR-10 class folder {class_dir} is missing: expected one folder per "
                f"class ({', '.join(CLASSES)}) under {root}."
            )
        files.extend(
            (class_dir / entry, label)
            for entry in sorted(os.listdir(class_dir))
            if entry.lower().endswith((".jpg", ".jpeg", ".png"))
        )
    return files


def _fingerprint(paths: list[Path]) -> str:
    """Hash the names, sizes and modification times of files.

    Cheap to compute, and it changes whenever a file is added, removed or rewritten.
    """
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(
            f"{path.name}|{path.parent.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode()
        )
    return digest.hexdigest()


def _decode_image_folder(files: list[tuple[Path, int]]) -> ImageSplit:
    pixels = np.empty((len(files), 32, 32, 3), dtype=np.uint8)
    for index, (path, _) in enumerate(files):
        with Image.open(path) as image:
            if image.size != (32, 32):
                raise ValueError(f"CIFAR-10 images are 32x32, but {path} is {image.size}")
            pixels[index] = np.asarray(image.convert("RGB"))
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([label for _, label in files], dtype=torch.long)
    return ImageSplit(images, labels)


def _load_torchvision(root: Path, download: bool) -> Cifar10:
    from torchvision.datasets import CIFAR10

    splits = []
    for train in (True, False):
        try:
            dataset = CIFAR10(str(root), train=train, download=download)
        except Exception as error:  # urllib's network errors, or torchvision's RuntimeError
            raise _missing_error(root, error) from None
        images = torch.from_numpy(dataset.data).permute(0, 3, 1, 2).contiguous()
        splits.append(ImageSplit(images, torch.tensor(dataset.targets, dtype=torch.long)))
    return Cifar10(train=splits[0], test=splits[1], source=root / TORCHVISION_FOLDER)


def _missing_error(root: Path, error: Exception) -> DataUnavailableError:
    return DataUnavailableError(
        f"CIFAR-10 was not found in {root} and could not be downloaded "
        f"({type(error).__name__}: {error}).\n"
        f"Looked for {root / IMAGE_FOLDER}/{{train,test}}/<class>/*.jpg and for "
        f"{root / TORCHVISION_FOLDER}/. To fix this, run once with a network "
        f"connection (torchvision downloads about 170 MB into {root}), or set "
        f"{DATA_ENV_VAR} to a directory that holds either layout."
    )


def load_cifar10(directory: Path | None = None, *, download: bool = True) -> Cifar10:
    """Load CIFAR-10 as uint8 tensors, from the cache when it is current.

    Taught on :doc:`/auto_examples/vision/plot_cifar10_data`.

    Parameters
    ----------
    directory : pathlib.Path, optional
        The data directory; :func:`pytorch_examples.data.download.data_dir` by default.
    download : bool
        Download the canonical data with torchvision when neither layout is present.

    Returns
    -------
    Cifar10
        Training (50,000) and test (10,000) images and labels.

    Raises
    ------
    pytorch_examples.data.download.DataUnavailableError
        If no data is found and it cannot be downloaded.
    """
    root = data_dir() if directory is None else Path(directory)
    folder = root / IMAGE_FOLDER
    if not folder.is_dir():
        return _load_torchvision(root, download)

    split_files = {}
    for split in ("train", "test"):
        if not (folder / split).is_dir():
            raise DataUnavailableError(
                f"{folder / split} is missing: the ImageFolder layout needs both "
                f"{folder}/train and {folder}/test."
            )
        split_files[split] = _image_folder_files(folder / split)
    paths = [path for files in split_files.values() for path, _ in files]
    fingerprint = _fingerprint(paths)
    jpeg = any(path.suffix.lower() in (".jpg", ".jpeg") for path in paths)
    cache_file = (
        cache_dir()
        / f"cifar10-{hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:12]}.pt"
    )
    if cache_file.exists():
        cached = torch.load(cache_file, weights_only=True)
        if cached.get("format") == CACHE_FORMAT and cached.get("fingerprint") == fingerprint:
            return Cifar10(
                train=ImageSplit(cached["train_images"], cached["train_labels"]),
                test=ImageSplit(cached["test_images"], cached["test_labels"]),
                source=folder,
                jpeg=jpeg,
            )
    train = _decode_image_folder(split_files["train"])
    test = _decode_image_folder(split_files["test"])
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_file.with_suffix(".tmp")
    torch.save(
        {
            "format": CACHE_FORMAT,
            "fingerprint": fingerprint,
            "train_images": train.images,
            "train_labels": train.labels,
            "test_images": test.images,
            "test_labels": test.labels,
        },
        partial,
    )
    partial.replace(cache_file)  # atomic: a crash never leaves a half-written cache
    return Cifar10(train=train, test=test, source=folder, jpeg=jpeg)


def channel_stats(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of uint8 images, on the 0-1 scale.

    Taught on :doc:`/auto_examples/vision/plot_cifar10_data`.

    Parameters
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(n, 3, h, w)``.

    Returns
    -------
    tuple of torch.Tensor
        Mean and standard deviation, each of shape ``(3,)``.
    """
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise TypeError(
            f"images must be uint8 of shape (n, c, h, w), got {images.dtype} {tuple(images.shape)}"
        )
    scaled = images.float().div_(255)
    return scaled.mean(dim=(0, 2, 3)), scaled.std(dim=(0, 2, 3))


def normalize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Convert uint8 images to float and standardize each channel.

    Taught on :doc:`/auto_examples/vision/plot_cifar10_data`.

    Parameters
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(n, 3, h, w)``, on any device.
    mean, std : torch.Tensor
        Per-channel statistics on the 0-1 scale, shape ``(3,)``.

    Returns
    -------
    torch.Tensor
        ``float32`` images on the same device.
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"images must be uint8, got {images.dtype}")
    mean = mean.to(images.device).view(1, -1, 1, 1)
    std = std.to(images.device).view(1, -1, 1, 1)
    return (images.float() / 255 - mean) / std


def random_crop_flip(
    images: torch.Tensor, padding: int = 4, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Augment a batch: a random crop of the zero-padded image, and a random flip.

    Each image is padded by ``padding`` pixels on every side, a window of the original
    size is cut at a random position, and half the images are mirrored left to right.
    The whole batch is done with a few tensor operations on its own device. The steps
    are written out and explained on
    :ref:`sphx_glr_auto_examples_vision_plot_cifar10_data.py`.

    Parameters
    ----------
    images : torch.Tensor
        Shape ``(n, c, h, w)``, any dtype.
    padding : int
        Largest shift in pixels, at least 1.
    generator : torch.Generator, optional
        Source of randomness, on the same device as ``images``.

    Returns
    -------
    torch.Tensor
        Augmented images, same shape, dtype and device.
    """
    padding = check_positive_int("padding", padding)
    if images.ndim != 4:
        raise ValueError(f"images must have shape (n, c, h, w), got {tuple(images.shape)}")
    n, channels, height, width = images.shape
    device = images.device
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    shift_y = torch.randint(0, 2 * padding + 1, (n, 1), device=device, generator=generator)
    shift_x = torch.randint(0, 2 * padding + 1, (n, 1), device=device, generator=generator)
    rows = (shift_y + torch.arange(height, device=device)).view(n, 1, height, 1)
    cols = (shift_x + torch.arange(width, device=device)).view(n, 1, 1, width)
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    channel = torch.arange(channels, device=device).view(1, channels, 1, 1)
    cropped = padded[batch, channel, rows, cols]
    flip = torch.rand(n, device=device, generator=generator) < 0.5
    return torch.where(flip.view(n, 1, 1, 1), cropped.flip(3), cropped)
