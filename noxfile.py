"""Sessions that build the site, run the tests and lint the code.

Environments are created with uv and reused between runs, so torch is installed once
per session environment; uv's cache links the same files into each of them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
DOCS_BUILD = ROOT / "docs" / "_build"
# What sphinx-gallery writes into docs/ at build time; never committed.
GENERATED_DOCS = ("auto_examples", "gen_modules", "sg_execution_times.rst")


def install_project(session: nox.Session, *groups: str) -> None:
    """Install the package in editable mode with the named dependency groups."""
    requirements = [r for group in groups for r in nox.project.dependency_groups(PYPROJECT, group)]
    # Byte-compile at install time: environments are reused, and an import of torch
    # from uncompiled sources costs several seconds in every new process.
    session.install("-e", ".", *requirements, env={"UV_COMPILE_BYTECODE": "1"})


@nox.session
def docs(session: nox.Session) -> None:
    """Build the site into docs/_build/html, executing every example; warnings fail."""
    install_project(session, "docs")
    if "--fresh" in session.posargs:
        for name in GENERATED_DOCS:
            path = ROOT / "docs" / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        shutil.rmtree(DOCS_BUILD, ignore_errors=True)
    extra = [arg for arg in session.posargs if arg != "--fresh"]
    session.run(
        "sphinx-build",
        "--fail-on-warning",
        "--keep-going",
        "--builder",
        "html",
        *extra,
        "docs",
        str(DOCS_BUILD / "html"),
        env={"MPLBACKEND": "Agg"},
    )
    session.log(f"Open {DOCS_BUILD / 'html' / 'index.html'} in a browser.")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with pytest."""
    install_project(session, "test")
    session.run("pytest", *session.posargs, env={"MPLBACKEND": "Agg"})


@nox.session
def notebooks(session: nox.Session) -> None:
    """Execute the built site's downloadable notebooks in a Jupyter kernel."""
    install_project(session, "notebooks")
    session.run(
        "pytest", "browser_tests/test_notebooks.py", *session.posargs, env={"MPLBACKEND": "Agg"}
    )


@nox.session
def browser(session: nox.Session) -> None:
    """Check the built site in headless Chromium; screenshots go to docs/_build/screenshots."""
    install_project(session, "browser")
    session.run("pytest", "browser_tests/test_site.py", *session.posargs)


@nox.session(venv_backend="none")
def inventories(session: nox.Session) -> None:
    """Download the intersphinx inventories into docs/_inventories (needs the network)."""
    import urllib.request

    sys.path.insert(0, str(ROOT / "docs"))
    from intersphinx_sources import INVENTORY_DIR, INVENTORY_URLS

    INVENTORY_DIR.mkdir(exist_ok=True)
    for name, url in INVENTORY_URLS.items():
        with urllib.request.urlopen(url + "objects.inv", timeout=30) as response:
            data = response.read()
        (INVENTORY_DIR / f"{name}.inv").write_bytes(data)
        session.log(f"{name}: {len(data):,} bytes from {url}objects.inv")


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
