"""The docs build's check that prose numbers are produced by the page."""

from __future__ import annotations

import pytest

from prose_numbers import (
    PageText,
    cited_numbers,
    named_constants,
    split_generated_page,
    unmatched_numbers,
)

# A page as sphinx-gallery generates it: a title, prose, code and its printed output.
GENERATED = """\
.. _sphx_glr_auto_examples_x_plot_demo.py:

A demo page
===========

The network has 113,827 parameters and reaches a validation loss of {val}.

.. GENERATED FROM PYTHON SOURCE LINES 10-14

.. code-block:: Python

    N_STEPS = 6000
    print(f"parameters: {{n:,}}, validation loss {{v:.4f}}")

.. rst-class:: sphx-glr-script-out

 .. code-block:: none

    parameters: 113,827, validation loss 1.9881

Training ran for 6,000 steps{extra}

.. math:: L = 12345 x

   **Total running time of the script:** (0 minutes 51.000 seconds)

Downloaded 98765 times.
"""


def problems(val: str = "1.99", extra: str = ".", cited: frozenset[str] = frozenset()):
    page = split_generated_page(GENERATED.format(val=val, extra=extra))
    return [p.text for p in unmatched_numbers(page, set(cited))]


def test_the_page_is_split_into_prose_code_and_output():
    page = split_generated_page(GENERATED.format(val="1.99", extra="."))
    prose = " ".join(line for _, line in page.prose)
    assert "113,827 parameters" in prose
    assert "N_STEPS = 6000" in page.code
    assert "validation loss 1.9881" in page.output
    assert "N_STEPS" not in prose
    assert "12345" not in prose  # math is not prose
    assert "98765" not in prose  # nor the footer


def test_numbers_the_page_printed_or_defined_pass():
    assert problems() == []


def test_a_drifted_number_fails():
    assert problems(val="2.05") == ["2.05"]


def test_a_number_is_matched_to_the_precision_it_is_written_with():
    assert problems(val="1.988") == []
    assert problems(val="1.98") == ["1.98"]
    assert problems(val="2") == []  # small integers are not checked
    assert problems(extra=", on 114,000 names.") == []  # 113,827 rounds to 114,000
    assert problems(extra=", on 110,000 names.") == []  # two significant figures
    assert problems(extra=", on 120,000 names.") == ["120,000"]


def test_percentages_match_printed_fractions():
    page = PageText(prose=[(1, "It reaches 71 % on the test set.")], code="", output="0.7117")
    assert unmatched_numbers(page) == []
    page.output = "0.6917"
    assert [p.text for p in unmatched_numbers(page)] == ["71"]


def test_times_are_never_stated_in_prose():
    assert problems(extra=" in about 40 s.") == ["40 s"]
    assert problems(extra=" in one minute.") == ["one minute"]
    assert problems(extra=" in 1.5 hours.") == ["1.5 hours"]
    assert problems(extra=" by the ones above.") == []


def test_a_time_split_over_two_lines_is_found():
    prose = [(1, "Training takes about three"), (2, "minutes here.")]
    page = PageText(prose=prose, code="", output="")
    assert [p.text for p in unmatched_numbers(page)] == ["three minutes"]


def test_cited_numbers_are_allowed_and_read_from_the_config_comment():
    source = '# sphinx_gallery_cited_numbers = {"2003": "year of the paper"}\nx = 1\n'
    assert cited_numbers(source) == {"2003"}
    assert cited_numbers("x = 1\n") == set()
    assert problems(extra=", as in Bengio et al. (2003).", cited=frozenset({"2003"})) == []
    assert problems(extra=", as in Bengio et al. (2003).") == ["2003"]


@pytest.mark.parametrize("word", ["float32", "CIFAR-10", "L2", "3x3", "16-bit", "conv2d"])
def test_numbers_inside_names_are_not_claims(word):
    page = PageText(prose=[(1, f"We use {word} here, and {word}.")], code="", output="")
    assert unmatched_numbers(page) == []


def test_code_blocks_keep_their_indentation_so_constants_can_be_read():
    rst = GENERATED.replace(
        "    N_STEPS = 6000\n",
        "    N_STEPS = 6000\n    for step in range(N_STEPS):\n        WIDTH = 12\n",
    )
    page = split_generated_page(rst.format(val="1.99", extra="."))
    assert "for step in range(N_STEPS):\n    WIDTH = 12" in page.code
    assert named_constants(page.code) == [6000.0, 12.0]


@pytest.mark.parametrize(
    ("code", "numbers"),
    [
        ("N_STEPS = 6000", [6000.0]),
        ("WIDTHS = (32, 64)", [64.0, 32.0]),
        ("RATES: dict[str, float] = {'adam': 3e-3}", [0.003]),
        ("A = B = 5", [5.0]),
        ("n_steps = 6000", []),  # not named as a constant
        ("N_STEPS = int(6000)", []),  # not a literal
        ("USE_BF16 = True", []),
        ("for step in range(800):\n    pass", []),
        ("this is not python", []),
    ],
)
def test_named_constants_are_upper_case_names_given_literals(code, numbers):
    assert sorted(named_constants(code)) == sorted(numbers)


def test_a_number_only_buried_in_the_code_no_longer_passes():
    # The drift this check exists for: the prose says 12 epochs while the page trains
    # for N_EPOCHS = 10; a 12 elsewhere in the code (a figure size) used to satisfy it.
    code = "N_EPOCHS = 10\nfig, ax = plt.subplots(figsize=(12, 4))\nprint(N_EPOCHS)"
    page = PageText(prose=[(1, "The model trains for 12 epochs.")], code=code, output="10")
    assert [p.text for p in unmatched_numbers(page)] == ["12"]
    page.prose = [(1, "The model trains for 10 epochs.")]
    assert unmatched_numbers(page) == []
