"""Comparing two measured results with their uncertainty.

Two models scored on one validation set, or two loaders timed a few times, never give
exactly the same number. Whether the gap between them is a finding or noise depends on
its standard error, so a page that ranks two results measures the gap with one of these
functions and prints it with that error:

- :func:`paired_difference`: two models scored on the *same* examples. The difference
  is taken example by example, so what both models find easy or hard cancels, and the
  standard error is that of the mean per-example difference.
- :func:`accuracy_difference`: the same for accuracy. Only the examples the two
  classifiers disagree on move it.
- :func:`subset_contrast`: whether one model's gain over another is larger on one
  part of the examples than on the rest.
- :func:`mean_standard_error`: the standard error of one mean, such as a validation
  loss, with the same grouping.
- :func:`timing_difference`: two sets of repeated timings, which are not paired. Its
  standard error combines the spread of each set (Welch's).
- :func:`cheapest_within_noise`: a choice among several classifiers that does not
  reward a lead inside the noise: the cheapest of those within noise of the best.

Examples that are not independent, such as the predictions for the characters of one
name, which share their context, are grouped with ``groups``: the standard error then
treats each group as one observation (a cluster-robust standard error), so that many
correlated examples do not pass for many independent ones.

A difference counts as one model beating the other only when it is more than
:data:`NOISE_LEVEL` standard errors from zero (a little more when few observations
stand behind the standard error: the same two-sided level of Student's t, with the
degrees of freedom the data have, see :attr:`Difference.threshold`); otherwise the
page reports it as within noise, and a check on the page
(:func:`pytorch_examples.claims.check`) holds the prose to that. Pages that teach this:
:ref:`sphx_glr_auto_examples_classification_plot_digits_mlp.py` (two classifiers) and
:ref:`sphx_glr_auto_examples_data_plot_dataset_dataloader.py` (repeated timings).

A standard error measures the noise of one data set or one set of timings: it says
nothing about how much a retrained model with another seed would differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch

__all__ = [
    "NOISE_LEVEL",
    "Difference",
    "accuracy_difference",
    "cheapest_within_noise",
    "mean_standard_error",
    "paired_difference",
    "subset_contrast",
    "timing_difference",
]

_Candidate = TypeVar("_Candidate", bound=Hashable)

#: How many standard errors a difference must exceed to count as more than noise when
#: many observations stand behind the standard error: about the two-sided 95 % level of
#: a normal distribution.
NOISE_LEVEL = 2.0
# The two-sided probability that a normal variable lies beyond NOISE_LEVEL.
_OUTSIDE = math.erfc(NOISE_LEVEL / math.sqrt(2))


def _threshold(degrees_of_freedom: float) -> float:
    """Return Student's t quantile with the coverage of ``NOISE_LEVEL`` for a normal."""
    if not math.isfinite(degrees_of_freedom):
        return NOISE_LEVEL
    from scipy import stats  # only here: importing SciPy costs time at every import

    return float(stats.t.ppf(1 - _OUTSIDE / 2, degrees_of_freedom))


