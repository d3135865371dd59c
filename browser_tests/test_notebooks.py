"""Execute the notebooks that readers download, in a real Jupyter kernel.

Run with ``nox -s notebooks`` after ``nox -s docs``: it takes the ``.ipynb`` files the
build wrote under ``docs/auto_examples``, exactly as the site offers them. The build has
already run every example as written and checked its claims; what this check adds is
that each notebook, cell by cell, runs in a kernel. So a page with small settings in
``docs/ext/gallery_manifest.py`` runs here with them, as in the test suite, slow pages
included: each setting replaces the value of one top-level assignment in the notebook's
code cells, and a cell added after the install cell makes the page print its claims
instead of checking them (a small run proves nothing about them) and record its results
in a temporary folder, where a later page of the same session reads them, instead of
the cache the docs build reads. GPU pages are not run.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import nbclient
import nbformat
import pytest

from gallery_manifest import GALLERY_DIR, PAGES, Page
from pages import replace_settings, require_each_replaced_once

BUILT = GALLERY_DIR.parent / "docs" / "auto_examples"
PAGES_BY_STEM = {page.path.stem: page for page in PAGES}
SMALL_RUN = """\
# Added by the notebook check: this run uses small settings, which prove nothing about
# the page's claims (the docs build checks them on the full run), so they are printed;
# and what it records for later pages goes to a temporary folder, not to the cache that
# the docs build reads.
from pathlib import Path

import pytorch_examples.claims
import pytorch_examples.results

pytorch_examples.claims.check = lambda holds, claim: print(f"recorded, not checked: {{claim}}")
pytorch_examples.results.cache_dir = lambda: Path({folder!r})
"""


def runs_as_notebook(page: Page) -> bool:
    """Fast pages run as written, slow ones with their small settings; GPU pages never.

    The exercise notebooks are left to ``nox -s downloads``, which runs each in a fresh
    environment, blank and then solved.
    """
    if page.gpu or page.path.stem.endswith("_exercises"):
        return False
    return page.small is not None or not page.slow


# In the manifest's reading order, so that a page runs after the pages whose results it reads.
READING_ORDER = {page.path.stem: position for position, page in enumerate(PAGES)}
NOTEBOOKS = sorted(
    (
        path
        for path in BUILT.rglob("*.ipynb")
        if path.stem in PAGES_BY_STEM and runs_as_notebook(PAGES_BY_STEM[path.stem])
    ),
    key=lambda path: READING_ORDER[path.stem],
)


def with_small_settings(notebook: nbformat.NotebookNode, page: Page, results: Path) -> None:
    """Replace the page's small settings in the notebook's code cells, in place.

    The first code cell is the install cell, whose ``%pip`` line is no Python; every
    other cell must parse, and each setting must replace exactly one assignment in all
    of them together. A cell added after the install cell records the claims, and sends
    the results the page records to ``results``.
    """
    settings = dict(page.small or {})
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    replaced = Counter()
    for number, cell in enumerate(code_cells[1:], start=2):
        cell.source, counts = replace_settings(
            cell.source, settings, filename=f"{page.file}, code cell {number}"
        )
        replaced += counts
    require_each_replaced_once(replaced, settings, f"the notebook of {page.file}")
    install = notebook.cells.index(code_cells[0])
    setup = SMALL_RUN.format(folder=str(results))
    notebook.cells.insert(install + 1, nbformat.v4.new_code_cell(setup))


@pytest.fixture(scope="session")
def small_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for what the small runs record, read by the pages after them.

    The notebooks run in reading order, so ``plot_cifar10_cnn_test`` finds
    the networks the small run of ``plot_cifar10_cnn`` saved; selected alone, it stops
    and says to run the CNN page first.
    """
    return tmp_path_factory.mktemp("page-results")


def test_the_site_offers_notebooks():
    assert NOTEBOOKS, "no notebooks found: build the site first with nox -s docs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_downloaded_notebook_runs(path, tmp_path, small_results):
    notebook = nbformat.read(path, as_version=4)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "pip install" in first_code.source, "the first cell must say how to install"
    page = PAGES_BY_STEM[path.stem]
    if page.small is not None:
        with_small_settings(notebook, page, small_results)
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any(o.output_type == "stream" for o in outputs), "the notebook printed nothing"
