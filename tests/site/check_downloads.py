"""Run what a reader downloads from the built site, with nothing from this checkout.

``nox -s downloads`` runs this after ``nox -s docs``. It takes, from the built site, the
package's wheel, the script and the notebook of one fast example and the zip of all
scripts, as the pages link them, and copies them into a temporary folder outside the
checkout. There it makes a fresh virtual environment (``python3 -m venv``, as the zip's
instructions do) and puts into it, with uv and from uv's cache, the wheel's dependencies
at the versions the docs build used and a Jupyter kernel, but not the package. Then,
as a reader would:

1. ``import pytorch_examples`` fails: nothing comes from the checkout;
2. the command in the zip's README.txt, run verbatim, installs the wheel and runs the
   example; ``python -c "import pytorch_examples"`` then imports the wheel's copy;
3. after ``pip uninstall``, the install command in the downloaded script's header, then
   the script;
4. after ``pip uninstall``, the downloaded notebook in a Jupyter kernel: its first cell
   must install the package, and every cell must run;
5. each section's exercise notebook, as downloaded: every check must print "not done
   yet" and nothing may raise; then with each blank function replaced by its solution
   from ``docs/exercises/<section>.py``, as a reader would paste it: every check must
   print "passed". Neither the notebook nor the script may contain a solution's body.

pip runs with no index and no configuration file, finding only the saved wheel: every
other package is already in the environment, so nothing is downloaded. Any failure
exits non-zero.

Usage: ``python tests/site/check_downloads.py SITE UV CONSTRAINTS KERNEL_REQUIREMENT...``
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import unquote

CHECKOUT = Path(__file__).resolve().parents[2]
# Where the solutions live, shared with the docs extension; a stdlib-only module, since
# this script runs without the package or torch.
sys.path.insert(0, str(CHECKOUT / "docs" / "ext"))
import exercise_solutions  # noqa: E402

EXAMPLE = "auto_examples/basics/plot_tensors_numpy"  # fast, and reads no data
HEADER_COMMAND = re.compile(r"^#\s+(pip install \S+)\s*$", re.M)


def links(page: Path, suffix: str) -> list[Path]:
    """Return the files a built page links to whose names end with ``suffix``."""
    hrefs = re.findall(r'href="([^"#]+)"', page.read_text(encoding="utf-8"))
    found = {(page.parent / unquote(h)).resolve() for h in hrefs if h.endswith(suffix)}
    return sorted(found)


def one_link(page: Path, suffix: str) -> Path:
    """Return the one file a page links with ``suffix``, checking that it exists."""
    found = links(page, suffix)
    if len(found) != 1 or not found[0].is_file():
        sys.exit(f"FAIL: {page} should link one existing *{suffix} file, links {found}")
    return found[0]


def run(command: list[str] | str, cwd: Path, env: dict[str, str], expect_ok: bool = True):
    """Run a command as a reader would; fail the check if its exit status is unexpected."""
    shown = command if isinstance(command, str) else " ".join(command)
    print(f"--- in {cwd}: {shown}", flush=True)
    start = time.monotonic()
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        shell=isinstance(command, str),
        executable="/bin/bash" if isinstance(command, str) else None,
        capture_output=True,
        text=True,
        check=False,
    )
    print(result.stdout[-3000:], result.stderr[-3000:], sep="\n", flush=True)
    elapsed = time.monotonic() - start
    print(f"--- exit status {result.returncode} after {elapsed:.0f} s", flush=True)
    if (result.returncode == 0) != expect_ok:
        sys.exit(f"FAIL: exit status {result.returncode} from: {shown}")
    return result


def requirements_of(wheel: Path) -> list[str]:
    """Return the wheel's Requires-Dist entries that apply without extras."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(name).decode()
    requires = re.findall(r"^Requires-Dist: (.+)$", metadata, re.M)
    return [r for r in requires if "extra ==" not in r]


def reader_env(venv: Path, wheel_dir: Path) -> dict[str, str]:
    """Return an environment with no trace of this checkout or of nox's environment."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    ours = Path(sys.prefix, "bin")  # nox's environment running this script
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != ours]
    env["PATH"] = os.pathsep.join(path)
    env.update(
        MPLBACKEND="Agg",
        PIP_CONFIG_FILE=os.devnull,  # no machine-wide constraints or indexes
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheel_dir),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


NOTEBOOK_RUNNER = """
import sys, nbclient, nbformat
notebook = nbformat.read(sys.argv[1], as_version=4)
nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
first = next(c for c in notebook.cells if c.cell_type == "code")
text = "".join(o.get("text", "") for o in first.outputs)
print(text)
assert "Successfully installed pytorch-examples" in text, "the first cell installed nothing"
print("notebook ran:", len(notebook.cells), "cells")
"""


EXERCISE_RUNNER = """
import ast, json, re, sys, nbclient, nbformat
path, solutions = sys.argv[1], json.loads(sys.argv[2])
notebook = nbformat.read(path, as_version=4)
client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3")


def blank_of(cell):
    if cell.cell_type != "code" or "NotImplementedError" not in cell.source:
        return None
    names = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
    return names[0] if len(names) == 1 and names[0] in solutions else None


