"""Sphinx extension: every number in an example's prose is one its build produced.

sphinx-gallery turns each ``gallery/**/plot_*.py`` into a reST page holding three kinds
of text: prose, code and the output the code printed. After it has written those pages,
this extension reads each one and warns (which fails the build, since the docs build
turns warnings into errors) about any number in the prose that the page neither printed
nor shows as a named constant (an upper-case name assigned a literal, such as
``N_STEPS = 6000`` or ``WIDTHS = (32, 64, 128)``). A number that appears in the code only
as a literal inside an expression (``range(800)``, ``lr=2e-3``) does not count: name it,
or print it. A number matches when the prose states it to the precision it is written
with: "2.45" matches a printed 2.4544, "169,000" a printed 168,951, "71 %" a printed
0.7117. Integers from 0 to 10 are not checked (two layers, 3 x 3 filters).

A number that comes from elsewhere (a paper's result, a year) is declared on its page in
a config comment, which sphinx-gallery removes from the rendered code::

    # sphinx_gallery_cited_numbers = {"94": "the accuracy target of the cited recipe"}

See CONTRIBUTING.md for the convention this check enforces.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sphinx.application import Sphinx

# A number standing alone: not part of a word ("float32", "CIFAR-10", "L2", "3x3"),
# optionally with thousands separators and decimals.
PROSE_NUMBER = re.compile(
    r"(?<![\w.,/^_])(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?!\w|\.\d|,\d|-bit)(\s?%)?"
)
# Numbers in code and output: also scientific notation and digit separators.
ANY_NUMBER = re.compile(r"(?<![A-Za-z_])\d[\d_,]*(?:\.\d+)?(?:[eE][-+]?\d+)?")
# Inline markup whose numbers are not claims: math, literals, cross-references, links.
INLINE_MARKUP = re.compile(r":\w+:`[^`]*`|``[^`]*``|`[^`]*`_{0,2}|<https?://[^>]*>")
SMALL_INTEGER = 10
# Times vary by machine, so prose never states one: "about 40 s", "three minutes".
TIME_IN_PROSE = re.compile(
    r"(?:\b\d[\d,.]*\s?|\b(?:a few|several|one|two|three|four|five|six|seven|eight|nine|ten)[\s-])"
    r"(?:ms|s|sec|secs|seconds?|mins?|minutes?|hours?)\b",
    re.I,
)
CITED_CONFIG = re.compile(r"^\s*#\s*sphinx_gallery_cited_numbers\s*=\s*(.+)$", re.M)


@dataclass(frozen=True)
class UnmatchedNumber:
    """A number in a page's prose that its code and output do not produce."""

    text: str
    line: int
    sentence: str


@dataclass
class PageText:
    """The three kinds of text on a generated example page.

    ``code`` holds the code blocks, each dedented and separated by a blank line.
    """

    prose: list[tuple[int, str]]
    code: str
    output: str


def split_generated_page(rst: str) -> PageText:
    """Sort the lines of a sphinx-gallery reST page into prose, code and output.

    Parameters
    ----------
    rst : str
        The page sphinx-gallery generated from an example.

    Returns
    -------
    PageText
        Prose lines with their 1-based line numbers, and code and output as text.
    """
    prose: list[tuple[int, str]] = []
    code_blocks: list[list[str]] = []
    output: list[str] = []
    sink: list[str] | None = None  # where the current directive's body goes
    directive_indent = -1
    body_indent = -1  # the indentation of the current directive's body
    for number, line in enumerate(rst.splitlines(), start=1):
        if line.lstrip().startswith("**Total running time of the script:**"):
            break  # the download links and the build's own footer follow
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if stripped.startswith(".. ") and (sink is None or indent <= directive_indent):
            # A directive, possibly nested in another (sphinx-gallery puts each output
            # block inside an ``rst-class`` directive).
            directive_indent, body_indent = indent, -1
            sink = None
            if stripped.startswith(".. code-block:: none"):
                sink = output
            elif stripped.startswith(".. code-block::"):
                code_blocks.append([])
                sink = code_blocks[-1]
            continue
        if directive_indent >= 0:
            if not stripped or indent > directive_indent:
                if sink is not None and stripped and not stripped.startswith(":"):
                    if body_indent < 0:
                        body_indent = indent
                    sink.append(line[body_indent:] if sink is not output else stripped)
                elif sink is not None and not stripped and body_indent >= 0:
                    sink.append("")
                continue
            sink, directive_indent = None, -1
        if stripped and not re.fullmatch(r"([=\-~^\"'`#*+])\1+", stripped):
            prose.append((number, line))
    code = "\n\n".join("\n".join(block).strip("\n") for block in code_blocks)
    return PageText(prose=prose, code=code, output="\n".join(output))


def _values(text: str) -> list[float]:
    values = []
    for match in ANY_NUMBER.finditer(text):
        token = match.group().replace("_", "").replace(",", "")
        try:
            values.append(float(token))
        except ValueError:
            continue
    return values


