"""Checks for the exercise pages: each runs the learner's code on cases it has not seen.

Every gallery section ends with an exercise page. An exercise leaves part of the code
blank (a function whose body is ``raise NotImplementedError``); the learner writes it and
runs the exercise's check, which calls the function on fresh inputs and compares what it
returns with a reference. The check prints one line that says "passed", "not done yet"
(the blank is untouched), or what is wrong: which case failed, what was expected, what
came back, and the tolerance. It never raises, so a notebook runs to its end.

The section modules (``basics``, ``regression``, ...) hold the exercises; the solutions
are shown on the site and are not part of this package.
"""

from pytorch_examples.exercises.grading import (
    Exercise,
    Result,
    WrongAnswerError,
    call,
    expect_close,
)

__all__ = ["Exercise", "Result", "WrongAnswerError", "call", "expect_close"]
