"""The export page: what it loads, the exported program and the ONNX file against eager.

It runs after the profiler-and-compile page's small run (same session), on what that run saved.
"""

from __future__ import annotations

import copy

import onnx
import pytest
import torch

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_export_to_onnx.py"


@pytest.fixture(scope="module")
def first(gallery_page):
    return gallery_page("practice/plot_compile_and_profile.py")  # trains and saves


@pytest.fixture(scope="module")
def page(gallery_page, first):
    return gallery_page(PAGE)


def fresh_images(batch: int, seed: int) -> torch.Tensor:
    """Pixel values in [0, 1] that the page never saw, for any batch size."""
    return torch.rand(batch, 64, generator=torch.Generator().manual_seed(seed))


def test_run_alone_it_says_to_run_the_profiler_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_compile_and_profile\.py first"):
        run_page(GALLERY / PAGE)


def test_it_exports_the_model_the_first_page_trained_on_the_same_split(first, page):
    expected = first["model"].state_dict()
    loaded = page["model"].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], value) for key, value in expected.items())
    assert torch.equal(page["data"].val_x, first["data"].val_x)


@pytest.mark.parametrize("batch", [1, 37, 1000])
def test_both_files_match_eager_at_batch_sizes_the_export_never_saw(page, batch):
    images = fresh_images(batch, seed=batch)
    with torch.inference_mode():
        expected = page["model"](images)
        for name in ("exported", "ONNX Runtime"):
            got = page["runtimes"][name](images)
            assert got.shape == (batch, 10), name
            torch.testing.assert_close(got, expected, atol=page["TOLERANCE"], rtol=0)


def test_tolerance_covers_float32_rounding_against_float64(page):
    # Two float32 computations that each lie within half the tolerance of the exact
    # (float64) logits lie within the tolerance of each other.
    model = page["model"]
    images = torch.cat([page["data"].val_x, fresh_images(200, seed=4)])
    with torch.inference_mode():
        exact = copy.deepcopy(model).double()(images.double())
        float32 = model(images).double()
        onnx_runtime = page["runtimes"]["ONNX Runtime"](images).double()
    for logits in (float32, onnx_runtime):
        assert (logits - exact).abs().max().item() <= page["TOLERANCE"] / 2


def test_exported_program_accepts_any_batch_but_not_another_image_size(page):
    loaded = page["loaded"]
    with pytest.raises(AssertionError):
        loaded(torch.zeros(3, 63))
    with pytest.raises(AssertionError):
        loaded(torch.zeros(3, 65))
    assert loaded(fresh_images(5, seed=1)).shape == (5, 10)


def test_the_onnx_file_names_the_batch_dimension_and_fixes_the_pixels(page):
    model = onnx.load(page["files"]["onnx"])
    onnx.checker.check_model(model)
    (image_input,) = model.graph.input
    batch, pixels = image_input.type.tensor_type.shape.dim
    assert batch.dim_param and not batch.dim_value
    assert pixels.dim_value == 64
