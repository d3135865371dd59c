"""The tests every exercise section shares: its checks reject the common mistakes.

Each ``tests/gallery/<section>/test_<section>_exercises.py`` writes the plausible wrong
answers of its section and lists them in ``WRONG`` (exercise name -> pairs of a wrong
answer and words its rejection must contain), then makes its two tests with
:func:`mistake_tests`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from pytorch_examples.exercises import Exercise

Mistakes = dict[str, list[tuple[Callable[..., object], str]]]


def mistake_tests(exercises: ModuleType, wrong: Mistakes) -> tuple[Callable, Callable]:
    """Return the two tests of a section: each mistake is rejected, and every exercise has one."""

    @pytest.mark.parametrize(
        ("name", "answer", "says"),
        [
            pytest.param(name, answer, says, id=f"{name}-{answer.__name__}")
            for name, mistakes in wrong.items()
            for answer, says in mistakes
        ],
    )
    def test_a_common_mistake_is_rejected_and_explained(name, answer, says):
        result = getattr(exercises, name).grade(answer)
        assert result.verdict == "wrong", str(result)
        assert result.message.startswith("On "), f"the message names no case: {result.message}"
        assert says in result.message, result.message

    def test_every_exercise_has_a_wrong_answer():
        defined = {k for k, v in vars(exercises).items() if isinstance(v, Exercise)}
        assert set(wrong) == defined, f"exercises without a wrong answer: {defined - set(wrong)}"

    return test_a_common_mistake_is_rejected_and_explained, test_every_exercise_has_a_wrong_answer
