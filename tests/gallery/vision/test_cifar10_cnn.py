"""The CNN training page, run with a few hundred images, a narrow network and two epochs."""

from __future__ import annotations

import math

import torch

PAGE = "vision/plot_cifar10_cnn.py"


def test_the_precision_choice_takes_bfloat16_only_when_it_is_faster_beyond_the_noise(
    gallery_page,
):
    choose = gallery_page(PAGE)["choose_precision"]
    steady, fast = [0.50, 0.52, 0.51], [0.20, 0.21, 0.22]  # seconds per step
    assert choose({"float32": fast, "bfloat16": steady}) == "float32"
    assert choose({"float32": steady, "bfloat16": steady}) == "float32"
    assert choose({"float32": steady, "bfloat16": fast}) == "bfloat16"
    # Faster on average, but within the spread of the timings: a tie, float32.
    assert choose({"float32": [0.2, 0.9, 0.5], "bfloat16": [0.1, 0.8, 0.4]}) == "float32"


def test_the_network_scores_ten_classes_in_either_memory_layout(gallery_page):
    model = gallery_page(PAGE)["new_model"]((8, 16, 32))
    images = torch.randn(5, 3, 32, 32)
    assert model(images.contiguous(memory_format=torch.channels_last)).shape == (5, 10)
    assert model(images).shape == (5, 10)


def test_training_in_bfloat16_runs_and_keeps_the_weights_float32(gallery_page):
    """The build machine may choose float32; the bfloat16 path must still work."""
    train = gallery_page(PAGE)["train"]
    namespace = train.__globals__
    chosen = namespace["precision"]
    namespace["precision"] = "bfloat16"
    try:
        model, history, seconds = train(augmented=True)
    finally:
        namespace["precision"] = chosen
    assert all(math.isfinite(value) for value in history["train_loss"]) and seconds > 0
    assert all(p.dtype == torch.float32 for p in model.parameters())
