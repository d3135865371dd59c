"""The GPU training page, run on the CPU with a tiny configuration.

The page needs CUDA to run as written, so the docs build runs it only on a GPU
machine. This smoke test runs the same script on the CPU, bfloat16 autocast, channels_last
and the on-device augmentation included, with 64 training images, a narrow network and
three epochs of eight steps, and checks what it computed. The float16 path with its
gradient scaler, which the page takes on GPUs older than Ampere, is run on the CPU too.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch

from pages import GALLERY, run_page

PAGE = GALLERY / "vision" / "plot_gpu_fast_cifar10.py"
# Small enough for a shared CPU (bfloat16 convolutions are slow there), large enough
# that the training loss falls over three epochs for every seed tried.
TINY = {
    "DEVICE": "cpu",
    "SUBSET": 64,
    "N_VALIDATION": 64,
    "N_EPOCHS": 3,
    "BATCH_SIZE": 8,
    "EVAL_BATCH_SIZE": 128,
    "WIDTH": 4,
    "WARMUP_STEPS": 1,
}


@pytest.fixture(scope="module")
def page():
    return run_page(PAGE, **TINY)


def test_the_tiny_run_keeps_validation_and_test_apart_from_training(page):
    train, val = set(page["train_index"].tolist()), set(page["val_index"].tolist())
    assert len(train) == TINY["SUBSET"] and len(val) == TINY["N_VALIDATION"]
    assert not train & val
    assert len(page["test_labels"]) == TINY["SUBSET"]


def test_the_tiny_run_trains(page):
    history = page["history"]
    for name in ("train_loss", "val_loss", "val_accuracy"):
        assert len(history[name]) == TINY["N_EPOCHS"]
        assert all(math.isfinite(value) for value in history[name])
    assert all(0 <= accuracy <= 1 for accuracy in history["val_accuracy"])
    # With the page's seed the loss falls by about 0.14 (by 0.07 to 0.14 over seeds 0-5).
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert math.isfinite(page["test_loss"]) and 0 <= page["test_accuracy"] <= 1
    assert page["training_seconds"] > 0 and page["images_per_second"] > 0
    assert isinstance(page["use_mirror"], bool)


def test_the_network_is_channels_last_and_scores_ten_classes(page):
    model = page["model"]
    first_weight = model.layers[0][0].weight
    assert first_weight.is_contiguous(memory_format=torch.channels_last)
    images = page["to_input"](page["test_images"][:5])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model.eval()(images)
    assert logits.shape == (5, 10)
    assert logits.dtype == torch.bfloat16


def test_crop_and_flip_cuts_a_shifted_window_and_mirrors_some(page):
    crop_and_flip, padding = page["crop_and_flip"], page["CROP_PADDING"]
    torch.manual_seed(1)
    images = torch.randint(1, 256, (32, 3, 8, 8), dtype=torch.uint8)
    out = crop_and_flip(images)
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    size = 2 * padding + 1
    mirrored = 0
    for image, result in zip(padded, out, strict=True):
        windows = [image[:, y : y + 8, x : x + 8] for y in range(size) for x in range(size)]
        if any(torch.equal(result, window) for window in windows):
            continue
        assert any(torch.equal(result, window.flip(2)) for window in windows)
        mirrored += 1
    assert 0 < mirrored < len(images)


@pytest.mark.parametrize(
    ("capability", "expected"),
    [
        ((6, 1), torch.float32),
        ((7, 0), torch.float16),
        ((7, 5), torch.float16),
        ((8, 0), torch.bfloat16),
        ((9, 0), torch.bfloat16),
    ],
)
def test_autocast_is_bfloat16_from_ampere_on_float16_on_volta_float32_before(
    page, monkeypatch, capability, expected
):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    assert page["autocast_dtype_for"](torch.device("cuda")) == expected
    assert page["autocast_dtype_for"](torch.device("cpu")) == torch.bfloat16


def test_a_float16_step_goes_through_the_gradient_scaler(page):
    """A scale so large that the float16 gradients overflow: the step is skipped and the
    scale lowered; at the lowered scale the steps train."""
    namespace = page["train_step"].__globals__
    saved = {name: namespace[name] for name in ("autocast_dtype", "scaler", "train_model")}
    model = copy.deepcopy(page["model"])
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**40)
    namespace.update(autocast_dtype=torch.float16, scaler=scaler, train_model=model)
    try:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        images, labels = page["train_images"][:16], page["train_labels"][:16]
        before = [p.detach().clone() for p in model.parameters()]
        page["train_step"](images, labels, optimizer)
        assert scaler.get_scale() < 2.0**40
        assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
        scaler.update(2.0**8)
        losses = [page["train_step"](images, labels, optimizer) for _ in range(3)]
    finally:
        namespace.update(saved)
    assert all(math.isfinite(loss.item()) for loss in losses)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