@dataclass(frozen=True)
class Difference:
    """The difference ``a - b`` between two measured results, with its standard error.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Attributes
    ----------
    difference : float
        The mean of ``a`` minus the mean of ``b``.
    standard_error : float
        The standard error of ``difference``.
    count : int
        The examples (paired) or the smaller number of repeats (timings) behind it.
    threshold : float
        How many standard errors the difference must exceed to count as more than
        noise: :data:`NOISE_LEVEL`, or Student's t at the same coverage when the
        standard error rests on few observations (few repeats, few groups).
    """

    difference: float
    standard_error: float
    count: int
    threshold: float = NOISE_LEVEL

    @property
    def z(self) -> float:
        """The difference in standard errors (``inf`` when the error is zero)."""
        if self.standard_error == 0:
            return 0.0 if self.difference == 0 else math.copysign(math.inf, self.difference)
        return self.difference / self.standard_error

    def within_noise(self) -> bool:
        """Whether the difference is at most :attr:`threshold` standard errors."""
        return abs(self.z) <= self.threshold

    def a_lower(self) -> bool:
        """Whether ``a`` is lower than ``b`` by more than the noise."""
        return self.z < -self.threshold

    def a_higher(self) -> bool:
        """Whether ``a`` is higher than ``b`` by more than the noise."""
        return self.z > self.threshold

    def describe(self, name_a: str, name_b: str, digits: int = 4) -> str:
        """Say the difference, its standard error and the verdict in one line.

        Parameters
        ----------
        name_a, name_b : str
            What ``a`` and ``b`` are, for example ``"MLP"`` and ``"softmax regression"``.
        digits : int
            Decimal places of the difference and its standard error.

        Returns
        -------
        str
            For example ``"MLP - softmax regression = -0.0123 ± 0.0040 (-3.1 standard
            errors): MLP lower"``; ``"within noise"`` replaces the last part when the
            difference is at most :attr:`threshold` standard errors, and the
            threshold is named when it does not round to :data:`NOISE_LEVEL`.
        """
        # Named only where it reads differently from NOISE_LEVEL at one decimal.
        shown = round(self.threshold, 1) != NOISE_LEVEL
        level = f"; noise level {self.threshold:.1f}" if shown else ""
        if self.a_lower():
            verdict = f"{name_a} lower"
        elif self.a_higher():
            verdict = f"{name_a} higher"
        else:
            verdict = "within noise"
        return (
            f"{name_a} - {name_b} = {self.difference:+.{digits}f} ± "
            f"{self.standard_error:.{digits}f} ({self.z:+.1f} standard errors{level}): "
            f"{verdict}"
        )


def _as_float_vector(name: str, values: object) -> torch.Tensor:
    tensor = torch.as_tensor(values, dtype=torch.float64).detach().cpu().flatten()
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite numbers")
    return tensor


def _standard_error(influence: torch.Tensor, groups: object | None) -> tuple[float, int]:
    """Return the standard error of an estimate from each example's influence on it.

    With ``groups``, influences are summed within each group first and the groups are
    treated as the independent observations; without, each example is its own group.
    Either way the variance is ``G / (G - 1)`` times the sum of the squared group sums,
    which for a plain mean is the usual ``s**2 / n``. Returns the standard error and
    the number of groups.
    """
    if groups is None:
        sums = influence
    else:
        labels = torch.as_tensor(groups).flatten()
        if labels.shape != influence.shape:
            raise ValueError(
                f"groups must give one label per example; got {labels.numel()} labels "
                f"for {influence.numel()} examples"
            )
        _, index = torch.unique(labels, return_inverse=True)
        sums = torch.zeros(int(index.max()) + 1, dtype=influence.dtype)
        sums.index_add_(0, index, influence)
    count = sums.numel()
    if count < 2:
        raise ValueError(f"need at least two groups of examples, got {count}")
    return math.sqrt(count / (count - 1) * (sums**2).sum().item()), count


def _paired(scores_a: object, scores_b: object) -> torch.Tensor:
    a = _as_float_vector("scores_a", scores_a)
    b = _as_float_vector("scores_b", scores_b)
    if a.shape != b.shape:
        raise ValueError(
            f"paired scores need one score per example for each model; got {a.numel()} "
            f"and {b.numel()}"
        )
    if a.numel() < 2:
        raise ValueError(f"need at least two paired scores, got {a.numel()}")
    return a - b


