"""The profiler-and-compile page, run small: what it saves, its profiles, the compiled model."""

from __future__ import annotations

import math
from contextlib import contextmanager

import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from torch import nn
from torch.nn import functional as F

from pytorch_examples.data.digits import load_digits_split

PAGE = "practice/plot_compile_and_profile.py"

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


def test_it_saves_the_chosen_weights_the_split_and_their_validation_loss(page):
    saved = torch.load(page["saved"], weights_only=True)
    model = page["model"]
    assert saved["state_dict"].keys() == model.state_dict().keys()
    assert all(torch.equal(saved["state_dict"][k], v) for k, v in model.state_dict().items())
    assert saved["hidden_units"] == model[0].out_features
    split = load_digits_split(seed=saved["split_seed"])
    assert torch.equal(split.val_x, page["data"].val_x)
    assert torch.equal(split.test_y, page["data"].test_y)
    with torch.no_grad():
        loss = F.cross_entropy(model(split.val_x), split.val_y).item()
    assert math.isclose(saved["val_loss"], loss, rel_tol=1e-5)


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


def test_figure_and_its_labels_fit_inside_the_canvas(page):
    fig = page["fig"]
    canvas = FigureCanvasAgg(fig)  # the page's canvas is gone once its figure is closed
    canvas.draw()
    drawn = fig.get_tightbbox(canvas.get_renderer())  # in inches, like the figure's size
    width, height = fig.get_size_inches()
    assert drawn.x0 >= 0 and drawn.y0 >= 0
    assert drawn.x1 <= width + 1e-6 and drawn.y1 <= height + 1e-6


def test_page_gives_back_the_thread_count_it_found(page):
    assert torch.get_num_threads() == page["default_threads"]
