"""The int8-and-timing page: int8 by hand, the timing bookkeeping, the shipping margin.

It runs after the small runs of the profiler-and-compile page and the export page (same
session), on what they saved.
"""

from __future__ import annotations

import math
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, numpy_helper
from scipy import stats

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.comparison import Difference
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_quantize_and_time.py"


@pytest.fixture(scope="module")
def first(gallery_page):
    return gallery_page("practice/plot_compile_and_profile.py")  # trains and saves


@pytest.fixture(scope="module")
def second(gallery_page, first):
    return gallery_page("practice/plot_export_to_onnx.py")  # exports and saves


@pytest.fixture(scope="module")
def page(gallery_page, second):
    return gallery_page(PAGE)


def fresh_images(batch: int, seed: int) -> torch.Tensor:
    """Pixel values in [0, 1] that the page never saw, for any batch size."""
    return torch.rand(batch, 64, generator=torch.Generator().manual_seed(seed))


def test_run_alone_it_says_which_pages_to_run_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"shipping_mlp\.pt, .*Run plot_compile_and"):
        run_page(GALLERY / PAGE)


def test_without_the_export_pages_files_it_names_them(first, tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    shutil.copy(first["saved"], tmp_path / "results")
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"^shipping_mlp\.pt2, shipping_mlp\.onnx not"):
        run_page(GALLERY / PAGE)


def test_it_times_the_files_the_export_page_wrote(second, page):
    images = fresh_images(9, seed=3)
    with torch.inference_mode():
        for name in ("exported", "ONNX Runtime"):
            expected = second["runtimes"][name](images)
            torch.testing.assert_close(page["runtimes"][name](images), expected, atol=0, rtol=0)
        torch.testing.assert_close(page["model"](images), second["model"](images), atol=0, rtol=0)


def dynamic_quantize(x: np.ndarray) -> tuple[np.ndarray, float, int]:
    """ONNX DynamicQuantizeLinear: uint8 with one scale and zero point from the range, 0 kept."""
    low, high = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = np.float32((high - low) / 255)
    zero_point = int(np.clip(np.round(-low / scale), 0, 255))
    return np.clip(np.round(x / scale) + zero_point, 0, 255).astype(np.int32), scale, zero_point


def int8_forward_by_hand(graph, model: torch.nn.Sequential, x: np.ndarray) -> np.ndarray:
    """The MLP with each linear layer's product in integers, from the graph's own weights."""
    stored = {tensor.name: tensor for tensor in graph.initializer}
    layers = [(index, layer) for index, layer in enumerate(model) if hasattr(layer, "weight")]
    for position, (index, layer) in enumerate(layers):
        prefix = f"{index}.weight_Transposed"
        quantized = stored[f"{prefix}_quantized"]
        assert quantized.data_type == TensorProto.INT8, "weights should be stored as int8"
        weight = numpy_helper.to_array(quantized).astype(np.int32)
        weight_scale = numpy_helper.to_array(stored[f"{prefix}_scale"])
        weight_zero = numpy_helper.to_array(stored[f"{prefix}_zero_point"]).astype(np.int32)
        # The stored integers are the float weights, transposed, within half a step.
        float_weight = layer.weight.detach().numpy().T
        assert np.abs((weight - weight_zero) * weight_scale - float_weight).max() <= (
            weight_scale / 2 + 1e-6
        )
        codes, scale, zero_point = dynamic_quantize(x)
        product = (codes - zero_point) @ (weight - weight_zero)
        x = product.astype(np.float32) * (scale * weight_scale) + layer.bias.detach().numpy()
        if position < len(layers) - 1:
            x = np.maximum(x, 0)
    return x