def mean_standard_error(values: object, *, groups: object | None = None) -> float:
    """Return the standard error of the mean of ``values``.

    Used by :doc:`/auto_examples/text/plot_shakespeare_gpt` for the loss over
    consecutive blocks of text, grouped into chunks.

    Parameters
    ----------
    values : tensor or array-like
        One value per example, at least two, all finite.
    groups : tensor or array-like, optional
        One label per example; examples with the same label are correlated, and the
        standard error counts each group once, as in :func:`paired_difference`.

    Returns
    -------
    float
        Without ``groups``, the standard deviation of the values over the square root
        of their count.

    Raises
    ------
    ValueError
        If there are fewer than two values or groups, a value is not finite, or
        ``groups`` does not label every value.
    """
    tensor = _as_float_vector("values", values)
    if tensor.numel() < 2:
        raise ValueError(f"need at least two values, got {tensor.numel()}")
    influence = (tensor - tensor.mean()) / tensor.numel()
    return _standard_error(influence, groups)[0]


def paired_difference(
    scores_a: object, scores_b: object, *, groups: object | None = None
) -> Difference:
    """Compare two models scored on the same examples, example by example.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    Parameters
    ----------
    scores_a, scores_b : tensor or array-like
        One score per example for each model (a loss, or 1.0 for a correct prediction
        and 0.0 for a wrong one), in the same order, at least two.
    groups : tensor or array-like, optional
        One label per example; examples with the same label (the characters of one
        name, say) are correlated, and the standard error counts each group once.

    Returns
    -------
    Difference
        The mean of ``scores_a - scores_b`` and its standard error: without
        ``groups``, the standard deviation of the per-example differences over the
        square root of their count.

    Raises
    ------
    ValueError
        If the two hold different numbers of scores, fewer than two, or a score that is
        not finite; or if ``groups`` does not label every example, or names one group.
    """
    differences = _paired(scores_a, scores_b)
    mean = differences.mean()
    influence = (differences - mean) / differences.numel()
    standard_error, count = _standard_error(influence, groups)
    return Difference(mean.item(), standard_error, differences.numel(), _threshold(count - 1))


def subset_contrast(
    scores_a: object, scores_b: object, subset: object, *, groups: object | None = None
) -> Difference:
    """How much ``a - b`` differs on a subset of the examples from the rest.

    Taught on :doc:`/auto_examples/language/plot_recurrent_network`.

    For example: does a recurrent network gain more over an MLP on late characters of
    a name than on early ones?

    Parameters
    ----------
    scores_a, scores_b : tensor or array-like
        One score per example for each model, in the same order.
    subset : tensor or array-like of bool
        Which examples are in the subset; at least one in and one out.
    groups : tensor or array-like, optional
        As for :func:`paired_difference`.

    Returns
    -------
    Difference
        The mean of ``a - b`` on the subset minus its mean on the rest, with its
        standard error (from each example's influence on the two means).
    """
    differences = _paired(scores_a, scores_b)
    inside = torch.as_tensor(subset, dtype=torch.bool).flatten()
    if inside.shape != differences.shape:
        raise ValueError(
            f"subset must mark every example; got {inside.numel()} marks for "
            f"{differences.numel()} examples"
        )
    n_in, n_out = int(inside.sum()), int((~inside).sum())
    if n_in == 0 or n_out == 0:
        raise ValueError(
            f"the subset must hold some examples and leave some: {n_in} of {n_in + n_out}"
        )
    mean_in, mean_out = differences[inside].mean(), differences[~inside].mean()
    influence = torch.where(
        inside, (differences - mean_in) / n_in, -(differences - mean_out) / n_out
    )
    contrast = (mean_in - mean_out).item()
    standard_error, count = _standard_error(influence, groups)
    return Difference(contrast, standard_error, differences.numel(), _threshold(max(count - 2, 1)))


