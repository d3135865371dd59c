"""The range-test page: its schedule, its smoothing, its rule and its training loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F


@pytest.fixture(scope="module")
def page(gallery_page):
    return gallery_page("practice/plot_learning_rate_range_test.py")


def test_the_schedule_is_geometric_from_start_to_end(page):
    rates = page["range_test_rates"](1e-4, 10.0, 11)
    np.testing.assert_allclose(rates, np.geomspace(1e-4, 10.0, 11), rtol=1e-12)
    assert rates[0] == 1e-4
    assert rates[-1] == pytest.approx(10.0, rel=1e-12)


def test_the_rule_picks_a_tenth_of_the_lowest_point_of_a_known_curve(page):
    rates = list(np.geomspace(1e-3, 1.0, 31))
    curve = [(math.log10(r) + 1) ** 2 + 1 for r in rates]  # lowest at 0.1
    assert page["pick_rate"](rates, curve) == pytest.approx(0.1 / page["RULE_FACTOR"])
    # The test stops on a loss that is not a number; that last value must not be chosen.
    diverging = [*curve[:25], math.nan]
    assert page["pick_rate"](rates[:26], diverging) == pytest.approx(0.1 / page["RULE_FACTOR"])


def test_the_smoothed_loss_is_a_weighted_mean_of_the_losses_so_far(page):
    # The bias-corrected moving average is the mean of the losses so far with weights
    # beta**age, which is how it is written here.
    beta, raw = page["SMOOTHING"], page["raw_losses"]
    for k, smoothed in enumerate(page["smoothed_losses"]):
        weights = np.array([beta ** (k - i) for i in range(k + 1)])
        expected = float(np.dot(weights, raw[: k + 1]) / weights.sum())
        if math.isfinite(expected):
            assert smoothed == pytest.approx(expected, rel=1e-9)


def test_the_range_test_stops_only_by_its_rule(page):
    smoothed, factor = page["smoothed_losses"], page["STOP_FACTOR"]
    assert all(s <= factor * min(smoothed[: k + 1]) for k, s in enumerate(smoothed[:-1]))
    last = smoothed[-1]
    if len(smoothed) < page["RANGE_STEPS"]:
        assert not math.isfinite(last) or last > factor * min(smoothed)


def test_the_gradient_left_is_the_last_batch_s_or_none_with_a_late_zero_grad(page):
    # At rate 0 the weights stay put, so the last batch's gradient can be recomputed on
    # the initial network; zero_grad() after backward() leaves no gradient to apply.
    data, batch_size = page["data"], page["BATCH_SIZE"]
    batches = torch.Generator().manual_seed(page["SEED"])
    for _ in range(2):  # one batch per step; the second is the last
        batch = torch.randint(len(data.train_y), (batch_size,), generator=batches)
    reference = page["make_mlp"]()
    loss = F.cross_entropy(reference(data.train_x[batch]), data.train_y[batch])
    expected = torch.autograd.grad(loss, list(reference.parameters()))
    model = page["train"](0.0, steps=2)[0]
    for parameter, gradient in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)
    faulty = page["train"](0.0, fault="zero_grad after backward", steps=2)[0]
    assert all(parameter.grad is None for parameter in faulty.parameters())


def test_the_log_noise_measure_ignores_the_level_and_uses_changes_that_share_no_record(page):
    # A loss that halves at every record changes by ln 2 each time, at any level.
    halving = [3.0 * 0.5**k for k in range(20)]
    changes = page["changes"](halving, log=True)
    assert changes.tolist() == pytest.approx([math.log(2)] * len(changes), rel=1e-5)
    lower = page["changes"]([1e-3 * loss for loss in halving], log=True)
    assert lower.tolist() == pytest.approx(changes.tolist(), rel=1e-5)  # float32
    # Last half of 20 records: 10 records, 9 changes; every other one shares no record.
    assert len(changes) == 5
    rising = [1.0] * 10 + [math.exp(k * k) for k in range(10)]  # changes 1, 3, 5, ...
    assert page["changes"](rising, log=True).tolist() == pytest.approx([1, 5, 9, 13, 17], rel=1e-5)


def test_the_plain_noise_measure_is_the_size_of_the_change(page):
    # Without the log the same halving loss changes by half its level: the level counts.
    halving = [3.0 * 0.5**k for k in range(20)]
    expected = [abs(halving[k + 1] - halving[k]) for k in range(10, 19, 2)]
    assert page["changes"](halving).tolist() == pytest.approx(expected, rel=1e-5)
