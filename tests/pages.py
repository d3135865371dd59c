"""Run a gallery page in this process and keep what it computed, with smaller settings.

Pages keep their settings as constants at the top (``N_EPOCHS = 10``). A test can run a
page with some of them replaced, for example fewer epochs, and then read what the page
computed. The replacement is made on the page's syntax tree, so a constant the page no
longer defines is an error, not a silently ignored setting. The small settings each page
runs with in the test suite live beside its entry in ``docs/ext/gallery_manifest.py``;
the ``gallery_page`` fixture (``tests/conftest.py``) runs each page once with them.
"""

from __future__ import annotations

import ast
import contextlib
import io
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
    tree = ast.parse(script.read_text(), filename=str(script))
    replaced = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in settings
        ):
            name = node.targets[0].id
            node.value = ast.parse(repr(settings[name]), mode="eval").body
            replaced.add(name)
    missing = set(settings) - replaced
    if missing:
        raise KeyError(f"{script.name} defines no top-level constant {sorted(missing)}")
    code = compile(ast.fix_missing_locations(tree), str(script), "exec")
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