def accuracy_difference(
    predicted_a: torch.Tensor, predicted_b: torch.Tensor, targets: torch.Tensor
) -> Difference:
    """Compare two classifiers' accuracy on the same examples.

    Taught on :doc:`/auto_examples/classification/plot_digits_mlp`.

    The examples both get right, or both get wrong, add nothing to the difference:
    it is (right only by ``a`` - right only by ``b``) / examples.

    Parameters
    ----------
    predicted_a, predicted_b, targets : torch.Tensor
        Predicted and true class indices, one per example, of the same shape.

    Returns
    -------
    Difference
        Accuracy of ``a`` minus accuracy of ``b``, with its paired standard error.
    """
    if not predicted_a.shape == predicted_b.shape == targets.shape:
        raise ValueError(
            "predictions and targets must have the same shape, got "
            f"{tuple(predicted_a.shape)}, {tuple(predicted_b.shape)} and {tuple(targets.shape)}"
        )
    targets = targets.cpu()
    return paired_difference(predicted_a.cpu() == targets, predicted_b.cpu() == targets)


def cheapest_within_noise(
    predictions: Mapping[_Candidate, torch.Tensor],
    targets: torch.Tensor,
    cost: Callable[[_Candidate], float],
) -> _Candidate:
    """Choose the cheapest classifier among those within noise of the most accurate.

    Taught on :doc:`/auto_examples/practice/plot_fine_tuning`.

    The most accurate candidate (of equals, the first in ``predictions``' order) is
    compared with each other one by :func:`accuracy_difference` on the same examples;
    those whose accuracy is within noise of it are tied with it, and of the tied the one
    of lowest ``cost`` is chosen (of equal cost, the first in that order). A lead inside
    the noise thus buys nothing, and the simpler candidate stands. The most accurate is
    picked on the same examples it is then compared on, which favours it slightly; a
    page that uses the rule prints each candidate's difference from the most accurate,
    so that the ties the rule found can be read off its output.

    Parameters
    ----------
    predictions : Mapping
        Each candidate's predicted class indices, one per example.
    targets : torch.Tensor
        The true class indices.
    cost : Callable
        A candidate's cost, such as its number of trainable parameters.

    Returns
    -------
    object
        The chosen candidate, a key of ``predictions``.
    """
    if not predictions:
        raise ValueError("there is no candidate to choose from")
    correct = {
        name: (predicted.cpu() == targets.cpu()).sum().item()
        for name, predicted in predictions.items()
    }
    best = max(correct, key=correct.__getitem__)
    tied = [
        name
        for name, predicted in predictions.items()
        if accuracy_difference(predicted, predictions[best], targets).within_noise()
    ]
    return min(tied, key=cost)


def timing_difference(times_a: Sequence[float], times_b: Sequence[float]) -> Difference:
    """Compare two sets of repeated timings (or any two unpaired sets of repeats).

    Taught on :doc:`/auto_examples/data/plot_dataloader_throughput`.

    Parameters
    ----------
    times_a, times_b : sequence of float
        Each at least two repeats of one measurement, for example seconds per batch.

    Returns
    -------
    Difference
        Mean of ``times_a`` minus mean of ``times_b``, with Welch's standard error
        ``sqrt(var_a / n_a + var_b / n_b)``; its threshold is Student's t with the
        Welch-Satterthwaite degrees of freedom, so a handful of repeats needs a larger
        difference to count.

    Raises
    ------
    ValueError
        If either set has fewer than two repeats or a value that is not finite.
    """
    a = _as_float_vector("times_a", list(times_a))
    b = _as_float_vector("times_b", list(times_b))
    if a.numel() < 2 or b.numel() < 2:
        raise ValueError(
            f"need at least two repeats of each timing, got {a.numel()} and {b.numel()}"
        )
    share_a = a.var(correction=1).item() / a.numel()
    share_b = b.var(correction=1).item() / b.numel()
    variance = share_a + share_b
    # Welch-Satterthwaite: the degrees of freedom of the combined variance.
    spread = share_a**2 / (a.numel() - 1) + share_b**2 / (b.numel() - 1)
    degrees_of_freedom = variance**2 / spread if spread > 0 else math.inf
    difference = a.mean().item() - b.mean().item()
    return Difference(
        difference, math.sqrt(variance), min(a.numel(), b.numel()), _threshold(degrees_of_freedom)
    )
