"""Fixtures the test folders share: one run of each gallery page per session."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gallery_manifest import PAGES
from pages import PageRun, execute_page
from pytorch_examples import results

PAGES_BY_FILE = {page.file: page for page in PAGES}


@pytest.fixture(scope="session")
def gallery_page(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], PageRun]:
    """Run a page once per session, with the small settings its manifest entry gives.

    Call it with the page's path below ``gallery/``, e.g. ``"basics/plot_autograd.py"``.
    A page with small settings has its claims recorded, not enforced; a page run as
    written enforces them. Results that pages record for later pages go to one
    temporary folder, so that a comparison page reads what this session's runs wrote.
    """
    cache = tmp_path_factory.mktemp("page-results")
    runs: dict[str, PageRun] = {}

    def run(file: str) -> PageRun:
        if file not in runs:
            page = PAGES_BY_FILE[file]
            small = dict(page.small or {})
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(results, "cache_dir", lambda: cache)
                runs[file] = execute_page(page.path, small, record_claims=bool(small))
        return runs[file]

    return run
