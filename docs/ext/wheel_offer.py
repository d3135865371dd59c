"""Sphinx extension: offer the wheel of the documented commit, and pin it in every download.

The examples import the ``pytorch_examples`` package, so a downloaded script or notebook
runs only where that package is installed, at the version that ran the example when its
page was built. This extension

* builds the package's wheel from the checkout being documented (:func:`prepare`, called
  from ``conf.py``) and copies it into the site as ``wheels/<wheel file>``;
* links it from the home page (the ``<!-- wheel offer -->`` marker in ``index.md``), from
  each example's download section, and from the gallery index beside the zips of all
  examples, with the one command that runs an unzipped example;
* writes the install command at the top of every downloadable script and as the first
  cell of every notebook, and rebuilds the zips that hold them.

The install command names the version when it is a release (``pip install
pytorch-examples==0.2.0``: no ``.dev`` and no local part, so a clean checkout of a tag
built it, and the release workflow publishes that tag to PyPI). Otherwise it names the
wheel: by its URL on the published site when ``PYTORCH_EXAMPLES_SITE_URL`` gives the
site's address (the publishing workflow sets it), else by its file name, for a reader who
saved the wheel beside the download.
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import shutil
import subprocess
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

PACKAGE = "pytorch-examples"
SITE_DIR = "wheels"  # where the wheel lies in the built site
HOME_MARKER = "<!-- wheel offer -->"
HEADER_START = "# This example needs the pytorch-examples package"
# The example the zip's instructions name; any other runs the same way.
ZIP_EXAMPLE = "basics/plot_tensors_numpy.py"
ZIP_README = "README.txt"


@dataclass(frozen=True)
class Offer:
    """The wheel a site build offers, and how its downloads install it.

    Attributes
    ----------
    wheel : pathlib.Path
        The wheel file built from the documented checkout.
    site_url : str
        The published site's address, or ``""`` when the build does not know it.
    """

    wheel: Path
    site_url: str = ""

    @property
    def version(self) -> str:
        """The package version, from the wheel's file name."""
        return self.wheel.name.split("-")[1]

    @property
    def released(self) -> bool:
        """Whether the version is a release, installable from PyPI by its number."""
        version = Version(self.version)
        return version.local is None and not version.is_devrelease

    @property
    def site_path(self) -> str:
        """The wheel's path in the built site, relative to its root."""
        return f"{SITE_DIR}/{self.wheel.name}"

    @property
    def pip_target(self) -> str:
        """What ``pip install`` is given: a pinned name, the wheel's URL, or its file."""
        if self.released:
            return f"{PACKAGE}=={self.version}"
        if self.site_url:
            return f"{self.site_url.rstrip('/')}/{self.site_path}"
        return self.wheel.name

    @property
    def pip_command(self) -> str:
        """The install command a reader runs."""
        return f"pip install {shlex.quote(self.pip_target)}"

    def source(self, folder: str, beside: str = "this example") -> str:
        """Say where the install command takes the package from, in a sentence.

        ``folder`` names where a saved wheel must be, as in "this notebook's folder";
        ``beside`` what the site offers the wheel next to.
        """
        brings = "with PyTorch and the other packages it needs"
        if self.released:
            return f"The command installs it from PyPI, {brings}."
        if self.site_url:
            return f"The command installs it from the wheel on the site, {brings}."
        return (
            f"The command installs it, {brings}, from the wheel {self.wheel.name}, "
            f"offered on the site beside {beside}: save the wheel in {folder}."
        )

    def _needs(self, folder: str) -> list[str]:
        text = (
            f"{HEADER_START.removeprefix('# ')} at version {self.version}, the one that "
            f"ran it when its page was built. {self.source(folder)}"
        )
        return _wrap(text, "# ")

    def notebook_cell(self) -> str:
        """Return the first code cell of every notebook: install, then inline figures."""
        lines = self._needs("this notebook's folder")
        return "\n".join([*lines, f"%{self.pip_command}", "%matplotlib inline"])

    def script_header(self) -> str:
        """Return the comment that opens every downloadable script."""
        lines = self._needs("the folder you run this script from")
        return "\n".join([*lines, "#", f"#     {self.pip_command}"]) + "\n"

    def zip_command(self, example: str = ZIP_EXAMPLE) -> str:
        """One command that sets up an environment and runs an example of the zip.

        It runs in the folder that holds the unzipped examples and the offered wheel.
        """
        return (
            f"python3 -m venv .venv && .venv/bin/pip install {shlex.quote(self.wheel.name)}"
            f" && .venv/bin/python {example}"
        )

    def zip_readme(self, kind: str) -> str:
        """Return the instructions put into the zip of all scripts or all notebooks.

        ``kind`` is ``"python"`` or ``"jupyter"``, as in sphinx-gallery's zip names.
        """
        intro = (
            f"These are the examples of the PyTorch Examples site, built with version "
            f"{self.version} of the pytorch-examples package."
        )
        if kind == "python":
            paragraphs = [
                f"{intro} Save its wheel, {self.wheel.name}, offered on the site beside "
                "this zip, in this folder. Then, on Linux or macOS, this one command makes "
                "a virtual environment in .venv, installs the package, PyTorch and the "
                "other packages it needs into it, and runs an example:",
                f"    {self.zip_command()}",
                f"Run any other example with .venv/bin/python in place of {ZIP_EXAMPLE}.",
            ]
        else:
            paragraphs = [
                f"{intro} The first cell of each notebook installs it: {self.pip_command}",
                self.source("the notebook's own folder", beside="this zip"),
            ]
        paragraphs.append(
            "Examples that read data download it on first use into a per-user cache "
            "directory, or read it from the directory named by PYTORCH_EXAMPLES_DATA."
        )
        return (
            "\n\n".join(p if p.startswith("    ") else "\n".join(_wrap(p, "")) for p in paragraphs)
            + "\n"
        )


