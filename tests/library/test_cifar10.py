import math
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from pytorch_examples.data import cifar10
from pytorch_examples.data.download import DataUnavailableError


def make_image_folder(root, per_class=2, seed=0, suffix="jpg"):
    """Write a tiny CIFAR-10 ImageFolder tree of flat-coloured JPEGs (or PNGs)."""
    generator = torch.Generator().manual_seed(seed)
    for split in ("train", "test"):
        for label, name in enumerate(cifar10.CLASSES):
            folder = root / "cifar10" / split / name
            folder.mkdir(parents=True)
            for k in range(per_class):
                colour = torch.randint(0, 256, (3,), generator=generator).tolist()
                Image.new("RGB", (32, 32), tuple(colour)).save(folder / f"{k:04d}.{suffix}")
            # Files that are not images are ignored.
            (folder / "notes.txt").write_text(f"{label}")


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setattr(cifar10, "cache_dir", lambda: cache)
    return cache


def test_image_folder_loads_in_class_order(tmp_path, isolated_cache):
    make_image_folder(tmp_path / "data")
    data = cifar10.load_cifar10(tmp_path / "data")
    assert data.train.images.shape == (20, 3, 32, 32)
    assert data.train.images.dtype == torch.uint8
    assert data.test.labels.tolist() == [label for label in range(10) for _ in range(2)]
    assert data.source == tmp_path / "data" / "cifar10"


def test_the_cache_is_written_reused_and_rebuilt_when_the_source_changes(
    tmp_path, isolated_cache, monkeypatch
):
    make_image_folder(tmp_path / "data")
    first = cifar10.load_cifar10(tmp_path / "data")
    assert len(list(isolated_cache.glob("cifar10-*.pt"))) == 1

    decode = cifar10._decode_image_folder

    def must_not_decode(files):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(cifar10, "_decode_image_folder", must_not_decode)
    second = cifar10.load_cifar10(tmp_path / "data")
    assert torch.equal(first.train.images, second.train.images)

    # A new image makes the cache stale: it must be decoded again.
    extra = tmp_path / "data" / "cifar10" / "train" / "cat" / "0099.jpg"
    Image.new("RGB", (32, 32)).save(extra)
    calls = []
    monkeypatch.setattr(
        cifar10, "_decode_image_folder", lambda files: calls.append(1) or decode(files)
    )
    third = cifar10.load_cifar10(tmp_path / "data")
    assert len(calls) == 2
    assert third.train.images.shape[0] == 21


def test_the_source_says_whether_the_pixels_are_a_jpeg_re_encoding(
    tmp_path, isolated_cache, monkeypatch
):
    make_image_folder(tmp_path / "jpeg")
    for _ in range(2):  # decoded, then from the cache
        jpeg = cifar10.load_cifar10(tmp_path / "jpeg")
        assert jpeg.jpeg and "a JPEG re-encoding" in jpeg.describe_source()
    make_image_folder(tmp_path / "png", suffix="png")
    png = cifar10.load_cifar10(tmp_path / "png")
    assert not png.jpeg and "JPEG" not in png.describe_source()

    class CanonicalDownload:
        def __init__(self, root, train, download):
            self.data = np.zeros((3 if train else 2, 32, 32, 3), dtype=np.uint8)
            self.targets = [0] * len(self.data)

    monkeypatch.setattr("torchvision.datasets.CIFAR10", CanonicalDownload)
    canonical = cifar10.load_cifar10(tmp_path / "nothing")
    assert canonical.train.images.shape == (3, 3, 32, 32) and not canonical.jpeg
    assert "canonical" in canonical.describe_source()


def test_a_missing_class_folder_is_named(tmp_path, isolated_cache):
    make_image_folder(tmp_path / "data")
    for image in (tmp_path / "data" / "cifar10" / "test" / "frog").iterdir():
        image.unlink()
    (tmp_path / "data" / "cifar10" / "test" / "frog").rmdir()
    with pytest.raises(DataUnavailableError, match="frog"):
        cifar10.load_cifar10(tmp_path / "data")