@pytest.mark.parametrize("batch", [1, 64])
def test_int8_model_is_integer_arithmetic_close_to_but_not_equal_to_float(page, batch):
    graph = page["int8_graph"]
    kinds = {node.op_type for node in graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= kinds
    assert "MatMul" not in kinds and "Gemm" not in kinds, "a float product was left"
    images = fresh_images(batch, seed=100 + batch)
    got = page["runtimes"]["ONNX Runtime int8"](images).numpy()
    by_hand = int8_forward_by_hand(graph, page["model"], images.numpy())
    np.testing.assert_allclose(got, by_hand, atol=1e-4, rtol=1e-4)
    with torch.inference_mode():
        float_logits = page["model"](images).numpy()
    difference = np.abs(got - float_logits).max()
    assert 0 < difference < 0.1 * np.abs(float_logits).max()


def test_time_per_call_averages_over_the_calls_it_was_asked_for(page):
    calls = []

    def slow(images):
        calls.append(images)
        time.sleep(0.002)

    seconds = page["time_per_call"](slow, torch.zeros(1), 4)
    assert len(calls) == 4
    assert 0.002 <= seconds < 0.02


def test_every_runtime_and_batch_size_has_the_stated_number_of_repeats(page):
    times = page["times"]
    assert set(times) == {(name, size) for name in page["runtimes"] for size in page["settings"]}
    assert all(len(repeats) == page["N_REPEATS"] for repeats in times.values())
    assert all(t > 0 for repeats in times.values() for t in repeats)


def test_page_leaves_no_files_behind(page):
    assert not Path(page["workdir"].name).exists()
    assert all(not path.exists() for path in page["files"].values())


@contextmanager
def timings_replaced(page, replaced: dict):
    """Give the page's ``times`` other repeats for a while, then put its own back."""
    times = page.namespace["times"]
    saved = dict(times)
    try:
        times.update(replaced)
        yield
    finally:
        times.clear()
        times.update(saved)


def test_speed_up_is_the_reference_time_over_the_runtimes(page):
    jitter = np.linspace(0.99, 1.01, 8)
    eager, onnx_runtime = list(4e-5 * jitter), list(1e-5 * jitter[::-1])
    replaced = {("eager", "batch 1"): eager, ("ONNX Runtime", "batch 1"): onnx_runtime}
    with timings_replaced(page, replaced):
        cell, verdict = page["speed_up"]("ONNX Runtime", "batch 1")
        assert cell.startswith("4.00 ± ") and verdict == "faster"
        cell, verdict = page["speed_up"]("eager", "batch 1", over="ONNX Runtime")
        assert cell.startswith("0.25 ± ") and verdict == "slower"


def test_speed_up_pairs_repeats_so_a_change_of_load_cancels(page):
    # The load multiplies both runtimes' times in a repeat by up to a hundred; the ratio
    # within each repeat stays 2 (to a thousandth). Unpaired, the spread would drown it.
    load = np.geomspace(1, 100, 8)
    eager = list(2e-5 * load)
    onnx_runtime = list(1e-5 * load * np.linspace(0.999, 1.001, 8))
    replaced = {("eager", "batch 1"): eager, ("ONNX Runtime", "batch 1"): onnx_runtime}
    with timings_replaced(page, replaced):
        cell, verdict = page["speed_up"]("ONNX Runtime", "batch 1")
    assert cell.startswith("2.00 ± 0.00") and verdict == "faster"
    assert stats.ttest_ind(np.log(eager), np.log(onnx_runtime)).pvalue > 0.05


def test_the_rule_ships_int8_only_if_faster_than_float32_and_as_accurate(page):
    rule, costs = page["file_to_ship"], page.namespace["int8_cost"]
    saved = dict(costs)
    try:
        for name in costs:
            costs[name] = Difference(0.0, 0.01, 359)  # a tie in accuracy
        assert rule("faster") == "ONNX Runtime int8"
        assert rule("tie") == rule("slower") == "ONNX Runtime"
        costs["int8 one at a time"] = Difference(-0.05, 0.01, 359)  # a real loss
        assert rule("faster") == "ONNX Runtime"
    finally:
        costs.clear()
        costs.update(saved)


def test_accepted_loss_is_the_largest_within_noise_by_the_closed_form(page):
    # k losses and no gains out of n: the paired differences are k values of -1 and
    # n - k zeros, so z = -sqrt(k (n - 1) / (n - k)); the threshold is Student's t with
    # n - 1 degrees of freedom at the two-sided coverage of two normal standard errors.
    n = len(page["data"].val_y)
    threshold = stats.t.ppf(stats.norm.cdf(2.0), n - 1)
    largest = max(k for k in range(n) if math.sqrt(k * (n - 1) / (n - k)) <= threshold)
    assert page["accepted"] == largest
