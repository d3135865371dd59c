"""The Dataset page: its lazily decoding Dataset, on a tiny folder of JPEG files."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pytorch_examples.data.cifar10 import CLASSES

PAGE = "data/plot_dataset_dataloader.py"


@pytest.fixture(scope="module")
def jpeg_folder_class(gallery_page):
    return gallery_page(PAGE)["JpegFolder"]


def write_folder(root, per_class=2):
    """A tiny CIFAR-10 layout of random 32x32 JPEG files, plus a file to ignore."""
    generator = np.random.default_rng(0)
    for name in CLASSES:
        (root / name).mkdir(parents=True)
        for k in range(per_class):
            pixels = generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{k:04d}.jpg")
        (root / name / "notes.txt").write_text("not an image")


def test_dataset_length_item_shape_and_dtype(jpeg_folder_class, tmp_path):
    write_folder(tmp_path, per_class=3)
    dataset = jpeg_folder_class(tmp_path, CLASSES)
    assert len(dataset) == 3 * len(CLASSES)
    image, label = dataset[4]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8
    assert label == 1  # files are listed class by class, in the classes' order
    with Image.open(tmp_path / "automobile" / "0001.jpg") as file:
        reference = torch.from_numpy(np.array(file.convert("RGB"))).permute(2, 0, 1)
    assert torch.equal(image, reference)
    scaled = jpeg_folder_class(tmp_path, CLASSES, transform=lambda x: x.float() / 255)
    assert scaled[4][0].dtype == torch.float32


def test_dataset_rejects_a_bad_path_clearly(jpeg_folder_class, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no folder for classes \['airplane'"):
        jpeg_folder_class(tmp_path / "nowhere", CLASSES)
    write_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no folder for classes \['zebra'\]"):
        jpeg_folder_class(tmp_path, (*CLASSES, "zebra"))
