"""Execute the notebooks that readers download, in a real Jupyter kernel.

Run with ``nox -s notebooks`` after ``nox -s docs``: it takes the ``.ipynb`` files the
build wrote under ``docs/auto_examples``, exactly as the site offers them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

DOCS = Path(__file__).parents[1] / "docs"
sys.path.insert(0, str(DOCS / "ext"))
from gallery_manifest import GPU, SLOW  # noqa: E402

BUILT = DOCS / "auto_examples"
# Slow examples (and GPU ones) are run by the docs build itself; here the fast ones are
# run once more, as the notebooks a reader downloads. The exercise notebooks are left to
# `nox -s downloads`, which runs each in a fresh environment, blank and then solved.
NOTEBOOKS = sorted(
    p
    for p in BUILT.rglob("*.ipynb")
    if p.stem not in SLOW | GPU and not p.stem.endswith("_exercises")
)


def test_the_site_offers_notebooks():
    assert NOTEBOOKS, "no notebooks found: build the site first with nox -s docs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_downloaded_notebook_runs(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "pip install" in first_code.source, "the first cell must say how to install"
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any(o.output_type == "stream" for o in outputs), "the notebook printed nothing"
