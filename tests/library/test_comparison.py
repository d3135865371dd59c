import math

import pytest
import torch
from scipy import stats

from pytorch_examples.comparison import (
    NOISE_LEVEL,
    Difference,
    accuracy_difference,
    cheapest_within_noise,
    mean_standard_error,
    paired_difference,
    subset_contrast,
    timing_difference,
)


def test_the_paired_difference_has_the_paired_t_statistic():
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(200, generator=generator)
    b = a + 0.05 * torch.randn(200, generator=generator) + 0.01
    result = paired_difference(a, b)
    expected = stats.ttest_rel(a.numpy(), b.numpy())
    assert result.difference == pytest.approx((a - b).double().mean().item())
    assert result.z == pytest.approx(expected.statistic)
    assert result.count == 200


def test_pairing_removes_what_both_models_share():
    generator = torch.Generator().manual_seed(1)
    shared = 5 * torch.randn(500, generator=generator)  # hard and easy examples
    a = shared + 0.1 * torch.randn(500, generator=generator)
    b = shared + 0.1 * torch.randn(500, generator=generator) + 0.1
    paired = paired_difference(a, b)
    unpaired = timing_difference(a.tolist(), b.tolist())
    assert paired.a_lower()
    assert unpaired.within_noise()
    assert paired.standard_error < unpaired.standard_error / 10


def test_the_accuracy_difference_counts_only_disagreements():
    targets = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    a = torch.tensor([0, 1, 2, 0, 1, 0, 0, 2])  # right on 6
    b = torch.tensor([0, 1, 1, 0, 0, 2, 0, 1])  # right on 6
    result = accuracy_difference(a, b, targets)
    only_a = 2  # indices 2 and 4
    only_b = 2  # indices 5 and 7
    assert result.difference == pytest.approx((only_a - only_b) / 8)
    assert result.within_noise()
    with pytest.raises(ValueError, match="same shape"):
        accuracy_difference(a, b[:4], targets)


def test_the_timing_difference_has_welchs_t_statistic():
    fast = [1.0, 1.1, 0.9, 1.05, 0.95]
    slow = [1.5, 1.7, 1.4, 1.6]
    result = timing_difference(fast, slow)
    expected = stats.ttest_ind(fast, slow, equal_var=False)
    assert result.z == pytest.approx(expected.statistic)
    assert result.a_lower()
    assert result.count == 4


@pytest.mark.parametrize(
    ("difference", "verdict"),
    [(-0.21, "A lower"), (0.21, "A higher"), (0.19, "within noise"), (-0.19, "within noise")],
)
def test_the_verdict_needs_more_than_the_noise_level(difference, verdict):
    result = Difference(difference, 0.1, 100)
    assert NOISE_LEVEL == 2.0
    assert result.describe("A", "B").endswith(verdict)
    assert result.within_noise() == (verdict == "within noise")


def test_a_difference_without_error_is_infinitely_many_standard_errors():
    assert Difference(0.5, 0.0, 10).z == math.inf
    assert Difference(0.0, 0.0, 10).within_noise()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="one score per example"):
        paired_difference([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least two"):
        paired_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, math.nan], [2.0, 1.0])
    with pytest.raises(ValueError, match="two repeats"):
        timing_difference([1.0], [1.0, 2.0])


def test_groups_of_one_give_the_plain_standard_error():
    generator = torch.Generator().manual_seed(2)
    a, b = torch.rand(50, generator=generator), torch.rand(50, generator=generator)
    plain = paired_difference(a, b)
    grouped = paired_difference(a, b, groups=torch.arange(50))
    assert grouped.standard_error == pytest.approx(plain.standard_error)
    assert grouped.difference == pytest.approx(plain.difference)


def test_copies_in_one_group_count_once():
    generator = torch.Generator().manual_seed(3)
    a, b = torch.rand(40, generator=generator), torch.rand(40, generator=generator)
    once = paired_difference(a, b)
    # Each example three times: unclustered, the error shrinks by sqrt(3); grouped, it
    # stays that of the 40 distinct examples (up to the G / (G - 1) factor's n vs n - 1).
    tripled = paired_difference(a.repeat(3), b.repeat(3))
    grouped = paired_difference(a.repeat(3), b.repeat(3), groups=torch.arange(40).repeat(3))
    assert tripled.standard_error < 0.6 * once.standard_error
    assert grouped.standard_error == pytest.approx(once.standard_error, rel=1e-6)


