"""The scale pages: atomic save, clear load errors, exact resume, shards, DDP and FSDP."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import torch

from pages import GALLERY, run_page

CHECKPOINTS = GALLERY / "scale" / "plot_checkpoints.py"
RESUME = GALLERY / "scale" / "plot_resume_training.py"
DDP = GALLERY / "scale" / "plot_distributed_data_parallel.py"
FSDP = GALLERY / "scale" / "plot_fsdp.py"


@pytest.fixture(scope="module")
def page():
    """The checkpoint page, training 2 epochs instead of its own number."""
    return run_page(CHECKPOINTS, N_EPOCHS=2)


@pytest.fixture(scope="module")
def resume_page():
    """The resume page, stopped after 2 of 4 epochs instead of its own split."""
    return run_page(RESUME, N_EPOCHS=4, STOP_AFTER=2)


@pytest.fixture(scope="module")
def ddp_page():
    """The DDP page as it is: it starts its processes and collects their reports."""
    return run_page(DDP)


@pytest.fixture(scope="module")
def fsdp_page():
    """The FSDP page as it is: it starts its processes and collects their reports."""
    return run_page(FSDP)


def saved_checkpoint(page, path: Path) -> dict:
    """Save the trained run's final state at ``path`` and return that state."""
    state = page["checkpoint_state"](page["model"], page["optimizer"], page["N_EPOCHS"])
    page["save_checkpoint"](state, path)
    return state


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


# Checkpoints


@pytest.mark.parametrize("fraction", [0.0, 0.5, 0.99])
@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()], ids=repr)
def test_an_interrupted_save_keeps_the_previous_checkpoint(
    page, tmp_path, monkeypatch, fraction, error
):
    path = tmp_path / "checkpoint.pt"
    old = saved_checkpoint(page, path)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", interrupted_save(fraction, error))
        with pytest.raises(type(error)):
            page["save_checkpoint"]({**old, "epoch": old["epoch"] + 1}, path)
    assert page["load_checkpoint"](path)["epoch"] == old["epoch"]
    assert sorted(tmp_path.iterdir()) == [path], "the temporary file was left behind"


def test_the_same_interruption_destroys_a_plain_torch_save(page, tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    old = saved_checkpoint(page, path)
    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", interrupted_save(0.5, OSError("disk full")))
        with pytest.raises(OSError, match="disk full"):
            torch.save(old, path)
    with pytest.raises(page["CheckpointError"], match="truncated"):
        page["load_checkpoint"](path)


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


def test_the_checkpoint_loads_back_the_trained_weights(page, tmp_path):
    path = tmp_path / "checkpoint.pt"
    saved_checkpoint(page, path)
    loaded = page["load_checkpoint"](path)
    trained = page["model"].state_dict()
    assert loaded["epoch"] == page["N_EPOCHS"]
    assert all(torch.equal(loaded["model"][name], trained[name]) for name in trained)


# Resuming


def test_the_resumed_run_equals_the_uninterrupted_run_bit_for_bit(resume_page):
    resumed = resume_page["resumed"]["model"].state_dict()
    reference = resume_page["uninterrupted"]["model"].state_dict()
    assert resume_page["resumed"]["epoch"] == 4
    assert resumed.keys() == reference.keys()
    assert all(torch.equal(resumed[name], reference[name]) for name in reference)


def test_a_resume_without_the_random_states_ends_elsewhere(resume_page):
    other = resume_page["no_rng"]["model"].state_dict()
    reference = resume_page["uninterrupted"]["model"].state_dict()
    assert not all(torch.equal(other[name], reference[name]) for name in reference)


def test_the_resume_checkpoint_holds_the_whole_training_state(resume_page, tmp_path):
    path = tmp_path / "checkpoint.pt"
    resume_page["save_checkpoint"](resume_page["checkpoint_state"](resume_page["resumed"]), path)
    state = torch.load(path, weights_only=True)
    expected = {"epoch", "model", "optimizer", "scheduler", "torch_rng", "data_order_rng"}
    assert set(state) == expected
    assert sorted(tmp_path.iterdir()) == [path], "the temporary file was left behind"


# DistributedDataParallel and FSDP


def test_each_epoch_the_ranks_get_disjoint_shards_that_cover_the_data(ddp_page):
    n_samples, n_processes = ddp_page["N_SAMPLES"], ddp_page["N_PROCESSES"]
    reports = ddp_page["ddp"]["reports"]
    assert len(reports) == n_processes
    for epoch in range(ddp_page["N_EPOCHS"]):
        shards = [report["shards"][epoch] for report in reports]
        assert [len(shard) for shard in shards] == [n_samples // n_processes] * n_processes
        assert sorted(index for shard in shards for index in shard) == list(range(n_samples))


def test_the_ranks_split_the_single_process_order_and_it_changes_each_epoch(ddp_page):
    n_processes = ddp_page["N_PROCESSES"]
    single = ddp_page["single"]["reports"][0]["shards"]
    for rank, report in enumerate(ddp_page["ddp"]["reports"]):
        for epoch, order in enumerate(single):
            assert report["shards"][epoch] == order[rank::n_processes]
    assert len({tuple(order) for order in single}) == len(single)


@pytest.mark.parametrize(("fixture", "run"), [("ddp_page", "ddp"), ("fsdp_page", "fsdp")])
def test_two_processes_train_like_one_with_twice_the_batch(request, fixture, run):
    page = request.getfixturevalue(fixture)
    several, single = page[run]["state"], page["single"]["state"]
    assert several.keys() == single.keys()
    gap = max((several[name] - single[name]).abs().max().item() for name in single)
    assert gap <= 1e-5


def one_copy_bytes(page) -> int:
    """Bytes of float32 parameters, gradients and momentum of the page's whole model."""
    n_values = sum(tensor.numel() for tensor in page["single"]["state"].values())
    return 3 * 4 * n_values


def test_every_ddp_rank_stores_a_whole_copy_of_the_model(ddp_page):
    ddp_bytes = [report["held_bytes"] for report in ddp_page["ddp"]["reports"]]
    assert ddp_bytes == [one_copy_bytes(ddp_page)] * ddp_page["N_PROCESSES"]


def test_ddp_buckets_add_a_copy_of_the_gradients_unless_the_gradients_are_views(ddp_page):
    copy, n_processes = one_copy_bytes(ddp_page), ddp_page["N_PROCESSES"]
    gradients = copy // 3  # parameters, gradients and momentum are the same size
    default = [report["total_bytes"] for report in ddp_page["ddp"]["reports"]]
    views = [report["total_bytes"] for report in ddp_page["views"]["reports"]]
    assert default == [copy + gradients] * n_processes
    assert views == [copy] * n_processes


def test_fsdp_ranks_store_one_copy_of_the_model_between_them(fsdp_page):
    copy = one_copy_bytes(fsdp_page)
    fsdp_bytes = [report["held_bytes"] for report in fsdp_page["fsdp"]["reports"]]
    assert len(fsdp_bytes) == fsdp_page["N_PROCESSES"]
    assert fsdp_page["single"]["reports"][0]["held_bytes"] == copy
    assert sum(fsdp_bytes) == copy
    assert max(fsdp_bytes) < copy
