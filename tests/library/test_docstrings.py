"""Every public helper of the library names the page that teaches it, as api.md promises."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from gallery_manifest import PAGES

PACKAGE = Path(__file__).parents[2] / "src" / "pytorch_examples"
# A page is linked by document (:doc:`/auto_examples/basics/plot_autograd`, with or
# without a title) or by sphinx-gallery's label for it
# (:ref:`sphx_glr_auto_examples_basics_plot_autograd.py`).
DOC_LINK = re.compile(r":doc:`(?:[^`<]*<)?/auto_examples/([\w/]+?)>?`")
REF_LINK = re.compile(r":ref:`(?:[^`<]*<)?sphx_glr_auto_examples_([a-z]+)_(plot_\w+?)\.py>?`")


def linked_pages(docstring: str) -> list[str]:
    """The pages, as ``section/plot_name``, a docstring links."""
    return DOC_LINK.findall(docstring) + [f"{s}/{p}" for s, p in REF_LINK.findall(docstring)]


DOCNAMES = {page.docname.removeprefix("auto_examples/") for page in PAGES}


def public_helpers() -> list[tuple[str, ast.FunctionDef | ast.ClassDef]]:
    """Module-level functions and classes of public modules whose names have no underscore."""
    helpers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")
        if any(part.startswith("_") and part != "__init__" for part in module.split(".")):
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                helpers.append((f"{module.removesuffix('.__init__')}.{node.name}", node))
    return helpers


@pytest.mark.parametrize(
    ("name", "node"), [pytest.param(name, node, id=name) for name, node in public_helpers()]
)
def test_the_docstring_links_a_page_of_the_gallery(name, node):
    docstring = ast.get_docstring(node) or ""
    linked = linked_pages(docstring)
    assert linked, f"{name}'s docstring links no page (:doc:`/auto_examples/SECTION/plot_X`)"
    unknown = sorted(set(linked) - DOCNAMES)
    assert not unknown, f"{name} links pages that are not in the manifest: {unknown}"


@pytest.mark.parametrize(
    "link",
    [
        ":doc:`/auto_examples/classification/plot_digits_mlp`",
        ":doc:`the digits page </auto_examples/classification/plot_digits_mlp>`",
        ":ref:`sphx_glr_auto_examples_classification_plot_digits_mlp.py`",
        ":ref:`the digits page <sphx_glr_auto_examples_classification_plot_digits_mlp.py>`",
    ],
)
def test_the_link_patterns_read_every_form(link):
    assert linked_pages(f"Taught on {link}.") == ["classification/plot_digits_mlp"]