def checks(expected):
    verdicts = {}
    for cell in notebook.cells:
        match = re.fullmatch(r"ex\\.(\\w+)\\.check\\(\\1\\)", cell.source.strip())
        if cell.cell_type == "code" and match:
            text = "".join(o.get("text", "") for o in cell.outputs).strip()
            print(text)
            verdicts[match.group(1)] = f"{match.group(1)}: {expected}" in text
    print(f"{sum(verdicts.values())} of {len(verdicts)} checks say {expected!r}", flush=True)
    assert len(verdicts) == len(solutions), "a check cell or a solution is missing"
    assert all(verdicts.values()), "a check printed something else"


with client.setup_kernel():
    print("--- as downloaded, every cell run in order")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            client.execute_cell(cell, index)
    checks("not done yet")
    print("--- each blank cell replaced by its solution, then it and its check run again")
    for index, cell in enumerate(notebook.cells):
        name = blank_of(cell)
        if name or re.fullmatch(r"ex\\.\\w+\\.check\\(\\w+\\)", cell.source.strip()):
            if name:
                cell.source = solutions[name]
            client.execute_cell(cell, index)
    checks("passed")
"""


def check_exercises(site: Path, folder: Path, python: str, env: dict[str, str]) -> list[str]:
    """Run each exercise notebook blank and solved; return the notebooks' names."""
    names = []
    for section in exercise_solutions.sections():
        page = site / "auto_examples" / section / f"plot_{section}_exercises.html"
        notebook, script = one_link(page, ".ipynb"), one_link(page, ".py")
        solutions = exercise_solutions.solution_sources(section)
        # Lines the page itself holds (a signature over two lines, a call the task gives)
        # are the learner's starting point, not a leak.
        page_source = (CHECKOUT / "gallery" / section / f"plot_{section}_exercises.py").read_text()
        for download in (notebook, script):
            text = download.read_text(encoding="utf-8")
            for name, source in solutions.items():
                body = [ln.strip() for ln in source.splitlines()[1:] if len(ln.strip()) > 12]
                shown = [ln for ln in body if ln in text and ln not in page_source]
                if shown or f".. exercise:: {section}.{name}" in text:
                    sys.exit(f"FAIL: {download.name} shows the solution of {name}: {shown}")
        shutil.copy2(notebook, folder / notebook.name)
        print(f"=== 5. {notebook.name}: blank, then with the solutions pasted", flush=True)
        run([python, "-c", EXERCISE_RUNNER, notebook.name, json.dumps(solutions)], folder, env)
        names.append(notebook.name)
    return names


def main(site: Path, uv: str, constraints: Path, kernel: list[str]) -> None:
    """Check the downloads of the site built in ``site``."""
    page = site / f"{EXAMPLE}.html"
    wheel = one_link(page, ".whl")
    script, notebook = one_link(page, ".py"), one_link(page, ".ipynb")
    zip_of_all = one_link(site / "auto_examples" / "index.html", "_python.zip")
    version = wheel.name.split("-")[1]
    work = Path(tempfile.mkdtemp(prefix="reader-")).resolve()
    if CHECKOUT in work.parents:
        sys.exit(f"FAIL: the temporary folder {work} is inside the checkout {CHECKOUT}")
    try:
        single = work / "single"
        single.mkdir()
        for path in (wheel, script, notebook):
            shutil.copy2(path, single / path.name)
        with zipfile.ZipFile(zip_of_all) as archive:
            archive.extractall(work)
        shutil.copy2(wheel, work / wheel.name)

        venv = work / ".venv"
        python = str(venv / "bin" / "python")
        env = reader_env(venv, single)
        run(["python3", "-m", "venv", str(venv)], work, env)
        needs = [*requirements_of(wheel), *kernel]
        run([uv, "pip", "install", "--python", python, "-c", str(constraints), *needs], work, env)
        uninstall = [python, "-m", "pip", "uninstall", "--yes", "pytorch-examples"]
        imports = [python, "-c", "import pytorch_examples"]

        print("=== 1. the environment has no pytorch_examples", flush=True)
        run(imports, work, env, expect_ok=False)

        print("=== 2. the zip's one command", flush=True)
        readme = (work / "README.txt").read_text()
        command = next(line.strip() for line in readme.splitlines() if "python3 -m venv" in line)
        run(command, work, {**env, "PIP_FIND_LINKS": str(work)})
        shown = run(
            [python, "-c", "import pytorch_examples as p; print(p.__version__, p.__file__)"],
            single,
            env,
        ).stdout.split()
        if shown[0] != version or not Path(shown[1]).is_relative_to(venv):
            sys.exit(f"FAIL: imported {shown}, not version {version} from {venv}")
        run(uninstall, work, env)

        print("=== 3. the downloaded script, after its header's command", flush=True)
        header = HEADER_COMMAND.search((single / script.name).read_text())
        if header is None:
            sys.exit(f"FAIL: {script.name} has no '#     pip install ...' line in its header")
        run([python, "-m", *header.group(1).split()], single, env)
        run([python, script.name], single, env)
        run(uninstall, work, env)
        run(imports, work, env, expect_ok=False)

        print("=== 4. the downloaded notebook, whose first cell installs the package", flush=True)
        run([python, "-c", NOTEBOOK_RUNNER, notebook.name], single, env)

        exercise_notebooks = check_exercises(site, single, python, env)
        print(
            f"downloads check passed: {wheel.name}, {script.name}, {notebook.name}, "
            f"{zip_of_all.name}; exercises blank and solved: {', '.join(exercise_notebooks)}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:])
