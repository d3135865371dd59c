"""The export-and-quantize page, run small: exported models against eager, int8 by hand."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from onnx import TensorProto, numpy_helper
from scipy import stats

PAGE = "practice/plot_export_and_quantize.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def fresh_images(batch: int, seed: int) -> torch.Tensor:
    """Pixel values in [0, 1] that the page never saw, for any batch size."""
    return torch.rand(batch, 64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("batch", [1, 37, 1000])
def test_float_runtimes_match_eager_at_batch_sizes_the_export_never_saw(page, batch):
    images = fresh_images(batch, seed=batch)
    with torch.inference_mode():
        expected = page["model"](images)
        for name in ("exported", "ONNX Runtime"):
            got = page["runtimes"][name](images)
            assert got.shape == (batch, 10), name
            torch.testing.assert_close(got, expected, atol=page["TOLERANCE"], rtol=0)


def test_exported_program_accepts_any_batch_but_not_another_image_size(page):
    loaded = page["loaded"]
    with pytest.raises(AssertionError):
        loaded(torch.zeros(3, 63))
    with pytest.raises(AssertionError):
        loaded(torch.zeros(3, 65))
    assert loaded(fresh_images(5, seed=1)).shape == (5, 10)


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


def test_speed_up_is_the_reference_time_over_the_runtimes(page):
    times = page.namespace["times"]
    saved = dict(times)
    try:
        jitter = np.linspace(0.99, 1.01, 8)
        times["eager", "batch 1"] = list(4e-5 * jitter)
        times["ONNX Runtime", "batch 1"] = list(1e-5 * jitter[::-1])
        cell, verdict = page["speed_up"]("ONNX Runtime", "batch 1")
        assert cell.startswith("4.00 ± ") and verdict == "faster"
        cell, verdict = page["speed_up"]("eager", "batch 1", over="ONNX Runtime")
        assert cell.startswith("0.25 ± ") and verdict == "slower"
    finally:
        times.clear()
        times.update(saved)


def test_accepted_loss_is_the_largest_within_noise_by_the_closed_form(page):
    # k losses and no gains out of n: the paired differences are k values of -1 and
    # n - k zeros, so z = -sqrt(k (n - 1) / (n - k)); the threshold is Student's t with
    # n - 1 degrees of freedom at the two-sided coverage of two normal standard errors.
    n = len(page["data"].val_y)
    threshold = stats.t.ppf(stats.norm.cdf(2.0), n - 1)
    largest = max(k for k in range(n) if math.sqrt(k * (n - 1) / (n - k)) <= threshold)
    assert page["accepted"] == largest
