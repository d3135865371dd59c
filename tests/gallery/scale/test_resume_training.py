"""The resume page: a run resumed after any epoch continues as if it had never stopped."""

from __future__ import annotations

import io

import pytest
import torch

PAGE = "scale/plot_resume_training.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def through_a_file(state: dict) -> dict:
    """What a new process would read back: the state saved and loaded again."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("stop_after", [1, 2])
def test_a_run_resumed_after_any_epoch_equals_one_that_never_stopped(page, stop_after):
    # The page stops at one epoch only; the reference here is a run of the page's own
    # functions that never stops, trained to a different end.
    seed, end = page["SEED"], stop_after + 1
    reference = page["new_run"](seed)
    page["train"](reference, end)
    stopped = page["new_run"](seed)
    page["train"](stopped, stop_after)
    state = through_a_file(page["checkpoint_state"](stopped))
    resumed = page["new_run"](seed + 1)
    page["restore"](resumed, state)
    page["train"](resumed, end)
    expected = reference["model"].state_dict()
    assert all(torch.equal(v, expected[k]) for k, v in resumed["model"].state_dict().items())
    assert resumed["scheduler"].get_last_lr() == reference["scheduler"].get_last_lr()
