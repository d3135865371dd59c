"""The checklist page: its rate, its faulty loop and its measure of noise.

It runs after the range-test page's small run (same session), at the rate that run saved.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional as F

from pages import GALLERY, run_page
from pytorch_examples import results
from pytorch_examples.results import MissingResultsError

PAGE = "practice/plot_loss_curve_symptoms.py"


@pytest.fixture(scope="module")
def page(gallery_page, range_test):
    return gallery_page(PAGE)


def test_run_alone_it_says_to_run_the_range_test_page_first(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "cache_dir", lambda: tmp_path)
    with pytest.raises(MissingResultsError, match=r"Run plot_learning_rate_range_test\.py"):
        run_page(GALLERY / PAGE)


def test_the_working_loop_is_the_range_test_s_chosen_run(page, range_test):
    assert page["RATE"] == pytest.approx(range_test["picked"] * range_test["chosen"], rel=1e-12)
    model = page["train"](steps=range_test["N_STEPS"])[0]
    with torch.no_grad():
        val = F.cross_entropy(model(page["data"].val_x), page["data"].val_y, reduction="none")
    torch.testing.assert_close(val, range_test["val_losses"][range_test["chosen"]])


def test_the_gradient_left_is_the_last_batch_s_or_none_with_a_late_zero_grad(
    page, monkeypatch, last_batch_gradient
):
    # At rate 0 the weights stay put, so the last batch's gradient can be recomputed on
    # the initial network; zero_grad() after backward() leaves no gradient to apply.
    monkeypatch.setitem(page.namespace, "RATE", 0.0)
    expected = last_batch_gradient(page)
    model = page["train"](steps=2)[0]
    for parameter, gradient in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)
    faulty = page["train"](fault="zero_grad after backward", steps=2)[0]
    assert all(parameter.grad is None for parameter in faulty.parameters())


def test_the_loop_records_the_loss_on_all_training_images_every_so_many_steps(page):
    model, batch_losses, losses = page["train"](steps=6, every=3)
    assert len(batch_losses) == 6
    assert len(losses) == 2
    with torch.no_grad():
        last = F.cross_entropy(model(page["data"].train_x), page["data"].train_y).item()
    assert losses[-1] == pytest.approx(last, rel=1e-5)


def test_a_smaller_batch_keeps_the_rate_per_image_and_the_number_of_images(page):
    # With an empty momentum buffer the first step moves each weight by rate * gradient,
    # so the weights after one step give the rate the loop used for that batch size.
    data, small = page["data"], page["NOISY_BATCH_SIZE"]
    batch = torch.randint(
        len(data.train_y), (small,), generator=torch.Generator().manual_seed(page["SEED"])
    )
    reference = page["make_mlp"]()
    loss = F.cross_entropy(reference(data.train_x[batch]), data.train_y[batch])
    gradients = torch.autograd.grad(loss, list(reference.parameters()))
    model = page["train"](batch_size=small, steps=1)[0]
    expected_rate = page["RATE"] * small / page["BATCH_SIZE"]
    for before, after, gradient in zip(
        reference.parameters(), model.parameters(), gradients, strict=True
    ):
        torch.testing.assert_close(after, before - expected_rate * gradient)
    images = [
        len(page[name]) * size
        for name, size in (("noisy_batches", small), ("fixed_batches", page["BATCH_SIZE"]))
    ]
    assert images[0] == images[1] == page["N_STEPS"] * page["BATCH_SIZE"]


def test_the_relative_spread_ignores_the_level_and_the_first_half(page):
    # Last half: blocks of (1, 3), whose standard deviation is sqrt(2) and mean 2.
    losses = [100.0] * 30 + [1.0, 3.0] * 15
    spreads = page["relative_spreads"](losses, 15)
    assert spreads.exp().tolist() == pytest.approx([math.sqrt(2) / 2] * 15, rel=1e-12)
    scaled = page["relative_spreads"]([1e-3 * loss for loss in losses], 15)
    assert scaled.tolist() == pytest.approx(spreads.tolist(), rel=1e-9)
    wider = page["relative_spreads"]([100.0] * 30 + [1.0, 5.0] * 15, 5)  # blocks of 6
    assert len(wider) == 5
    assert wider.exp().tolist() == pytest.approx([(4 * 6 / 5) ** 0.5 / 3] * 5, rel=1e-12)
