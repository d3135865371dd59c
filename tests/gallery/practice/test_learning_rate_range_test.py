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


def test_the_gradient_left_is_the_last_batch_s(page, last_batch_gradient):
    # At rate 0 the weights stay put, so the last batch's gradient can be recomputed on
    # the initial network.
    expected = last_batch_gradient(page)
    model = page["train"](0.0, steps=2)
    for parameter, gradient in zip(model.parameters(), expected, strict=True):
        torch.testing.assert_close(parameter.grad, gradient)


def test_the_chosen_rate_alone_reproduces_the_chosen_run(page):
    # What the next pages read is the rate; trained again at it, the network must be the
    # run whose validation losses made the choice.
    model = page["train"](page["picked"] * page["chosen"])
    with torch.no_grad():
        val = F.cross_entropy(model(page["data"].val_x), page["data"].val_y, reduction="none")
    torch.testing.assert_close(val, page["val_losses"][page["chosen"]])
