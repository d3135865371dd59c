"""Sphinx configuration for the PyTorch Examples site."""

from __future__ import annotations

import os
from pathlib import Path

# Imported here so that the one-time cost of loading PyTorch (and the compiler stack
# that torch.optim loads on first use) is not charged to whichever example runs first.
import torch._dynamo  # noqa: F401

import pytorch_examples

DOCS_DIR = Path(__file__).parent
REPO_ROOT = DOCS_DIR.parent

project = "PyTorch Examples"
author = "PyTorch Examples contributors"
copyright = "2026, PyTorch Examples contributors"
release = pytorch_examples.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
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

sphinx_gallery_conf = {
    "examples_dirs": [str(REPO_ROOT / "gallery")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",
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

html_theme = "furo"
html_title = "PyTorch Examples"
html_static_path: list[str] = []
html_theme_options = {"navigation_with_keys": True}

# Only the environment decides whether GPU examples run; see gallery/gpu.
os.environ.setdefault("MPLBACKEND", "Agg")
