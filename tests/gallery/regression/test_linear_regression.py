"""The three linear regression pages reach least squares, and agree with each other."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def regression_results(gallery_page):
    """Final (w, b), loss history and the least squares answer of each regression page."""
    return {
        level: gallery_page(f"regression/plot_linear_regression_{level}.py")
        for level in ("autograd", "minibatch", "nn")
    }


# Full-batch descent on standardized x converges geometrically, so after its epochs it
# is within 0.005 (slope) and 0.05 (intercept) of least squares. Mini-batch descent
# keeps some batch noise: within 0.01 and 0.5, a tenth of the intercept's standard
# error (noise 50 / sqrt(100 points) = 5).
TOLERANCES = {"autograd": (0.005, 0.05), "minibatch": (0.01, 0.5), "nn": (0.01, 0.5)}


@pytest.mark.parametrize("level", TOLERANCES)
def test_each_level_reaches_least_squares(regression_results, level):
    namespace = regression_results[level]
    slope_tol, intercept_tol = TOLERANCES[level]
    assert namespace["w_fit"] == pytest.approx(namespace["lstsq_slope"], abs=slope_tol)
    assert namespace["b_fit"] == pytest.approx(namespace["lstsq_intercept"], abs=intercept_tol)


def test_the_three_levels_agree_with_each_other(regression_results):
    fits = [(ns["w_fit"], ns["b_fit"]) for ns in regression_results.values()]
    for w, b in fits[1:]:
        assert w == pytest.approx(fits[0][0], abs=0.015)
        assert b == pytest.approx(fits[0][1], abs=0.55)


@pytest.mark.parametrize("level", TOLERANCES)
def test_training_reaches_the_noise_floor(regression_results, level):
    namespace = regression_results[level]
    losses = namespace["losses"]
    steps_per_epoch = len(losses) // namespace["N_EPOCHS"]
    # Every point is in exactly one batch of an epoch, so the last epoch's mean is the
    # loss over all the data. The best possible mean squared error is about the noise
    # variance.
    last_epoch = sum(losses[-steps_per_epoch:]) / steps_per_epoch
    noise_variance = namespace["NOISE_STD"] ** 2
    assert last_epoch < 1.3 * noise_variance
    assert losses[0] > 3 * noise_variance


def test_raw_inputs_leave_the_intercept_behind(regression_results):
    namespace = regression_results["autograd"]
    raw_w, raw_b = namespace["raw_params"][-1]
    assert raw_w == pytest.approx(namespace["lstsq_slope"], abs=0.01)
    assert abs(raw_b) < 0.1 * abs(namespace["lstsq_intercept"])
