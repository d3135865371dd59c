"""Every section's exercises: solutions pass, blanks are "not done", pages and downloads agree.

A section has exercises when ``docs/exercises/<section>.py`` (its solutions) exists. The
wrong answers each check must reject are in ``tests/gallery/<section>/``.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap

import pytest

import exercise_solutions
from gallery_manifest import GALLERY_DIR, PAGES
from pytorch_examples.exercises import Exercise

SECTIONS = exercise_solutions.sections()
ALL = [(s, name) for s in SECTIONS for name in exercise_solutions.exercises(s)]
ID = "{0[0]}.{0[1]}".format


def page_file(section: str) -> str:
    return f"{section}/plot_{section}_exercises.py"


def blank(*args, **kwargs):
    raise NotImplementedError


def test_sections_with_exercises_exist():
    assert "basics" in SECTIONS


@pytest.mark.parametrize("section", SECTIONS)
def test_the_page_is_in_the_manifest_and_fast(section):
    pages = {page.file: page for page in PAGES}
    page = pages.get(page_file(section))
    assert page is not None, f"{page_file(section)} is not in docs/ext/gallery_manifest.py"
    assert not (page.slow or page.gpu) and page.small is None


@pytest.mark.parametrize("section", SECTIONS)
def test_page_module_and_solutions_name_the_same_exercises(section):
    source = (GALLERY_DIR / page_file(section)).read_text()
    names = list(exercise_solutions.exercises(section))
    assert len(names) >= 4, f"{section} has {len(names)} exercises; the issue asks for 4"
    tree = ast.parse(source)
    blanks = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and isinstance(node.body[-1], ast.Raise)
        and ast.unparse(node.body[-1].exc) == "NotImplementedError"
    ]
    checks = re.findall(r"^ex\.(\w+)\.check\((\w+)\)$", source, re.M)
    directives = re.findall(rf"^# \.\. exercise:: {section}\.(\w+)$", source, re.M)
    solved = [
        node.name
        for node in ast.parse(
            (exercise_solutions.SOLUTIONS_DIR / f"{section}.py").read_text()
        ).body
        if isinstance(node, ast.FunctionDef)
    ]
    assert blanks == names, "the page's blank functions, in the module's order"
    assert [a for a, _ in checks] == names and all(a == b for a, b in checks)
    assert directives == names
    assert sorted(solved) == sorted(names)
    for name in names:
        assert exercise_solutions.exercises(section)[name].name == name


@pytest.mark.parametrize("target", ALL, ids=ID)
def test_the_solution_passes(target):
    section, name = target
    exercise: Exercise = exercise_solutions.exercises(section)[name]
    result = exercise.grade(getattr(exercise_solutions.solutions(section), name))
    assert result.passed, str(result)


@pytest.mark.parametrize("target", ALL, ids=ID)
def test_the_blank_is_not_done(target):
    section, name = target
    result = exercise_solutions.exercises(section)[name].grade(blank)
    assert result.verdict == "not done yet", str(result)
    assert "NotImplementedError" in result.message


@pytest.mark.parametrize("target", ALL, ids=ID)
def test_an_answer_that_raises_is_wrong_with_its_line(target):
    section, name = target

    def broken(*args, **kwargs):
        return [][1]  # IndexError

    result = exercise_solutions.exercises(section)[name].grade(broken)
    assert result.verdict == "wrong"
    assert "IndexError" in result.message and "return [][1]" in result.message


@pytest.mark.parametrize("section", SECTIONS)
def test_the_page_as_written_says_not_done_for_each(gallery_page, section):
    run = gallery_page(page_file(section))
    for name in exercise_solutions.exercises(section):
        assert f"{name}: not done yet" in run.output


@pytest.mark.parametrize("section", SECTIONS)
def test_each_solution_pasted_into_the_page_passes(gallery_page, section):
    """What a reader does: paste the shown solution in the page's namespace, check it."""
    namespace = dict(gallery_page(page_file(section)).namespace)
    for name, exercise in exercise_solutions.exercises(section).items():
        exec(exercise_solutions.solution_source(section, name), namespace)
        assert exercise.grade(namespace[name]).passed, name


@pytest.mark.parametrize("target", ALL, ids=ID)
def test_no_solution_body_is_on_the_page(target):
    section, name = target
    source = (GALLERY_DIR / page_file(section)).read_text()
    # The page's code, without its prose (comments), which may name what a solution calls.
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith("#"))
    for line in solution_body(section, name):
        assert line not in code, f"the page shows the solution's line {line!r}"


def solution_body(section: str, name: str) -> list[str]:
    """The solution's body lines (not its signature or docstring) longer than a word."""
    source = exercise_solutions.solution_source(section, name)
    function = ast.parse(source).body[0]
    body = function.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # a docstring
    lines = source.splitlines()[body[0].lineno - 1 :] if body else []
    return [line.strip() for line in lines if len(line.strip()) > 12]


def test_the_downloads_lose_the_directive_lines():
    script = textwrap.dedent(
        """\
        ex.f.check(f)

        # %%
        # .. exercise:: basics.f

        # %%
        # 2. Next
        """
    )
    assert exercise_solutions.strip_script(script) == "ex.f.check(f)\n\n\n# %%\n# 2. Next\n"
    notebook = {
        "cells": [
            {"cell_type": "code", "source": ["ex.f.check(f)"]},
            {"cell_type": "markdown", "source": [".. exercise:: basics.f"]},
            {"cell_type": "markdown", "source": ["Task\n", "\n", ".. exercise:: basics.g\n"]},
        ]
    }
    stripped = exercise_solutions.strip_notebook(json.loads(json.dumps(notebook)))
    assert [c["source"] for c in stripped["cells"]] == [["ex.f.check(f)"], ["Task"]]
