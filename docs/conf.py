"""Sphinx configuration for the PyTorch Examples site."""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

# Imported here so that the one-time cost of loading PyTorch (and the compiler stack
# that torch.optim loads on first use) is not charged to whichever example runs first.
import torch._dynamo  # noqa: F401

from pytorch_examples.device import gpu_examples_enabled

DOCS_DIR = Path(__file__).parent
REPO_ROOT = DOCS_DIR.parent
sys.path.insert(0, str(DOCS_DIR / "ext"))
import wheel_offer  # noqa: E402
from gallery_manifest import GPU, SECTIONS, reading_path  # noqa: E402
from intersphinx_sources import INVENTORY_DIR, INVENTORY_URLS  # noqa: E402

# The wheel of the checkout this site documents, built now: the site offers it, and every
# downloaded script and notebook installs it (docs/ext/wheel_offer.py). The publishing
# workflow gives the site's address, so that downloads can name the wheel by its URL.
OFFER = wheel_offer.prepare(
    REPO_ROOT, DOCS_DIR / "_build" / "wheel", os.environ.get("PYTORCH_EXAMPLES_SITE_URL", "")
)

project = "PyTorch Examples"
author = "PyTorch Examples contributors"
copyright = "2026, PyTorch Examples contributors"
release = OFFER.version

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    # Serves MathJax from the built site so math renders offline.
    "sphinx-mathjax-offline",
    # Fails the build on a number in an example's prose that the example did not produce.
    "prose_numbers",
    # Ends every example page with what ran it: versions, device, date, commit.
    "build_line",
    # Offers the wheel on the site and pins it in every download.
    "wheel_offer",
    # Collapsed dropdowns (HTML <details>), served from the site itself.
    "sphinx_design",
    # The exercise pages' hints and solutions; fails the build on a solution that does
    # not pass its check, and keeps the solutions out of the downloads.
    "exercise_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "**/*.ipynb", "**/*.py.md5", "**/*.codeobj.json", "**/*.zip"]
root_doc = "index"

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "description"
autodoc_member_order = "bysource"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
# Dataclass fields are documented once, in the class's "Attributes" section.
napoleon_use_ivar = True

# GPU-only examples (marked in docs/ext/gallery_manifest.py) run only when
# PYTORCH_EXAMPLES_GPU=1 and CUDA is available; otherwise their pages are built from the
# code alone, and the "gpu_examples_run" tag, absent, shows the note at their top that
# says so.
RUN_GPU_EXAMPLES = gpu_examples_enabled()
if RUN_GPU_EXAMPLES:
    tags.add("gpu_examples_run")  # noqa: F821 (Sphinx provides `tags` in conf.py)
NOT_RUN = "" if RUN_GPU_EXAMPLES else "".join(f"(?!{re.escape(stem)})" for stem in sorted(GPU))
# For a quick local look at some pages: PYTORCH_EXAMPLES_ONLY=exercises executes only the
# pages whose file name contains "exercises"; the others are built from their code alone,
# without output (so the prose-number check warns about them). Never set it for a build
# that is published or checked.
ONLY = os.environ.get("PYTORCH_EXAMPLES_ONLY", "")
RUN_PATTERN = rf"/{NOT_RUN}plot_\w*{re.escape(ONLY)}\w*\.py$" if ONLY else rf"/{NOT_RUN}plot_"

sphinx_gallery_conf = {
    "examples_dirs": [str(REPO_ROOT / "gallery")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": RUN_PATTERN,
    # Sections and pages in the manifest's reading order.
    "subsection_order": [f"../gallery/{section.directory}" for section in SECTIONS],
    "within_subsection_order": "gallery_manifest.ReadingOrder",
    "download_all_examples": True,
    "write_computation_times": True,
    "remove_config_comments": True,
    "doc_module": ("pytorch_examples",),
    "backreferences_dir": "gen_modules/backreferences",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    # Installs the package pinned to this build's version, then shows figures inline.
    "first_notebook_cell": OFFER.notebook_cell(),
    # build_line.record_run notes what runs each example; sphinx-gallery's own two
    # resets (matplotlib, seaborn) stay.
    "reset_modules": ("matplotlib", "seaborn", "build_line.record_run"),
    "capture_repr": (),
    # Figures are also saved at twice the resolution, for high-density screens.
    "image_srcset": ["2x"],
    # Each page ends with three related examples, by the similarity of their text.
    "recommender": {"enable": True, "n_examples": 3},
}


# Cross-links to other projects' docs come from inventories kept in docs/_inventories
# (refresh them with `nox -s inventories`), and from the projects' sites when they can
# be reached. Offline, only inventories on disk are used, so the build never waits on
# the network and never warns.
def _online(host: str = "docs.python.org") -> bool:
    try:
        socket.create_connection((host, 443), timeout=2).close()
    except OSError:
        return False
    return True


ONLINE = _online()
intersphinx_mapping = {}
for _name, _url in INVENTORY_URLS.items():
    _local = INVENTORY_DIR / f"{_name}.inv"
    _locations = ((str(_local),) if _local.exists() else ()) + ((None,) if ONLINE else ())
    if _locations:
        intersphinx_mapping[_name] = (_url, _locations)
intersphinx_timeout = 5

html_theme = "furo"
html_title = "PyTorch Examples"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": True}

os.environ.setdefault("MPLBACKEND", "Agg")


def add_example_links(app, what, name, obj, options, lines):
    """Append the examples that use an object to its API reference entry."""
    if what in ("function", "class") and name.startswith("pytorch_examples."):
        lines.extend(["", f".. minigallery:: {name}", "   :add-heading: Examples using this", ""])


# sphinx-gallery's execution-times pages load jQuery, Bootstrap and DataTables from
# CDNs to make their table sortable. The site must work offline and request nothing
# from other hosts, so that block goes; the plain table remains.
CDN_TABLE_SCRIPTS = re.compile(r"  \.\. raw:: html\n.*?</script>\n(?=\s*\.\. list-table::)", re.S)


def drop_cdn_scripts(app, docname, source):
    """Remove the CDN-loading raw HTML from sphinx-gallery's execution-times pages."""
    if docname.endswith("sg_execution_times"):
        source[0] = CDN_TABLE_SCRIPTS.sub("", source[0])


# The reading paths on the home page and the gallery index come from the manifest.
READING_PATH_MARKERS = {
    "index": ("<!-- reading path -->", "{doc}"),
    "auto_examples/index": (".. reading path", ":doc:"),
}


def insert_reading_path(app, docname, source):
    """Replace the reading-path marker of the home page or gallery index with the path."""
    if docname in READING_PATH_MARKERS:
        marker, doc_role = READING_PATH_MARKERS[docname]
        if marker not in source[0]:
            raise ValueError(f"{docname} lost its reading-path marker {marker!r}")
        source[0] = source[0].replace(marker, reading_path(doc_role))


def setup(app):
    app.connect("autodoc-process-docstring", add_example_links)
    app.connect("source-read", drop_cdn_scripts)
    app.connect("source-read", insert_reading_path)
