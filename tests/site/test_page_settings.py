"""Small settings replace a page's top-level constants, in scripts and in notebook cells."""

from __future__ import annotations

import ast
from collections import Counter

import pytest

from pages import replace_settings, require_each_replaced_once

SOURCE = '''\
"""A page: ünïcode before the constants shifts byte columns, not characters."""
N_EPOCHS = 40  # why forty
WIDTHS = (
    8,
    16,
)
NAME = "Øster"


def train():
    N_EPOCHS = 3  # a local name, not a setting
    return N_EPOCHS
'''


def test_values_change_and_comments_and_line_numbers_stay():
    settings = {"N_EPOCHS": 2, "WIDTHS": (4,), "NAME": "Ås"}
    new, counts = replace_settings(SOURCE, settings)
    assert counts == Counter({"N_EPOCHS": 1, "WIDTHS": 1, "NAME": 1})
    assert "N_EPOCHS = 2  # why forty" in new
    assert new.count("\n") == SOURCE.count("\n")
    namespace: dict[str, object] = {}
    exec(compile(new, "<page>", "exec"), namespace)
    assert (namespace["N_EPOCHS"], namespace["WIDTHS"], namespace["NAME"]) == (2, (4,), "Ås")
    assert namespace["train"]() == 3
    # Every line after the replaced constants is where it was.
    assert new.splitlines()[9:] == SOURCE.splitlines()[9:]


def test_a_missing_or_repeated_constant_is_an_error():
    _, counts = replace_settings(SOURCE + "N_EPOCHS = 5\n", {"N_EPOCHS": 1, "ABSENT": 0})
    with pytest.raises(KeyError, match=r"ABSENT 0 times, N_EPOCHS 2 times"):
        require_each_replaced_once(counts, {"N_EPOCHS": 1, "ABSENT": 0}, "the page")


def test_counts_add_up_across_notebook_cells():
    cells = ["N_EPOCHS = 40\n", "import math\n", "WIDTH = math.pi\n"]
    total: Counter[str] = Counter()
    for cell in cells:
        _, counts = replace_settings(cell, {"N_EPOCHS": 1, "WIDTH": 3})
        total += counts
    require_each_replaced_once(total, {"N_EPOCHS": 1, "WIDTH": 3}, "the notebook")


def test_a_setting_must_be_a_python_literal():
    with pytest.raises((ValueError, SyntaxError)):
        replace_settings("DEVICE = 'cpu'\n", {"DEVICE": object()})
    assert ast.literal_eval(replace_settings("X = 1\n", {"X": -2.5})[0].split("=")[1]) == -2.5
