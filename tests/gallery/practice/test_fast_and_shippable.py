"""The profiler-and-compile page, run small: its profile's bookkeeping and the compiled model."""

from __future__ import annotations

import math
from contextlib import contextmanager

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
# Operators that compute floating-point results from their inputs.
ARITHMETIC = {"aten::addmm", "aten::mm", "aten::add", "aten::mul", "aten::clamp_min", "aten::tanh"}


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


@contextmanager
def page_threads(page):
    """Run with the page's thread count, which is one of the compiled code's guards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(page["N_THREADS"])
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("batch", [1, 5, 1000])
def test_compiled_model_gives_eager_logits_for_new_batch_sizes_without_compiling(page, batch):
    images = torch.rand(batch, 64, generator=torch.Generator().manual_seed(batch))
    with page_threads(page), torch.inference_mode():
        expected = page["model"](images)
        # Raises if a guard fails: batch 1 has its code, any other size the dynamic one.
        with torch.compiler.set_stance("fail_on_recompile"):
            got = page["compiled"](images)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_compiles_again_tells_a_covered_input_from_one_that_is_not(page):
    with page_threads(page):
        assert not page["compiles_again"](torch.rand(7, 64))
        assert page["compiles_again"](torch.rand(7, 64, dtype=torch.float64))


def test_operators_counted_as_dispatch_do_no_arithmetic(page):
    for (name, size), share in page["shares"].items():
        counted = {op for op in share if page["kind"](op) == "dispatch or view"}
        assert counted <= NO_ARITHMETIC, f"{name}, {size}: {sorted(counted - NO_ARITHMETIC)}"


def test_operators_counted_as_arithmetic_or_copy_are_so(page):
    for (name, size), share in page["shares"].items():
        arithmetic = {op for op in share if page["kind"](op) == "arithmetic"}
        assert arithmetic <= ARITHMETIC, f"{name}, {size}: {sorted(arithmetic - ARITHMETIC)}"
        copies = {op for op in share if page["kind"](op) == "copy"}
        assert copies <= {"aten::copy_"}, f"{name}, {size}: {sorted(copies)}"


def test_profile_shares_cover_a_models_operators_once(page):
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 2))
    share = page["profile_forward"](model, torch.rand(4, 5), 5)
    assert math.isclose(sum(share.values()), 1.0, rel_tol=1e-9)
    assert {"aten::addmm", "aten::tanh"} <= set(share)
    assert not any(op.startswith("ProfilerStep") for op in share)


def test_page_gives_back_the_thread_count_it_found(page):
    assert torch.get_num_threads() == page["default_threads"]