def test_no_data_offline_gives_one_clear_error(tmp_path, isolated_cache, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr("torchvision.datasets.CIFAR10", offline)
    with pytest.raises(DataUnavailableError) as caught:
        cifar10.load_cifar10(tmp_path)
    message = str(caught.value)
    assert "cifar10" in message and "cifar-10-batches-py" in message
    assert "PYTORCH_EXAMPLES_DATA" in message
    assert caught.value.__cause__ is None


def test_no_data_without_download_is_the_same_clear_error(tmp_path, isolated_cache):
    with pytest.raises(DataUnavailableError, match="could not be downloaded"):
        cifar10.load_cifar10(tmp_path, download=False)


def test_channel_stats_and_normalize_standardize_each_channel():
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 8, 8), generator=generator, dtype=torch.uint8)
    images[:, 1] //= 4  # give one channel a different range
    mean, std = cifar10.channel_stats(images)
    normalized = cifar10.normalize(images, mean, std)
    assert normalized.dtype == torch.float32
    assert torch.allclose(normalized.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-4)
    assert torch.allclose(normalized.std(dim=(0, 2, 3)), torch.ones(3), atol=1e-3)
    with pytest.raises(TypeError, match="uint8"):
        cifar10.normalize(images.float(), mean, std)


def recover_crop_and_flip(originals, augmented, padding):
    """Find, by trying every window of the zero-padded original with and without a
    mirror, the shift (dy, dx) and the flip that made each augmented image; exactly one
    candidate must match (the images hold no zeros, so the padding shows)."""
    height, width = originals.shape[-2:]
    padded = torch.nn.functional.pad(originals, (padding,) * 4)
    candidates, hits = [], []
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            window = padded[:, :, dy : dy + height, dx : dx + width]
            for flipped in (False, True):
                target = augmented.flip(3) if flipped else augmented
                candidates.append((dy, dx, flipped))
                hits.append((window == target).flatten(1).all(dim=1))
    hits = torch.stack(hits, dim=1)
    assert (hits.sum(dim=1) == 1).all(), "each augmented image is exactly one crop and flip"
    found = [candidates[k] for k in hits.int().argmax(dim=1).tolist()]
    return (torch.tensor(column) for column in zip(*found, strict=True))


def test_random_crop_flip_shifts_uniformly_flips_half_and_follows_its_generator():
    """The one test of the batched crop and flip that the CIFAR-10 pages share."""
    padding, n = 2, 4000
    images = torch.randint(1, 256, (n, 3, 8, 8), dtype=torch.uint8)
    out = cifar10.random_crop_flip(images, padding, generator=torch.Generator().manual_seed(1))
    assert out.shape == images.shape and out.dtype == torch.uint8
    dy, dx, flipped = recover_crop_and_flip(images, out, padding)
    # Binomial shares, within 4 standard deviations.
    assert abs(flipped.float().mean().item() - 0.5) < 4 * math.sqrt(0.25 / n)
    p = 1 / (2 * padding + 1)
    for shift in (dy, dx):
        shares = torch.bincount(shift, minlength=2 * padding + 1).float() / n
        assert (shares - p).abs().max().item() < 4 * math.sqrt(p * (1 - p) / n)
    unshifted = ((dy == padding) & (dx == padding)).float().mean().item()
    assert abs(unshifted - p**2) < 4 * math.sqrt(p**2 / n)  # the two shifts independent
    again = cifar10.random_crop_flip(images, padding, generator=torch.Generator().manual_seed(1))
    other = cifar10.random_crop_flip(images, padding, generator=torch.Generator().manual_seed(2))
    assert torch.equal(out, again) and not torch.equal(out, other)


def test_augmentation_rejects_bad_input():
    with pytest.raises(ValueError, match="positive"):
        cifar10.random_crop_flip(torch.zeros(1, 3, 8, 8), padding=0)
    with pytest.raises(ValueError, match=r"\(n, c, h, w\)"):
        cifar10.random_crop_flip(torch.zeros(3, 8, 8))
