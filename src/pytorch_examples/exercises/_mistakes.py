"""Name the likely mistake when a wrong answer equals what a known mistake gives.

Shared by the section modules of this package.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from pytorch_examples.exercises.grading import WrongAnswerError, expect_close

__all__ = ["expect_close_or_explain", "matches"]


def matches(got: object, value: torch.Tensor | float, atol: float, rtol: float) -> bool:
    """Whether ``got`` equals ``value`` within the tolerances (False if it cannot be compared)."""
    if not isinstance(got, torch.Tensor | float | int):
        return False
    got, value = torch.as_tensor(got).detach().double(), torch.as_tensor(value).double()
    return got.shape == value.shape and bool(torch.allclose(got, value, rtol=rtol, atol=atol))


def expect_close_or_explain(
    got: object,
    expected: torch.Tensor | float,
    *,
    case: str,
    mistakes: Sequence[tuple[torch.Tensor | float, str]] = (),
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Like :func:`expect_close`, and name the mistake whose result ``got`` equals, if any.

    Parameters
    ----------
    got, expected, case, atol, rtol
        As for :func:`~pytorch_examples.exercises.grading.expect_close`.
    mistakes : sequence of (value, explanation)
        What common mistakes return on this case, each with a sentence that explains it.
    """
    try:
        expect_close(got, expected, case=case, atol=atol, rtol=rtol)
    except WrongAnswerError as error:
        for value, explanation in mistakes:
            if matches(got, value, atol, rtol):
                raise WrongAnswerError(f"{error}. {explanation}") from None
        raise
