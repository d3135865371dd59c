"""Plain-text output for the gallery pages, whose printed output the site shows."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 4) -> str:
    """Format rows as a fixed-width text table.

    First used on :doc:`/auto_examples/basics/plot_autograd`.

    Parameters
    ----------
    headers : sequence of str
        Column titles.
    rows : sequence of sequence
        The cells; floats are written with ``digits`` digits after the point.
    digits : int
        Digits after the decimal point for floats.

    Returns
    -------
    str
        The table, one line per row, columns right-aligned.

    Raises
    ------
    ValueError
        If a row does not have one cell per header.
    """
    cells = [[str(h) for h in headers]]
    for index, row in enumerate(rows):
        if len(row) != len(headers):
            raise ValueError(f"row {index} has {len(row)} cells, expected {len(headers)}")
        cells.append([_format_cell(c, digits) for c in row])
    widths = [max(len(line[j]) for line in cells) for j in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _format_cell(cell: object, digits: int) -> str:
    if not isinstance(cell, float):
        return str(cell)
    # Values that round to zero print as 0, never as "-0.000".
    if round(cell, digits) == 0:
        cell = 0.0
    return f"{cell:.{digits}f}"
