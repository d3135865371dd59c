"""Sphinx extension: every example page ends with a line saying what ran it.

A reader comparing their numbers with a page's needs to know what produced the page's:
the torch and torchvision versions, the device (the CPU's model and PyTorch's thread
count, and the GPU if there was one), the date, and the project's commit. sphinx-gallery
calls :func:`record_run` (listed in ``reset_modules``) just before it executes an
example; after the gallery is generated, :func:`keep_records` stores each record beside
the example's generated page, with a hash of that page, and :func:`add_build_line` adds
the line to the page after its running time and memory. An example that was not re-run
keeps the record of the run that produced its page; a page that was written without
running its example says so.

The line comes after ``**Total running time of the script:**``, where the check of the
numbers in a page's prose (``prose_numbers``) stops reading.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

RECORD_SUFFIX = ".build.json"
# Records of the examples executed in this build, by file name; filled by record_run.
RAN: dict[str, dict[str, str]] = {}
DOWNLOAD_LABEL = re.compile(r"^\.\. _sphx_glr_download_", re.M)


@cache
def commit(repo: str) -> str:
    """Return the checkout's commit, abbreviated, and whether tracked files have changed."""
    try:
        head = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not built from a git checkout)"
    return f"{head} with uncommitted changes" if status else head


def cpu_model() -> str:
    """Return the CPU's model name as the operating system reports it."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def run_facts(repo: str) -> dict[str, str]:
    """Describe what runs an example now: versions, device, date and commit."""
    import torch
    import torchvision

    threads = torch.get_num_threads()
    device = f"{cpu_model()} ({threads} thread{'s' if threads != 1 else ''})"
    if torch.cuda.is_available():
        device = f"{torch.cuda.get_device_name(0)} and {device}"
    return {
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": device,
        "date": datetime.datetime.now(datetime.timezone.utc).date().isoformat(),
        "commit": commit(repo),
    }


def record_run(gallery_conf: dict, fname: str, when: str) -> None:
    """sphinx-gallery ``reset_modules`` hook: note what runs the example ``fname``."""
    if when == "before" and fname:
        RAN[Path(fname).name] = run_facts(gallery_conf["src_dir"])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _example_pages(app: Sphinx) -> list[tuple[Path, Path]]:
    """List (generated page, example source) for every example of every gallery."""
    conf = app.config.sphinx_gallery_conf
    pages = []
    for examples_dir, gallery_dir in zip(conf["examples_dirs"], conf["gallery_dirs"], strict=True):
        root = Path(app.srcdir, gallery_dir)
        for script in sorted(root.rglob("*.py")):
            page = script.with_suffix(".rst")
            if page.exists():
                pages.append((page, Path(app.srcdir, examples_dir, script.relative_to(root))))
    return pages


def keep_records(app: Sphinx) -> None:
    """Store this build's run records beside the pages they made; drop stale ones."""
    pages = _example_pages(app)
    names = [page.with_suffix(".py").name for page, _ in pages]
    for page, _ in pages:
        record_path = page.with_name(page.stem + RECORD_SUFFIX)
        name = page.with_suffix(".py").name
        if name in RAN:
            if names.count(name) > 1:
                raise RuntimeError(f"two examples are named {name}: rename one")
            record = {**RAN[name], "page_sha256": _digest(page)}
            record_path.write_text(json.dumps(record, indent=1) + "\n")
        elif record_path.exists():
            record = json.loads(record_path.read_text())
            if record.get("page_sha256") != _digest(page):
                record_path.unlink()  # the page was rewritten without running the example


def build_line(record: dict[str, str] | None, executed: bool, now: dict[str, str]) -> str:
    """Return the reST paragraph that ends an example page.

    Parameters
    ----------
    record : dict or None
        The facts of the run that produced the page, if one was recorded.
    executed : bool
        Whether the docs build is configured to run this example.
    now : dict
        The facts of this build, for a page whose example did not run.
    """
    if record is not None:
        return (
            f"**Built with** torch {record['torch']} and torchvision {record['torchvision']} "
            f"on {record['device']}, {record['date']}, commit {record['commit']}."
        )
    if not executed:
        return (
            "**Not run for this page:** the build that wrote it, from commit "
            f"{now['commit']} on {now['date']}, shows this example's code without "
            "running it."
        )
    return (
        "**Output from an earlier build:** the build that ran this example did not record "
        f"what ran it; this build, from commit {now['commit']} on {now['date']}, did not "
        "run it again."
    )


def add_build_line(app: Sphinx, docname: str, source: list[str]) -> None:
    """Add the build line to an example page, before its download links."""
    conf = app.config.sphinx_gallery_conf
    page = Path(app.srcdir, docname + ".rst")
    for examples_dir, gallery_dir in zip(conf["examples_dirs"], conf["gallery_dirs"], strict=True):
        if docname.startswith(gallery_dir + "/") and page.with_suffix(".py").exists():
            relative = page.with_suffix(".py").relative_to(Path(app.srcdir, gallery_dir))
            script = Path(app.srcdir, examples_dir, relative)
            break
    else:
        return  # not an example page
    record_path = page.with_name(page.stem + RECORD_SUFFIX)
    record = json.loads(record_path.read_text()) if record_path.exists() else None
    # sphinx-gallery's own test (gen_rst.executable_script) of whether it runs a script.
    executed = bool(re.search(conf["filename_pattern"], str(script)) and conf["plot_gallery"])
    now = run_facts(str(app.srcdir)) if record is None else {}
    line = build_line(record, executed, now)
    match = DOWNLOAD_LABEL.search(source[0])
    if match is None:
        raise ValueError(f"{docname}: no download section to put the build line before")
    text = f".. rst-class:: sphx-glr-build-line\n\n{line}\n\n"
    source[0] = source[0][: match.start()] + text + source[0][match.start() :]


def setup(app: Sphinx) -> dict[str, object]:
    """Register the extension's event handlers with Sphinx."""
    # After sphinx-gallery (priority 500) has run the examples and written the pages.
    app.connect("builder-inited", keep_records, priority=950)
    app.connect("source-read", add_build_line)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
