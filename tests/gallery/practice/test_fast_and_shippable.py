"""The profiler-and-compile page, run small: its profile's bookkeeping and the compiled model."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

PAGE = "practice/plot_fast_and_shippable.py"

# Operators that only pass a call on or make a view of a tensor: no arithmetic.
NO_ARITHMETIC = {
    "aten::linear",
    "aten::t",
    "aten::transpose",
    "aten::expand",
    "aten::as_strided",
    "aten::relu",  # passes the call on to aten::clamp_min
    "aten::resolve_conj",
    "aten::resolve_neg",
    "aten::view",
    "aten::reshape",
    "aten::empty",
}


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


@pytest.mark.parametrize("batch", [3, 100])
def test_compiled_model_gives_eager_logits_for_new_batch_sizes(page, batch):
    images = torch.rand(batch, 64, generator=torch.Generator().manual_seed(batch))
    with torch.inference_mode():
        expected = page["model"](images)
        got = page["compiled"](images)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_operators_counted_as_dispatch_do_no_arithmetic(page):
    for (name, size), share in page["shares"].items():
        counted = {op for op in share if page["kind"](op) == "dispatch or view"}
        assert counted <= NO_ARITHMETIC, f"{name}, {size}: {sorted(counted - NO_ARITHMETIC)}"


def test_profile_shares_cover_a_models_operators_once(page):
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
    share = page["profile_forward"](model, torch.rand(4, 5), 5)
    assert math.isclose(sum(share.values()), 1.0, rel_tol=1e-9)
    assert {"aten::addmm", "aten::tanh"} <= set(share)
    assert not any(op.startswith("ProfilerStep") for op in share)


def test_page_gives_back_the_thread_count_it_found(page):
    assert torch.get_num_threads() == page["default_threads"]
