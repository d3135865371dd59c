"""Small synthetic data sets whose true parameters are known.

Each generator takes an explicit ``seed`` and builds its own
:class:`torch.Generator`, so a call never touches PyTorch's global random state and
the same seed always gives the same data.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from pytorch_examples._checks import check_positive_float, check_positive_int


@dataclass(frozen=True)
class LineData:
    """Points scattered around a known straight line.

    First used on :doc:`/auto_examples/regression/plot_linear_regression_autograd`.

    Attributes
    ----------
    x : torch.Tensor
        Inputs, shape ``(n_points,)``.
    y : torch.Tensor
        Targets ``slope * x + intercept + noise``, shape ``(n_points,)``.
    slope, intercept : float
        The true line.
    """

    x: torch.Tensor
    y: torch.Tensor
    slope: float
    intercept: float


def make_line_data(
    n_points: int = 100,
    *,
    slope: float = 2.0,
    intercept: float = 3.0,
    noise_std: float = 50.0,
    x_min: float = -100.0,
    x_max: float = 100.0,
    seed: int = 0,
) -> LineData:
    """Sample ``y = slope * x + intercept + noise`` at evenly spaced ``x``.

    First used on :doc:`/auto_examples/regression/plot_linear_regression_autograd`.

    Parameters
    ----------
    n_points : int
        Number of points, at least 2.
    slope, intercept : float
        The true line.
    noise_std : float
        Standard deviation of the Gaussian noise added to ``y``; 0 gives exact points.
    x_min, x_max : float
        The interval the ``x`` values span evenly, ends included; ``x_min < x_max``.
    seed : int
        Seed of the generator that draws the noise.

    Returns
    -------
    LineData
        The points (``float32``) and the true line.

    Raises
    ------
    ValueError
        If ``n_points < 2``, ``noise_std < 0`` or ``x_min >= x_max``.
    """
    n_points = check_positive_int("n_points", n_points)
    if n_points < 2:
        raise ValueError(f"n_points must be at least 2 to define a line, got {n_points}")
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    if not x_min < x_max:
        raise ValueError(f"x_min must be less than x_max, got x_min={x_min}, x_max={x_max}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.linspace(x_min, x_max, n_points)
    noise = noise_std * torch.randn(n_points, generator=generator)
    y = slope * x + intercept + noise
    return LineData(x=x, y=y, slope=float(slope), intercept=float(intercept))


@dataclass(frozen=True)
class TwoClassData:
    """Points on a line from two classes, each drawn from its own normal distribution.

    First used on :doc:`/auto_examples/classification/plot_logistic_regression`.

    Attributes
    ----------
    x : torch.Tensor
        Inputs, shape ``(2 * n_per_class,)``, class 0 first.
    y : torch.Tensor
        Labels 0.0 or 1.0 (``float32``, as binary cross-entropy expects), same shape.
    means : tuple of float
        Centres of class 0 and class 1.
    std : float
        The common standard deviation.
    """

    x: torch.Tensor
    y: torch.Tensor
    means: tuple[float, float]
    std: float


def make_two_class_data(
    n_per_class: int = 100,
    *,
    means: tuple[float, float] = (-3.0, 5.0),
    std: float = 2.0,
    seed: int = 0,
) -> TwoClassData:
    """Draw two equally sized classes from normal distributions on the real line.

    First used on :doc:`/auto_examples/classification/plot_logistic_regression`.

    Parameters
    ----------
    n_per_class : int
        Number of points in each class.
    means : tuple of float
        Centres of class 0 and class 1.
    std : float
        Common standard deviation, greater than 0.
    seed : int
        Seed of the generator.

    Returns
    -------
    TwoClassData
        The points and their labels.

    Raises
    ------
    ValueError
        If ``means`` does not hold exactly two numbers, or ``n_per_class`` or ``std``
        is not positive.
    """
    n_per_class = check_positive_int("n_per_class", n_per_class)
    std = check_positive_float("std", std)
    if len(means) != 2:
        raise ValueError(f"means must hold two numbers (class 0, class 1), got {means!r}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.cat([mean + std * torch.randn(n_per_class, generator=generator) for mean in means])
    y = torch.cat([torch.zeros(n_per_class), torch.ones(n_per_class)])
    return TwoClassData(x=x, y=y, means=(float(means[0]), float(means[1])), std=std)


def least_squares_line(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return the slope and intercept that minimise the squared error, in closed form.

    Taught on :doc:`/auto_examples/regression/plot_linear_regression_autograd`.

    Solves ``min_w ||X w - y||^2`` for the design matrix ``X = [1, x]`` with
    :func:`torch.linalg.lstsq` in double precision.

    Parameters
    ----------
    x, y : torch.Tensor
        One-dimensional tensors of the same length.

    Returns
    -------
    tuple of float
        ``(slope, intercept)``.
    """
    if x.ndim != 1 or y.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            "x and y must be one-dimensional and of the same length, got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    design = torch.stack([torch.ones_like(x), x], dim=1).double()
    solution = torch.linalg.lstsq(design, y.double().unsqueeze(1)).solution
    intercept, slope = solution.squeeze(1).tolist()
    return slope, intercept


def make_sine_data(
    n_points: int = 30, *, noise_std: float = 0.2, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``y = sin(2 pi x) + noise`` at uniformly random ``x`` in ``[0, 1]``.

    First used on :doc:`/auto_examples/regression/plot_overfitting`.

    A curve no low-degree polynomial fits exactly and a high-degree one can overfit.

    Parameters
    ----------
    n_points : int
        Number of points.
    noise_std : float
        Standard deviation of the Gaussian noise, at least 0.
    seed : int
        Seed of the generator.

    Returns
    -------
    tuple of torch.Tensor
        ``x`` and ``y``, each of shape ``(n_points,)``.
    """
    n_points = check_positive_int("n_points", n_points)
    if noise_std < 0:
        raise ValueError(f"noise_std must be >= 0, got {noise_std}")
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n_points, generator=generator)
    y = torch.sin(2 * torch.pi * x) + noise_std * torch.randn(n_points, generator=generator)
    return x, y


def polynomial_features(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Return the columns ``x, x**2, ..., x**degree`` of a one-dimensional input.

    Taught on :doc:`/auto_examples/regression/plot_overfitting`.

    The constant column is left out: a model's bias plays its part.

    Parameters
    ----------
    x : torch.Tensor
        Shape ``(n,)``.
    degree : int
        Highest power, at least 1.

    Returns
    -------
    torch.Tensor
        Shape ``(n, degree)``.
    """
    degree = check_positive_int("degree", degree)
    if x.ndim != 1:
        raise ValueError(f"x must be one-dimensional, got shape {tuple(x.shape)}")
    return x.unsqueeze(1) ** torch.arange(1, degree + 1, dtype=x.dtype)
