import io
import os
from pathlib import Path

import pytest
import torch

from pytorch_examples.checkpoints import save_atomically

OLD = {"epoch": 1, "weights": torch.arange(1000.0)}
NEW = {"epoch": 2, "weights": -torch.arange(1000.0)}


def interrupted_save(fraction: float, error: BaseException):
    """A torch.save that writes the first ``fraction`` of the real bytes, then raises."""
    real_save = torch.save

    def save(obj, file, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer)
        data = buffer.getvalue()[: int(len(buffer.getvalue()) * fraction)]
        if isinstance(file, (str, os.PathLike)):
            Path(file).write_bytes(data)
        else:
            file.write(data)
        raise error

    return save


def test_a_save_replaces_the_file_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "checkpoint.pt"
    save_atomically(OLD, path)
    save_atomically(NEW, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 2 and torch.equal(loaded["weights"], NEW["weights"])
    assert sorted(tmp_path.iterdir()) == [path]


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.99])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
def test_an_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch, fraction, error):
    path = tmp_path / "checkpoint.pt"
    save_atomically(OLD, path)
    monkeypatch.setattr(torch, "save", interrupted_save(fraction, error))
    with pytest.raises(type(error)):
        save_atomically(NEW, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert sorted(tmp_path.iterdir()) == [path], "the temporary file was left behind"


def test_the_same_interruption_destroys_a_plain_torch_save(tmp_path, monkeypatch):
    # The reference: the fake interruption above does break a file written in place.
    path = tmp_path / "checkpoint.pt"
    torch.save(OLD, path)
    monkeypatch.setattr(torch, "save", interrupted_save(0.5, OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        torch.save(NEW, path)
    monkeypatch.undo()
    with pytest.raises(RuntimeError):
        torch.load(path, weights_only=True)
