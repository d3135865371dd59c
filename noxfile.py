"""Sessions that build the site, run the tests and lint the code.

Environments are created with uv and reused between runs, so torch is installed once
per session environment; uv's cache links the same files into each of them.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "tests", "docs"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
DOCS_BUILD = ROOT / "docs" / "_build"
DIST = ROOT / "dist"
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
def build(session: nox.Session) -> None:
    """Build the sdist and the wheel into dist/: the release workflow publishes these."""
    shutil.rmtree(DIST, ignore_errors=True)
    session.run("uv", "build", "--out-dir", str(DIST), str(ROOT))
    built = sorted(p.name for p in DIST.iterdir() if p.name.endswith((".whl", ".tar.gz")))
    wheels = [name for name in built if name.endswith(".whl")]
    sdists = [name for name in built if name.endswith(".tar.gz")]
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in dist/, found {built}")
    version = wheels[0].split("-")[1]
    if sdists[0] != f"pytorch_examples-{version}.tar.gz":
        session.error(f"the sdist {sdists[0]} and the wheel {wheels[0]} differ in version")
    session.log(f"built version {version}: {', '.join(built)}")


@nox.session
def downloads(session: nox.Session) -> None:
    """After docs: run a downloaded script, notebook and the zip of all scripts.

    In a fresh virtual environment outside the checkout, with the site's wheel and no
    source tree (tests/site/check_downloads.py says how). Packages come from uv's cache, at
    the versions the docs environment has.
    """
    site = DOCS_BUILD / "html"
    docs_env = ROOT / ".nox" / "docs"
    if not (site / "wheels").is_dir() or not docs_env.is_dir():
        session.error("build the site first: nox -s docs")
    uv = shutil.which(nox.virtualenv.UV) or nox.virtualenv.UV
    frozen = session.run(
        uv,
        "pip",
        "freeze",
        "--python",
        str(docs_env / "bin" / "python"),
        silent=True,
        external=True,
    )
    if frozen is None:  # nox --install-only runs no commands, so there is nothing to check
        return
    # Exact pins only: not the editable project, nor uv's message naming the environment.
    pins = [
        line
        for line in frozen.splitlines()
        if re.fullmatch(r"[A-Za-z0-9][\w.-]*==\S+", line) and "pytorch-examples" not in line
    ]
    # Outside the checkout, as is the folder the check works in (session.create_tmp would
    # point TMPDIR into .nox/).
    constraints = Path(tempfile.mkdtemp(prefix="downloads-check-")) / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    kernel = [
        r for r in nox.project.dependency_groups(PYPROJECT, "notebooks") if "pytest" not in r
    ]
    try:
        session.run(
            "python",
            str(ROOT / "tests" / "site" / "check_downloads.py"),
            str(site),
            uv,
            str(constraints),
            *kernel,
        )
    finally:
        shutil.rmtree(constraints.parent)


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

    sys.path.insert(0, str(ROOT / "docs" / "ext"))
    from intersphinx_sources import INVENTORY_DIR, INVENTORY_URLS

    INVENTORY_DIR.mkdir(exist_ok=True)
    for name, url in INVENTORY_URLS.items():
        with urllib.request.urlopen(url + "objects.inv", timeout=30) as response:
            data = response.read()
        (INVENTORY_DIR / f"{name}.inv").write_bytes(data)
        session.log(f"{name}: {len(data):,} bytes from {url}objects.inv")


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff, and the GitHub Actions workflows."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # actionlint checks the workflows' syntax, expressions and action inputs, and runs
    # shellcheck on their run: scripts.
    session.run("actionlint", *sorted(map(str, ROOT.glob(".github/workflows/*.yml"))))
