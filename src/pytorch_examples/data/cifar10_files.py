"""CIFAR-10's training images as JPEG files, one folder per class, for a ``Dataset``.

:ref:`sphx_glr_auto_examples_data_plot_dataset_dataloader.py` reads these files with a
``Dataset`` of its own and with ``ImageFolder``;
:ref:`sphx_glr_auto_examples_data_plot_dataloader_throughput.py` times the loading.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

from pytorch_examples.data.cifar10 import CLASSES, IMAGE_FOLDER, Cifar10
from pytorch_examples.data.download import cache_dir, data_dir

__all__ = ["cifar10_jpeg_folder"]


def cifar10_jpeg_folder(images: Cifar10) -> Path:
    """Return a folder ``<class>/*.jpg`` of the training images, written once if needed.

    Used by :doc:`/auto_examples/data/plot_dataset_dataloader`
    and :doc:`/auto_examples/data/plot_dataloader_throughput`.

    The data directory's ImageFolder copy is used when there is one. Otherwise the
    decoded ``images`` (from torchvision's download) are written as JPEG files, once,
    to the cache directory; they are written under another name and renamed when
    complete, so a crash never leaves a folder that looks complete.

    Parameters
    ----------
    images : Cifar10
        The decoded data set, from :func:`~pytorch_examples.data.cifar10.load_cifar10`.

    Returns
    -------
    pathlib.Path
        The folder, with one subfolder per name in
        :data:`~pytorch_examples.data.cifar10.CLASSES`.
    """
    root = data_dir() / IMAGE_FOLDER / "train"
    if root.is_dir():
        return root
    root = cache_dir() / "cifar10-jpeg" / "train"
    if not root.is_dir():
        partial = root.with_name("train.partial")
        shutil.rmtree(partial, ignore_errors=True)
        for name in CLASSES:
            (partial / name).mkdir(parents=True)
        pairs = zip(images.train.images, images.train.labels.tolist(), strict=True)
        for index, (image, label) in enumerate(pairs):
            pixels = Image.fromarray(image.permute(1, 2, 0).numpy())
            pixels.save(partial / CLASSES[label] / f"{index:05d}.jpg", quality=95)
        partial.rename(root)
    return root
