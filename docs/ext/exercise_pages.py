"""Sphinx extension: the exercise pages' hints and solutions, checked at build time.

Each gallery section ends with ``gallery/<section>/plot_<section>_exercises.py``. Per
exercise, that page holds the task (prose), a blank function (code), a cell that runs
the exercise's check on it (``ex.NAME.check(NAME)``, which prints "not done yet" on the
built page), and then a text cell holding only ::

    # .. exercise:: SECTION.NAME

This directive renders two collapsed sphinx-design dropdowns (HTML ``<details>``, opened
with the keyboard as well as the mouse): the hint, from the exercise's ``Exercise`` object
in ``pytorch_examples.exercises.SECTION``, and the solution, the source of the function
``NAME`` in ``docs/exercises/SECTION.py`` with the line its check printed for it. The
directive runs that check while the page is read and stops the build if the solution does
not pass.

The solutions are in neither the package (``docs/`` is not in the wheel) nor the
downloads: sphinx-gallery copies the page's source as the ``.py`` download and turns
its text into the notebook's markdown, so both would carry the directive line (a
pointer, not the solution). :func:`strip_downloads` removes it from both, after
sphinx-gallery has written them; ``tests/site/check_downloads.py`` checks on the built
site that no solution's body appears in a download. Finding and loading the solutions,
and the stripping itself, are in ``exercise_solutions.py``, which needs no Sphinx.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective

from exercise_solutions import (
    SOLUTIONS_DIR,
    exercises,
    solution_source,
    solutions,
    strip_notebook,
    strip_script,
)

if TYPE_CHECKING:
    from sphinx.application import Sphinx


class ExerciseDirective(SphinxDirective):
    """``.. exercise:: SECTION.NAME``: the hint and the checked solution, collapsed."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        """Check the solution, then render the two dropdowns."""
        target = self.arguments[0]
        section, _, name = target.partition(".")
        where = f"{self.env.docname}:{self.lineno}"
        try:
            exercise = exercises(section)[name]
            solution = getattr(solutions(section), name)
        except (ImportError, KeyError, AttributeError) as error:
            raise ExtensionError(
                f"{where}: no exercise or no solution {target}: {error}"
            ) from error
        result = exercise.grade(solution)
        if not result.passed:
            raise ExtensionError(
                f"{where}: the solution in docs/exercises/{section}.py fails its check: {result}"
            )
        self.env.note_dependency(str(SOLUTIONS_DIR / f"{section}.py"))
        # The hint is plain text (printed by ex.NAME.hint() too): escape reST's markup
        # characters, such as the trailing underscore of x.grad.zero_().
        hint = re.sub(r"([\\_*`|])", r"\\\1", exercise.hint_text)
        code = textwrap.indent(solution_source(section, name), " " * 6)
        text = "\n".join(
            [
                ".. dropdown:: Hint",
                "   :icon: light-bulb",
                "",
                textwrap.indent(hint, "   "),
                "",
                ".. dropdown:: Solution",
                "   :icon: check-circle",
                "",
                "   .. code-block:: python",
                "",
                code,
                "",
                "   Its check prints:",
                "",
                "   .. code-block:: none",
                "",
                f"      {result}",
                "",
            ]
        )
        return self.parse_text_to_nodes(text)


def strip_downloads(app: Sphinx) -> None:
    """Remove the directive lines from the scripts and notebooks sphinx-gallery wrote."""
    from wheel_offer import rezip

    for gallery_dir in app.config.sphinx_gallery_conf["gallery_dirs"]:
        for script in sorted(Path(app.srcdir, gallery_dir).rglob("*.py")):
            if not script.with_suffix(".rst").exists():
                continue  # not an example page's download
            changed = False
            text = script.read_text(encoding="utf-8")
            if strip_script(text) != text:
                script.write_text(strip_script(text), encoding="utf-8")
                changed = True
            notebook_path = script.with_suffix(".ipynb")
            if notebook_path.exists():
                notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
                stripped = strip_notebook(notebook)
                if stripped != notebook:
                    notebook_path.write_text(json.dumps(stripped, indent=1) + "\n", "utf-8")
                    changed = True
            if changed and script.with_suffix(".zip").exists():
                rezip(script.with_suffix(".zip"))


def setup(app: Sphinx) -> dict[str, object]:
    """Register the directive, and the clean-up of the downloads."""
    app.setup_extension("sphinx_design")
    app.add_directive("exercise", ExerciseDirective)
    # After sphinx-gallery (500) has written the downloads, before wheel_offer (950)
    # pins the package in them and rezips the zips of all examples.
    app.connect("builder-inited", strip_downloads, priority=940)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
