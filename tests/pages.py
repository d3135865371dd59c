"""Run a gallery page in this process and return its namespace, with smaller settings.

Pages keep their settings as constants at the top (``N_EPOCHS = 10``). A test can run a
page with some of them replaced, for example fewer epochs, and then inspect what the
page computed. The replacement is made on the page's syntax tree, so a constant the page
no longer defines is an error, not a silently ignored setting.
"""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

GALLERY = Path(__file__).parents[1] / "gallery"


def run_page(script: Path, **settings: object) -> dict[str, object]:
    """Execute ``script`` with top-level constants replaced by ``settings``.

    Each keyword names a module-level constant assigned once at the top level of the
    page; its value must be a Python literal. Figures are closed instead of shown.
    """
    tree = ast.parse(script.read_text(), filename=str(script))
    replaced = set()
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in settings
        ):
            name = node.targets[0].id
            node.value = ast.parse(repr(settings[name]), mode="eval").body
            replaced.add(name)
    missing = set(settings) - replaced
    if missing:
        raise KeyError(f"{script.name} defines no top-level constant {sorted(missing)}")
    code = compile(ast.fix_missing_locations(tree), str(script), "exec")
    namespace: dict[str, object] = {"__name__": "__main__", "__file__": str(script)}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plt, "show", lambda *args, **kwargs: plt.close("all"))
        exec(code, namespace)
    plt.close("all")
    return namespace
