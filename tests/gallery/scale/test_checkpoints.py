"""The checkpoint page: its loader's errors for damaged, untrusted and mismatched files.

The atomic save itself is tested in ``tests/library/test_checkpoints.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytorch_examples.checkpoints import save_atomically

PAGE = "scale/plot_checkpoints.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def saved_checkpoint(page, path: Path) -> dict:
    """Save the trained run's final state at ``path`` and return that state."""
    state = page["checkpoint_state"](page["model"], page["optimizer"], page["N_EPOCHS"])
    save_atomically(state, path)
    return state


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9])
def test_a_truncated_checkpoint_raises_a_clear_error(page, tmp_path, keep):
    path = tmp_path / "checkpoint.pt"
    saved_checkpoint(page, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(page["CheckpointError"], match=r"checkpoint\.pt \(\d+ bytes\).*truncated"):
        page["load_checkpoint"](path)


def test_a_file_without_the_training_state_is_rejected(page, tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"model": page["model"].state_dict()}, path)
    with pytest.raises(page["CheckpointError"], match=r"lacks \[.*'optimizer'"):
        page["load_checkpoint"](path)


class _RunsOnLoad:
    def __reduce__(self):
        return (print, ("code from the file ran",))


def test_a_file_with_code_is_refused_without_running_it(page, tmp_path, capsys):
    path = tmp_path / "untrusted.pt"
    torch.save({"payload": _RunsOnLoad()}, path)
    with pytest.raises(page["CheckpointError"], match="weights_only=False only if you trust"):
        page["load_checkpoint"](path)
    assert "code from the file ran" not in capsys.readouterr().out


def test_a_checkpoint_of_another_architecture_names_every_mismatch(page, tmp_path):
    path = tmp_path / "checkpoint.pt"
    saved_checkpoint(page, path)
    wider = page["make_model"](hidden=2 * page["HIDDEN"])
    with pytest.raises(RuntimeError, match=r"size mismatch for 0\.weight") as error:
        wider.load_state_dict(page["load_checkpoint"](path)["model"])
    assert "size mismatch for 3.weight" in str(error.value)


def test_a_complete_checkpoint_loads_as_saved(page, tmp_path):
    path = tmp_path / "checkpoint.pt"
    state = saved_checkpoint(page, path)
    loaded = page["load_checkpoint"](path)
    assert loaded["epoch"] == state["epoch"]
    assert all(torch.equal(loaded["model"][k], v) for k, v in state["model"].items())
