"""Argument checks used at the public boundary of the package."""

from __future__ import annotations

import numbers

import torch


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an integer greater than zero, else raise.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : object
        The value to check. ``bool`` is rejected although it is an ``int``.

    Returns
    -------
    int
        ``value`` itself.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value`` is zero or negative.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def check_positive_float(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number greater than zero.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    value : object
        The value to check.

    Returns
    -------
    float
        ``value`` converted to ``float``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If ``value`` is not finite or not greater than zero.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be a finite number greater than 0, got {value}")
    return float(value)


def check_same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    """Raise ``ValueError`` unless tensors ``a`` and ``b`` have the same shape.

    Parameters
    ----------
    name_a, name_b : str
        The arguments' names, used in the error message.
    a, b : torch.Tensor
        The tensors to compare.

    Raises
    ------
    TypeError
        If either argument is not a tensor.
    ValueError
        If the shapes differ.
    """
    for name, tensor in ((name_a, a), (name_b, b)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}"
        )


def check_split_fractions(fractions: tuple[float, ...]) -> tuple[float, float, float]:
    """Return ``fractions`` if they are three positive shares summing to 1, else raise.

    Parameters
    ----------
    fractions : tuple of float
        Shares of training, validation and test.

    Returns
    -------
    tuple of three floats
        ``fractions`` itself.

    Raises
    ------
    ValueError
        If there are not three, one is not positive, or they do not sum to 1.
    """
    if len(fractions) != 3 or any(f <= 0 for f in fractions):
        raise ValueError(f"fractions must be three positive numbers, got {fractions!r}")
    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {sum(fractions)})")
    return fractions
