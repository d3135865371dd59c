"""What an exercise is, how it checks an answer, and how it reports the outcome.

See the exercise page at the end of each gallery section, for example
:doc:`/auto_examples/basics/plot_basics_exercises`.
"""

from __future__ import annotations

import textwrap
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["Exercise", "Result", "WrongAnswerError", "call", "expect_close"]

PASSED = "passed"
NOT_DONE = "not done yet"
WRONG = "wrong"
SYMBOLS = {PASSED: "✓", NOT_DONE: "…", WRONG: "✗"}


class WrongAnswerError(Exception):
    """An answer gave the wrong result on one case; the message says which and how.

    First used on :doc:`/auto_examples/basics/plot_basics_exercises`.
    """


@dataclass(frozen=True)
class Result:
    """The outcome of one check.

    First used on :doc:`/auto_examples/basics/plot_basics_exercises`.

    Attributes
    ----------
    exercise : str
        The exercise's name.
    verdict : str
        ``"passed"``, ``"not done yet"`` or ``"wrong"``.
    message : str
        What was checked, or what went wrong.
    """

    exercise: str
    verdict: str
    message: str

    @property
    def passed(self) -> bool:
        """Whether the answer passed every case."""
        return self.verdict == PASSED

    def __str__(self) -> str:
        return f"{SYMBOLS[self.verdict]} {self.exercise}: {self.verdict}. {self.message}"


def expect_close(
    got: object,
    expected: torch.Tensor | float,
    *,
    case: str,
    atol: float = 1e-6,
    rtol: float = 1e-5,
) -> None:
    """Raise :class:`WrongAnswerError` unless ``got`` equals ``expected`` within the tolerances.

    First used on :doc:`/auto_examples/basics/plot_basics_exercises`.

    Parameters
    ----------
    got : object
        What the answer returned; a tensor, or a number.
    expected : torch.Tensor or float
        The reference value.
    case : str
        The input, in words, for the message ("x of shape (3, 4) with values near 1000").
    atol, rtol : float
        Absolute and relative tolerance: ``|got - expected| <= atol + rtol * |expected|``.
    """
    expected = torch.as_tensor(expected)
    if got is None:
        raise WrongAnswerError(f"On {case}: your function returned None; did it forget `return`?")
    if not isinstance(got, torch.Tensor | float | int):
        raise WrongAnswerError(f"On {case}: expected a tensor, got {type(got).__name__}")
    got = torch.as_tensor(got)
    if got.shape != expected.shape:
        raise WrongAnswerError(
            f"On {case}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
        )
    got64, expected64 = got.detach().double(), expected.detach().double()
    error = (got64 - expected64).abs()
    allowed = atol + rtol * expected64.abs()
    bad = ~(error <= allowed)  # NaN counts as bad
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        where = f" at index {index}" if index else ""
        raise WrongAnswerError(
            f"On {case}{where}: expected {expected64[index].item():.6g}, "
            f"got {got64[index].item():.6g} (tolerance {atol:g} + {rtol:g} x |expected|)"
        )


def call(answer: Callable[..., object], *args: object, case: str, **kwargs: object) -> object:
    """Call the learner's function on one case; if it raises, say which case and where.

    First used on :doc:`/auto_examples/basics/plot_basics_exercises`.

    Parameters
    ----------
    answer : callable
        The learner's function.
    *args, **kwargs
        Its arguments for this case.
    case : str
        The input, in words, for the message.

    Returns
    -------
    object
        What the function returned.

    Raises
    ------
    NotImplementedError
        Passed on: the blank is untouched.
    WrongAnswerError
        The function raised anything else; the message names the case, the error and
        the learner's line that raised it.
    """
    try:
        return answer(*args, **kwargs)
    except (NotImplementedError, WrongAnswerError):
        raise
    except Exception as error:
        raise WrongAnswerError(f"On {case}: {_describe_error(error)}") from error


def _describe_error(error: BaseException) -> str:
    """Name the error and the innermost line of the learner's code that raised it."""
    frames = traceback.extract_tb(error.__traceback__)
    library = (Path(torch.__file__).parent, Path(__file__).parents[1])
    # The innermost frame outside torch and this package: the learner's own line.
    own = [f for f in frames if not any(Path(f.filename).is_relative_to(p) for p in library)]
    frame = (own or frames)[-1] if frames else None
    where = f" (line {frame.lineno}: {frame.line})" if frame is not None else ""
    return f"your code raised {type(error).__name__}: {error}{where}"


class Exercise:
    """One exercise: its name, a hint, and the cases its check runs.

    First used on :doc:`/auto_examples/basics/plot_basics_exercises`.

    Parameters
    ----------
    name : str
        The name of the function the learner writes, e.g. ``"log_sum_exp"``.
    hint : str
        A nudge that does not give the answer away; kept as ``hint_text``, printed by
        :meth:`hint`, and shown in the page's "Hint" dropdown.
    cases : callable
        Takes the learner's answer and runs it on every case, raising :class:`WrongAnswerError`
        on the first one it gets wrong; returns a one-line summary of what passed.
    """

    def __init__(self, name: str, hint: str, cases: Callable[[object], str]) -> None:
        self.name = name
        self.hint_text = hint
        self._cases = cases

    def grade(self, answer: object) -> Result:
        """Run the cases on ``answer`` and return the outcome without printing it."""
        try:
            summary = self._cases(answer)
        except NotImplementedError:
            return Result(
                self.name,
                NOT_DONE,
                "It still raises NotImplementedError: replace that line with your code.",
            )
        except WrongAnswerError as mismatch:
            return Result(self.name, WRONG, str(mismatch))
        except Exception as error:  # the learner's code failed: say where, not a traceback
            message = _describe_error(error)
            return Result(self.name, WRONG, message[0].upper() + message[1:])
        return Result(self.name, PASSED, summary)

    def check(self, answer: object) -> Result:
        """Check ``answer``, print the outcome in one line, and return it."""
        result = self.grade(answer)
        print(result)
        return result

    def hint(self) -> None:
        """Print the hint."""
        print(textwrap.fill(f"Hint for {self.name}: {self.hint_text}", width=88))

    def __repr__(self) -> str:
        return f"Exercise({self.name!r})"
