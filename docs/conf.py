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

import pytorch_examples
from pytorch_examples.device import gpu_examples_enabled

DOCS_DIR = Path(__file__).parent
REPO_ROOT = DOCS_DIR.parent
sys.path.insert(0, str(DOCS_DIR))
from intersphinx_sources import INVENTORY_DIR, INVENTORY_URLS  # noqa: E402

project = "PyTorch Examples"
author = "PyTorch Examples contributors"
copyright = "2026, PyTorch Examples contributors"
release = pytorch_examples.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    # Serves MathJax from the built site so math renders offline.
    "sphinx-mathjax-offline",
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

# GPU-only examples (gallery/**/plot_gpu_*.py) run only when PYTORCH_EXAMPLES_GPU=1 and
# CUDA is available; otherwise their pages are built from the code alone, and the
# "gpu_examples_run" tag, absent, shows the note at their top that says so.
RUN_GPU_EXAMPLES = gpu_examples_enabled()
if RUN_GPU_EXAMPLES:
    tags.add("gpu_examples_run")  # noqa: F821 (Sphinx provides `tags` in conf.py)

sphinx_gallery_conf = {
    "examples_dirs": [str(REPO_ROOT / "gallery")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_" if RUN_GPU_EXAMPLES else r"/plot_(?!gpu_)",
    # Reading order: tensors, regression, classification, language, vision.
    "subsection_order": [
        f"../gallery/{name}"
        for name in ("basics", "regression", "classification", "language", "vision")
    ],
    "within_subsection_order": "gallery_order.ReadingOrder",
    "download_all_examples": True,
    "write_computation_times": True,
    "remove_config_comments": True,
    "doc_module": ("pytorch_examples",),
    "backreferences_dir": "gen_modules/backreferences",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "first_notebook_cell": (
        "# This notebook needs the pytorch_examples package. From a checkout of the\n"
        "# project: %pip install -e /path/to/pytorch-examples\n"
        "%matplotlib inline"
    ),
    "capture_repr": (),
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


def setup(app):
    app.connect("autodoc-process-docstring", add_example_links)
    app.connect("source-read", drop_cdn_scripts)
