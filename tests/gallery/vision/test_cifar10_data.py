"""The CIFAR-10 data page: its teaching copy of the crop and flip, and its standardizing."""

from __future__ import annotations

import ast

import pytest
import torch

from pages import GALLERY
from pytorch_examples.data.cifar10 import channel_stats, normalize, random_crop_flip

PAGE = "vision/plot_cifar10_data.py"


@pytest.mark.parametrize("n", [1, 7, 300])
def test_the_pages_augment_is_the_librarys_crop_and_flip(gallery_page, n):
    """The library's random_crop_flip has the behavioural test; the copy this page
    teaches must compute the same, draw for draw."""
    augment, padding = gallery_page(PAGE)["augment"], gallery_page(PAGE)["CROP_PADDING"]
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8)
    torch.manual_seed(5)
    taught = augment(images)
    torch.manual_seed(5)
    assert torch.equal(taught, random_crop_flip(images, padding))


def test_to_input_standardizes_with_the_training_images_statistics(gallery_page):
    page = gallery_page(PAGE)
    batch = page["train_images"][:64]
    expected = normalize(batch, *channel_stats(page["train_images"]))
    out = page["to_input"](batch)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(out, expected, atol=1e-4)


def test_the_data_page_uses_the_cnn_pages_split_crop_and_batch():
    def constants(file):
        tree = ast.parse((GALLERY / file).read_text())
        return {
            node.targets[0].id: ast.literal_eval(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("SEED", "N_VALIDATION", "CROP_PADDING", "BATCH_SIZE")
        }

    assert constants(PAGE) == constants("vision/plot_cifar10_cnn.py")
    assert len(constants(PAGE)) == 4
