"""The GPU training page, run on the CPU with its small settings from the manifest.

The page needs CUDA to run as written, so the docs build runs it only on a GPU
machine. The test suite runs the same script on the CPU (bfloat16 autocast,
channels_last and the on-device augmentation included) with 64 training images, a
narrow network and three epochs of eight steps. The float16 path with its gradient
scaler, which the page takes on GPUs older than Ampere, is run on the CPU too.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.nn import functional as F

PAGE = "vision/plot_gpu_fast_cifar10.py"


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page(PAGE)


def test_the_network_is_channels_last_and_scores_ten_classes(page):
    model = page["model"]
    assert model.layers[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    images = page["to_input"](page["test_images"][:5])
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model.eval()(images)
    model.train()
    assert logits.shape == (5, 10) and logits.dtype == torch.bfloat16


def test_mirror_scoring_averages_the_two_passes_and_keeps_the_training_mode(page):
    model, images, labels = page["model"], page["val_images"][:32], page["val_labels"][:32]
    model.train()
    evaluation = page["score"](images, labels, mirror_average=True)
    assert model.training  # the page's old loop left every model in training mode
    model.eval()
    inputs = page["to_input"](images)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        logits = (model(inputs).float() + model(inputs.flip(3)).float()) / 2
    model.train()
    assert torch.equal(evaluation.predictions, logits.argmax(dim=1))
    assert evaluation.loss == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-4)


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