def _wrap(text: str, prefix: str) -> list[str]:
    """Wrap text at 88 columns, never inside a version, a file name or a URL."""
    width = 88 - len(prefix)
    lines = textwrap.wrap(text, width=width, break_on_hyphens=False, break_long_words=False)
    return [prefix + line for line in lines]


_prepared: Offer | None = None


def find_uv() -> str:
    """Return the uv executable: the docs environment's own, else one on the PATH."""
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if found is None:
            raise RuntimeError(
                "building the wheel that the site offers needs uv: pip install uv"
            ) from None
        return found
    return find_uv_bin()


def build_wheel(repo_root: Path, out_dir: Path) -> Path:
    """Build the package's wheel from ``repo_root`` into an emptied ``out_dir``.

    Returns
    -------
    pathlib.Path
        The wheel.
    """
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    command = [find_uv(), "build", "--wheel", "--out-dir", str(out_dir), str(repo_root)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{result.stderr}")
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {out_dir}, found {wheels}")
    return wheels[0]


def prepare(repo_root: Path, out_dir: Path, site_url: str = "") -> Offer:
    """Build the wheel of the checkout at ``repo_root``; the extension offers it.

    Parameters
    ----------
    repo_root : pathlib.Path
        The project checkout the site documents.
    out_dir : pathlib.Path
        A directory for the wheel; emptied first.
    site_url : str
        The published site's address, if known.

    Returns
    -------
    Offer
        The offered wheel.
    """
    global _prepared
    _prepared = Offer(build_wheel(repo_root, out_dir), site_url)
    return _prepared


def prepared() -> Offer:
    """Return the offer that :func:`prepare` made for this build."""
    if _prepared is None:
        raise RuntimeError("conf.py must call wheel_offer.prepare() before the build")
    return _prepared


# --- The downloads: script header, notebook cell, zips ---------------------------------


def with_header(script: str, header: str) -> str:
    """Return ``script`` opening with ``header``, replacing a header an earlier build put."""
    if script.startswith(HEADER_START):
        lines = script.splitlines(keepends=True)
        end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
        script = "".join(lines[end + 1 :] if lines[end].strip() == "" else lines[end:])
    return header + "\n" + script


def with_install_cell(notebook: dict, cell: str) -> dict:
    """Return ``notebook`` whose first code cell is ``cell``.

    The first code cell is replaced when it installs something (an earlier build's
    install cell); otherwise ``cell`` is put before it.
    """
    cells = notebook["cells"]
    source = cell.splitlines(keepends=True)
    for index, existing in enumerate(cells):
        if existing["cell_type"] == "code":
            if "pip install" in "".join(existing["source"]):
                existing["source"] = source
            else:
                cells.insert(index, {**existing, "source": source, "outputs": []})
            return notebook
    cells.insert(0, {"cell_type": "code", "metadata": {}, "source": source, "outputs": []})
    return notebook


def _write_if_changed(path: Path, text: str) -> bool:
    if path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def rezip(zip_path: Path, extra: dict[str, str] | None = None) -> None:
    """Rewrite a zip with the current contents of the files it holds (and ``extra``).

    The files are read from disk at the paths their names have relative to the
    zip's folder; ``extra`` maps further names to text.
    """
    extra = extra or {}
    with zipfile.ZipFile(zip_path) as old:
        names = [name for name in old.namelist() if name not in extra]
    partial = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as new:
        for name in names:
            new.write(zip_path.parent / name, name)
        for name, text in extra.items():
            new.writestr(name, text)
    partial.replace(zip_path)


def refresh_downloads(app: Sphinx) -> None:
    """Pin the package in every script and notebook sphinx-gallery wrote, and rezip."""
    offer = prepared()
    header, cell = offer.script_header(), offer.notebook_cell()
    for gallery_dir in app.config.sphinx_gallery_conf["gallery_dirs"]:
        root = Path(app.srcdir, gallery_dir)
        for script in sorted(root.rglob("*.py")):
            if not script.with_suffix(".rst").exists():
                continue  # not an example page's download
            changed = _write_if_changed(
                script, with_header(script.read_text(encoding="utf-8"), header)
            )
            notebook_path = script.with_suffix(".ipynb")
            if notebook_path.exists():
                notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
                text = json.dumps(with_install_cell(notebook, cell), indent=1) + "\n"
                changed |= _write_if_changed(notebook_path, text)
            single_zip = script.with_suffix(".zip")
            if single_zip.exists() and changed:
                rezip(single_zip)
        for kind in ("python", "jupyter"):
            all_zip = root / f"{root.name}_{kind}.zip"
            if all_zip.exists():
                rezip(all_zip, {ZIP_README: offer.zip_readme(kind)})


# --- The links on the pages -------------------------------------------------------------


def _relative(docname: str, target: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(docname) or ".")


def _gallery_of(app: Sphinx, docname: str) -> str | None:
    for gallery_dir in app.config.sphinx_gallery_conf["gallery_dirs"]:
        if docname.startswith(gallery_dir + "/"):
            return gallery_dir
    return None


ZIP_DOWNLOAD = re.compile(
    r"^( *)\.\. container:: sphx-glr-download sphx-glr-download-zip\n\n.*\n", re.M
)
ALL_ZIPS = re.compile(
    r"^( *)\.\. container:: sphx-glr-download sphx-glr-download-jupyter\n\n"
    r".*Download all examples.*\n",
    re.M,
)


def home_section(offer: Offer) -> str:
    """Return the MyST text that replaces the home page's marker."""
    if offer.released:
        source = "pip downloads it from PyPI."
    elif offer.site_url:
        source = "pip downloads the wheel from this site."
    else:
        source = "Run it in the folder where you saved the wheel."
    return "\n".join(
        [
            f"They need the package these pages ran, `pytorch-examples` {offer.version},",
            "built from the commit the site documents:",
            "",
            "```{eval-rst}",
            f"`Download {offer.wheel.name} <{offer.site_path}>`__",
            "```",
            "",
            "Every downloaded script and notebook starts with the command that installs it,",
            "with PyTorch and the other packages it needs:",
            "",
            "```bash",
            offer.pip_command,
            "```",
            "",
            source,
            "",
            "To run the examples from the zip of all scripts, at the bottom of",
            "{doc}`the gallery <auto_examples/index>`, save the wheel and the zip in one",
            "folder, unzip the zip there and run, on Linux or macOS:",
            "",
            "```bash",
            offer.zip_command(),
            "```",
            "",
            "It makes a virtual environment in `.venv`, installs the package into it and runs",
            f"an example; run any other with `.venv/bin/python` in place of `{ZIP_EXAMPLE}`.",
        ]
    )


def add_links(app: Sphinx, docname: str, source: list[str]) -> None:
    """Link the wheel from the home page, the gallery index and each example page."""
    offer = prepared()
    if docname == app.config.root_doc:
        if HOME_MARKER not in source[0]:
            raise ValueError(f"{docname} lost its wheel marker {HOME_MARKER!r}")
        source[0] = source[0].replace(HOME_MARKER, home_section(offer))
        return
    gallery_dir = _gallery_of(app, docname)
    if gallery_dir is None:
        return
    link = f"`Download the package: {offer.wheel.name} <{_relative(docname, offer.site_path)}>`__"
    if docname == f"{gallery_dir}/index":
        pattern, text = (
            ALL_ZIPS,
            (
                "{0}.. container:: sphx-glr-download sphx-glr-download-wheel\n\n{0}  "
                + link
                + "\n\n{0}.. container:: sphx-glr-download-command\n\n{0}  Unzip the examples"
                " beside the package's wheel and run one (on Linux or macOS):\n\n"
                "{0}  .. code-block:: bash\n\n{0}     " + offer.zip_command() + "\n"
            ),
        )
    elif Path(app.srcdir, docname + ".py").exists():
        pattern, text = (
            ZIP_DOWNLOAD,
            ("{0}.. container:: sphx-glr-download sphx-glr-download-wheel\n\n{0}  " + link + "\n"),
        )
    else:
        return  # a section index
    match = pattern.search(source[0])
    if match is None:
        raise ValueError(f"{docname}: no sphinx-gallery download section to add the wheel to")
    indent = match.group(1)
    insert = "\n" + text.format(indent)
    source[0] = source[0][: match.end()] + insert + source[0][match.end() :]


def copy_wheel(app: Sphinx, exception: Exception | None) -> None:
    """Put the wheel into the built site, in place of any other wheel there."""
    if exception is not None or app.builder.format != "html":
        return
    offer = prepared()
    target = Path(app.outdir, SITE_DIR)
    target.mkdir(exist_ok=True)
    for old in target.glob("*.whl"):
        old.unlink()
    shutil.copy2(offer.wheel, target / offer.wheel.name)


def reread_when_offer_changes(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Have Sphinx read the pages that link the wheel again when the wheel is new."""
    offer = prepared()
    key = (offer.wheel.name, offer.pip_target)
    if getattr(env, "wheel_offer_key", None) == key:
        return []
    env.wheel_offer_key = key
    return [
        docname
        for docname in env.found_docs
        if docname == app.config.root_doc or _gallery_of(app, docname) is not None
    ]


def setup(app: Sphinx) -> dict[str, object]:
    """Register the extension's event handlers with Sphinx."""
    # After sphinx-gallery (priority 500) has written the downloads.
    app.connect("builder-inited", refresh_downloads, priority=950)
    app.connect("env-get-outdated", reread_when_offer_changes)
    app.connect("source-read", add_links)
    app.connect("build-finished", copy_wheel)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