def test_a_subset_contrast_is_the_difference_of_two_independent_means():
    generator = torch.Generator().manual_seed(4)
    a = torch.randn(400, generator=generator)
    b = torch.randn(400, generator=generator)
    subset = torch.arange(400) % 3 == 0
    d = a - b
    result = subset_contrast(a, b, subset)
    assert result.difference == pytest.approx((d[subset].mean() - d[~subset].mean()).item())
    # Unclustered, its error is that of two independent means, up to n vs n - 1.
    expected = math.hypot(
        d[subset].std().item() / math.sqrt(int(subset.sum())),
        d[~subset].std().item() / math.sqrt(int((~subset).sum())),
    )
    assert result.standard_error == pytest.approx(expected, rel=0.01)
    with pytest.raises(ValueError, match="some examples"):
        subset_contrast(a, b, torch.zeros(400, dtype=torch.bool))
    with pytest.raises(ValueError, match="one label per example"):
        paired_difference(a, b, groups=torch.arange(10))
    with pytest.raises(ValueError, match="two groups"):
        paired_difference(a, b, groups=torch.zeros(400))


def test_few_repeats_raise_the_threshold_to_students_t():
    # Welch's t of about 2.6 with about 4 degrees of freedom: beyond 2 standard errors,
    # but within noise at the same coverage of Student's t.
    fast = [1.0, 1.3, 0.7, 1.2, 0.8]
    slow = [1.29, 1.30, 1.31, 1.28, 1.32]
    result = timing_difference(fast, slow)
    welch = stats.ttest_ind(fast, slow, equal_var=False)
    assert abs(result.z) > NOISE_LEVEL
    assert result.threshold == pytest.approx(stats.t.ppf(1 - stats.norm.sf(2), welch.df))
    assert result.within_noise()
    assert "noise level" in result.describe("fast", "slow")
    many = paired_difference(torch.arange(1000.0), torch.arange(1000.0).flip(0))
    assert many.threshold == pytest.approx(NOISE_LEVEL, abs=0.01)


def test_the_standard_error_of_a_mean_is_s_over_root_n_and_counts_groups_once():
    values = torch.tensor([1.0, 2.0, 4.0, 7.0, 11.0, 16.0])
    plain = mean_standard_error(values)
    assert plain == pytest.approx(values.std().item() / len(values) ** 0.5)
    # Equal values inside each group: only the three group means vary.
    grouped = torch.tensor([1.0, 1.0, 5.0, 5.0, 12.0, 12.0])
    means = torch.tensor([1.0, 5.0, 12.0])
    expected = means.std().item() / 3**0.5
    assert mean_standard_error(grouped, groups=[0, 0, 1, 1, 2, 2]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least two"):
        mean_standard_error([3.0])


def predicting(n_right: int, n_examples: int = 400) -> torch.Tensor:
    """Predictions of class 0 for the first ``n_right`` examples, class 1 after."""
    return (torch.arange(n_examples) >= n_right).long()


def test_the_cheapest_candidate_within_noise_of_the_best_is_chosen():
    targets = torch.zeros(400, dtype=torch.long)
    predictions = {"big": predicting(300), "small": predicting(298), "tiny": predicting(250)}
    size = {"big": 10, "small": 5, "tiny": 1}
    # two disagreements: +0.005, well inside the noise; fifty: far outside it
    assert cheapest_within_noise(predictions, targets, size.__getitem__) == "small"
    predictions["small"] = predicting(250)
    assert cheapest_within_noise(predictions, targets, size.__getitem__) == "big"


def test_of_equal_cost_the_first_listed_is_chosen():
    targets = torch.zeros(400, dtype=torch.long)
    predictions = {"b": predicting(299), "a": predicting(300), "c": predicting(301)}
    assert cheapest_within_noise(predictions, targets, lambda name: 0) == "b"
    with pytest.raises(ValueError, match="no candidate"):
        cheapest_within_noise({}, targets, lambda name: 0)
