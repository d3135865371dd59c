"""Run a gallery page in this process and keep what it computed, with smaller settings.

Pages keep their settings as constants at the top (``N_EPOCHS = 10``). A test can run a
page with some of them replaced, for example fewer epochs, and then read what the page
computed. The assignments are found on the page's syntax tree, and each setting must
replace exactly one of them: a constant the page no longer defines, or defines twice, is
an error, not a silently ignored setting. The small settings each page runs with in the
test suite live beside its entry in ``docs/ext/gallery_manifest.py``; the
``gallery_page`` fixture (``tests/conftest.py``) runs each page once with them, and the
notebook check (``browser_tests/test_notebooks.py``) replaces them, with the same
functions, in the code cells of the notebook a reader downloads.
"""

from __future__ import annotations

import ast
import contextlib
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

import pytorch_examples.claims
from gallery_manifest import GALLERY_DIR

GALLERY = GALLERY_DIR


@dataclass
class PageRun:
    """What one run of a page left behind.

    Attributes
    ----------
    namespace : dict
        The page's module-level names after it ran.
    output : str
        What it printed.
    claims : list of str
        The claims its ``check`` calls made, when they were recorded rather than enforced.
    """

    namespace: dict[str, object]
    output: str
    claims: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> object:
        return self.namespace[name]

    def __contains__(self, name: str) -> bool:
        return name in self.namespace


def run_page(script: Path, **settings: object) -> dict[str, object]:
    """Execute ``script`` with top-level constants replaced by ``settings``.

    Each keyword names a module-level constant assigned once at the top level of the
    page; its value must be a Python literal. Figures are closed instead of shown.
    Returns the page's namespace.
    """
    return execute_page(script, settings, record_claims=False).namespace


def execute_page(script: Path, settings: dict[str, object], *, record_claims: bool) -> PageRun:
    """Execute a page as :func:`run_page` does, keeping its output and, if asked, its claims.

    With ``record_claims`` the page's ``check`` calls are recorded instead of enforced:
    a run with small settings proves nothing about the full run's claims.
    """
    source, replaced = replace_settings(script.read_text(), settings, filename=str(script))
    require_each_replaced_once(replaced, settings, script.name)
    code = compile(source, str(script), "exec")
    namespace: dict[str, object] = {"__name__": "__main__", "__file__": str(script)}
    claims: list[str] = []
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(output):
        patch.setattr(plt, "show", lambda *args, **kwargs: plt.close("all"))
        if record_claims:
            patch.setattr(
                pytorch_examples.claims, "check", lambda holds, claim: claims.append(claim)
            )
        exec(code, namespace)
    plt.close("all")
    return PageRun(namespace=namespace, output=output.getvalue(), claims=claims)


def replace_settings(
    source: str, settings: Mapping[str, object], *, filename: str = "<cell>"
) -> tuple[str, Counter[str]]:
    """Replace the values of the top-level constants named in ``settings`` in ``source``.

    Only the value's text changes (``N_EPOCHS = 40  # why`` becomes ``N_EPOCHS = 2  #
    why``); a value that spanned several lines is replaced by one in parentheses that
    spans as many, so that the lines after it keep their numbers. Returns the new source
    and how many assignments of each name were replaced: the caller checks the counts
    with :func:`require_each_replaced_once`, over one script or over all the code cells
    of a notebook.
    """
    tree = ast.parse(source, filename=filename)
    values = [
        (node.targets[0].id, node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in settings
    ]
    # ast counts lines as the tokenizer does and columns in bytes of UTF-8.
    text = source.encode()
    line_starts = [0]
    for line in text.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))
    for name, value in reversed(values):  # from the end, so that earlier offsets hold
        start = line_starts[value.lineno - 1] + value.col_offset
        end = line_starts[value.end_lineno - 1] + value.end_col_offset
        literal = repr(settings[name])
        ast.literal_eval(literal)  # a setting must be written back as a Python literal
        extra_lines = value.end_lineno - value.lineno
        if extra_lines:
            literal = "(" + literal + "\n" * extra_lines + ")"
        text = text[:start] + literal.encode() + text[end:]
    return text.decode(), Counter(name for name, _ in values)


def require_each_replaced_once(
    replaced: Counter[str], settings: Mapping[str, object], where: str
) -> None:
    """Raise ``KeyError`` unless each setting replaced exactly one top-level assignment."""
    wrong = {name: replaced[name] for name in settings if replaced[name] != 1}
    if wrong:
        counts = ", ".join(f"{name} {count} times" for name, count in sorted(wrong.items()))
        raise KeyError(
            f"{where} must assign each setting once, as a top-level constant; it assigns {counts}"
        )
