"""Every gallery page runs: fast pages as written, the others with their small settings.

Each page runs once in this session (the ``gallery_page`` fixture keeps the run for the
page's own tests in ``tests/gallery/<section>/``). The docs build runs every page as
written, and ``nox -s notebooks`` runs them again as downloaded notebooks: with their
small settings where they have them, fast ones without as written.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from gallery_manifest import PAGES
from pages import execute_page


@pytest.mark.parametrize("page", [p for p in PAGES if p.runs_in_tests], ids=lambda page: page.file)
def test_the_page_runs_and_prints(gallery_page, page):
    run = gallery_page(page.file)
    assert run.output.strip(), f"{page.file} printed nothing"


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", [p for p in PAGES if p.slow and not p.gpu], ids=lambda page: page.file
)
def test_the_slow_page_runs_as_written(page):
    assert execute_page(page.path, {}, record_claims=False).output.strip()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("page", [p for p in PAGES if p.gpu], ids=lambda page: page.file)
def test_a_gpu_page_without_cuda_stops_with_a_clear_message(page, tmp_path):
    result = subprocess.run(
        [sys.executable, str(page.path)],
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode != 0
    assert "This example needs a CUDA GPU" in result.stderr
