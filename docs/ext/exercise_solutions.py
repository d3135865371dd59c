"""The exercises' solutions, found and loaded without Sphinx, and kept out of downloads.

``docs/exercises/<section>.py`` holds the solutions of a section's exercises, one function
per exercise, named as the exercise. The Sphinx extension ``exercise_pages`` shows and
checks them; the tests and ``tests/site/check_downloads.py`` use the same helpers.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import re
import sys
import textwrap
from pathlib import Path
from types import ModuleType

SOLUTIONS_DIR = Path(__file__).parents[1] / "exercises"
PACKAGE = "pytorch_examples.exercises"
# The directive's line in the .py download (a comment, maybe after its cell marker) and
# in the notebook's markdown.
SCRIPT_DIRECTIVE = re.compile(r"^(?:# %%\n)?# \.\. exercise:: \S+\n(?:#\n)?", re.M)
MARKDOWN_DIRECTIVE = re.compile(r"^\.\. exercise:: \S+\n?", re.M)


def sections() -> list[str]:
    """Return the sections that have solutions in ``docs/exercises``, sorted."""
    return sorted(p.stem for p in SOLUTIONS_DIR.glob("*.py") if not p.stem.startswith("_"))


def solutions(section: str) -> ModuleType:
    """Import ``docs/exercises/<section>.py``, the section's solutions, once."""
    name = f"exercise_solutions_{section}"
    if name not in sys.modules:
        path = SOLUTIONS_DIR / f"{section}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"no solutions file {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def solution_sources(section: str) -> dict[str, str]:
    """Return the source of each solution of ``section``, read without importing the file.

    For ``tests/site/check_downloads.py``, which runs where neither torch nor the package
    is installed; :func:`solution_source` gives the same text from the imported module.
    """
    source = (SOLUTIONS_DIR / f"{section}.py").read_text()
    return {
        node.name: ast.get_source_segment(source, node)
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef)
    }


def exercises(section: str) -> dict[str, object]:
    """Return the section's exercises by name, in the order the module defines them."""
    from pytorch_examples.exercises import Exercise

    module = importlib.import_module(f"{PACKAGE}.{section}")
    return {name: value for name, value in vars(module).items() if isinstance(value, Exercise)}


def solution_source(section: str, name: str) -> str:
    """Return the source of the solution of ``section.name``, as a reader would paste it."""
    return textwrap.dedent(inspect.getsource(getattr(solutions(section), name)))


def strip_script(text: str) -> str:
    """Return a ``.py`` download without the ``.. exercise::`` lines."""
    return SCRIPT_DIRECTIVE.sub("", text)


def strip_notebook(notebook: dict) -> dict:
    """Return a notebook without the ``.. exercise::`` lines and the cells they leave empty."""
    cells = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"])
            if MARKDOWN_DIRECTIVE.search(source):
                source = MARKDOWN_DIRECTIVE.sub("", source).strip("\n")
                if not source.strip():
                    continue
                cell = {**cell, "source": source.splitlines(keepends=True)}
        cells.append(cell)
    return {**notebook, "cells": cells}
