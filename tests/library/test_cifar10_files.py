import types

import torch

from pytorch_examples.data import cifar10_files
from pytorch_examples.data.cifar10 import CLASSES


def test_the_files_are_written_once_from_the_tensors_when_no_folder_exists(tmp_path, monkeypatch):
    images = torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(12) % len(CLASSES)
    data = types.SimpleNamespace(train=types.SimpleNamespace(images=images, labels=labels))
    monkeypatch.setattr(cifar10_files, "data_dir", lambda: tmp_path / "data")
    monkeypatch.setattr(cifar10_files, "cache_dir", lambda: tmp_path / "cache")
    root = cifar10_files.cifar10_jpeg_folder(data)
    assert root == tmp_path / "cache" / "cifar10-jpeg" / "train"
    files = sorted(root.glob("*/*.jpg"))
    assert len(files) == len(labels)
    assert all(path.parent.name == CLASSES[labels[int(path.stem)]] for path in files)
    assert not (root.parent / "train.partial").exists()
    (root / CLASSES[0] / "marker").write_text("")  # a second call must not rewrite
    assert cifar10_files.cifar10_jpeg_folder(data) == root
    assert (root / CLASSES[0] / "marker").exists()


def test_the_data_directory_folder_is_used_when_there_is_one(tmp_path, monkeypatch):
    (tmp_path / "cifar10" / "train").mkdir(parents=True)
    monkeypatch.setattr(cifar10_files, "data_dir", lambda: tmp_path)
    assert cifar10_files.cifar10_jpeg_folder(None) == tmp_path / "cifar10" / "train"