def _literal_numbers(node: ast.expr) -> list[float]:
    """Return the numbers of a literal: a number, or a container of literals."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []
    found: list[float] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, bool):
            continue
        if isinstance(item, int | float):
            found.append(float(item))
        elif isinstance(item, tuple | list | set | frozenset):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
    return found


def named_constants(code: str) -> list[float]:
    """Return the numbers a page's code shows as named constants.

    A named constant is an assignment to an upper-case name (``N_STEPS = 6000``,
    ``WIDTHS = (32, 64, 128)``, ``LEARNING_RATE: float = 3e-3``) whose value is a
    literal. Code that does not parse (a fragment) contributes nothing.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    numbers: list[float] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        names = [n for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        if names and all(n.id.isupper() for n in names):
            numbers.extend(_literal_numbers(value))
    return numbers


def _matches(written: str, decimals: str | None, percent: bool, produced: list[float]) -> bool:
    value = float(written.replace(",", "") + (f".{decimals}" if decimals else ""))
    candidates = set(produced)
    if percent:
        candidates |= {100 * v for v in produced if 0 <= v <= 1}
    if decimals:
        places = len(decimals)
    else:
        digits = written.replace(",", "")
        places = -(len(digits) - len(digits.rstrip("0"))) if value else 0
    # Half a unit in the last written place, plus float rounding slack.
    tolerance = 0.5 * 10.0 ** (-places) * (1 + 1e-9)
    return any(abs(abs(candidate) - value) <= tolerance for candidate in candidates)


def _paragraphs(prose: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join prose lines that follow each other into paragraphs, with their first line."""
    paragraphs: list[tuple[int, str]] = []
    previous = None
    for number, line in prose:
        if previous is not None and number == previous + 1:
            first, text = paragraphs[-1]
            paragraphs[-1] = (first, f"{text} {line.strip()}")
        else:
            paragraphs.append((number, line.strip()))
        previous = number
    return paragraphs


def _context(text: str, match: re.Match[str], width: int = 60) -> str:
    return text[max(0, match.start() - width) : match.end() + width].strip()


def unmatched_numbers(page: PageText, cited: set[str] = frozenset()) -> list[UnmatchedNumber]:
    """Return the numbers in a page's prose that it neither printed nor names as a constant.

    Parameters
    ----------
    page : PageText
        The page, as :func:`split_generated_page` returns it.
    cited : set of str
        Numbers, written as in the prose, that the page declares it cites.

    Returns
    -------
    list of UnmatchedNumber
        One entry per unmatched number, in the order of the prose.
    """
    produced = named_constants(page.code) + _values(page.output)
    problems = []
    for first_line, paragraph in _paragraphs(page.prose):
        text = INLINE_MARKUP.sub(" ", paragraph)
        times = list(TIME_IN_PROSE.finditer(text))
        for match in times:
            problems.append(UnmatchedNumber(match.group(), first_line, _context(text, match)))
        for match in PROSE_NUMBER.finditer(text):
            if any(time.start() <= match.start() < time.end() for time in times):
                continue  # already reported as a time
            written, decimals, percent = match.group(1), match.group(2), match.group(3)
            full = written + (f".{decimals}" if decimals else "")
            if decimals is None and int(written.replace(",", "")) <= SMALL_INTEGER:
                continue
            if full in cited or _matches(written, decimals, bool(percent), produced):
                continue
            problems.append(UnmatchedNumber(full, first_line, _context(text, match)))
    return problems


def cited_numbers(source: str) -> set[str]:
    """Read the numbers a gallery script declares as cited from elsewhere."""
    match = CITED_CONFIG.search(source)
    if not match:
        return set()
    return {str(key) for key in ast.literal_eval(match.group(1))}


def check_gallery(app: Sphinx) -> None:
    """Warn about unmatched prose numbers on every generated example page."""
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    for gallery_dir in app.config.sphinx_gallery_conf["gallery_dirs"]:
        for rst_path in sorted((Path(app.srcdir) / gallery_dir).rglob("plot_*.rst")):
            script = rst_path.with_suffix(".py")
            cited = cited_numbers(script.read_text()) if script.exists() else set()
            page = split_generated_page(rst_path.read_text())
            docname = str(rst_path.relative_to(app.srcdir).with_suffix(""))
            for problem in unmatched_numbers(page, cited):
                logger.warning(
                    "%r in the prose is a time, or a number neither printed nor a named "
                    "constant of the page: %r",
                    problem.text,
                    problem.sentence,
                    location=(docname, problem.line),
                    type="prose_numbers",
                )


def check_script(script: Path) -> list[UnmatchedNumber]:
    """Run one gallery script and check its prose, as the docs build would.

    The prose and code come from sphinx-gallery's own parser; the output is what the
    script prints when run in a fresh interpreter from a temporary directory.
    """
    import subprocess
    import sys
    import tempfile

    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    _, blocks = split_code_and_text_blocks(str(script))
    prose = [
        (block.lineno + offset, line)
        for block in blocks
        if block.type == "text"
        for offset, line in enumerate(block.content.splitlines())
        if not line.strip().startswith("..")
    ]
    code = "\n\n".join(block.content for block in blocks if block.type == "code")
    with tempfile.TemporaryDirectory() as workdir:
        result = subprocess.run(
            [sys.executable, str(script.resolve())],
            cwd=workdir,
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, "MPLBACKEND": "Agg"},
        )
    page = PageText(prose=prose, code=code, output=result.stdout)
    return unmatched_numbers(page, cited_numbers(script.read_text()))


def setup(app: Sphinx) -> dict[str, object]:
    """Run the check after sphinx-gallery has generated its pages."""
    app.connect("builder-inited", check_gallery, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    import sys

    # Check pages one at a time while writing them: python docs/prose_numbers.py PAGE.py
    found = False
    for argument in sys.argv[1:]:
        for problem in check_script(Path(argument)):
            found = True
            print(f"{argument}:{problem.line}: {problem.text!r} in {problem.sentence!r}")
    sys.exit(1 if found else 0)
