"""Results that one page records and a later page compares.

A page that trains a model records what it measured with :func:`record_result`; a
comparison page reads every record back with :func:`load_results`, so a table that
compares pages holds numbers the build produced, never numbers typed in. Records live
in the per-user cache directory, one JSON file per page, and a page that runs again
replaces its own record. A metric is one number, or a list of numbers with one entry
per example (each validation prediction's loss, say), so that a comparison page can
pair two models example by example with :func:`pytorch_examples.comparison.paired_difference`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pytorch_examples.data.download import cache_dir

__all__ = ["MissingResultsError", "load_results", "record_result", "results_dir"]


class MissingResultsError(RuntimeError):
    """A comparison asked for results that no page has recorded yet.

    First used on :doc:`/auto_examples/language/plot_language_models_compared`.
    """


def results_dir() -> Path:
    """Return the directory that holds the recorded results.

    First used on :doc:`/auto_examples/language/plot_language_models_compared`.
    """
    return cache_dir() / "results"


Metric = float | list[float]


def _check_number(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"metric {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"metric {name} must be finite, got {value!r}")


def record_result(page: str, **metrics: float | list[float] | tuple[float, ...]) -> Path:
    """Record the numbers a page measured, replacing the page's earlier record.

    First used on :doc:`/auto_examples/language/plot_language_models_compared`.

    Parameters
    ----------
    page : str
        The page's name, such as ``"plot_mlp_language_model"``; letters, digits and
        underscores.
    **metrics : float, or list or tuple of float
        The measured numbers, for example ``val_loss=1.99, parameters=113827``, or
        lists of them, one per example, for example ``val_losses=[2.1, 0.4, ...]``
        (stored as lists).

    Returns
    -------
    pathlib.Path
        The file written. It is written to a temporary file first and then renamed,
        so a reader never sees half a record.

    Raises
    ------
    ValueError
        If ``page`` is not a plain name, no metric is given, or a metric is not a
        finite number or a non-empty list (or tuple) of finite numbers.
    """
    if not page.replace("_", "").isalnum():
        raise ValueError(f"page must be letters, digits and underscores, got {page!r}")
    if not metrics:
        raise ValueError("record at least one metric")
    stored: dict[str, Metric] = {}
    for name, value in metrics.items():
        if isinstance(value, list | tuple):
            if not value:
                raise ValueError(f"metric {name} is an empty list")
            for entry in value:
                _check_number(name, entry)
            stored[name] = list(value)
        else:
            _check_number(name, value)
            stored[name] = value
    directory = results_dir()
    directory.mkdir(parents=True, exist_ok=True)
    record = {
        "page": page,
        "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "metrics": stored,
    }
    target = directory / f"{page}.json"
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump(record, file, indent=2)
    Path(temporary).replace(target)
    return target


def load_results(pages: list[str]) -> dict[str, dict[str, Metric]]:
    """Read the records of ``pages``, in the order given.

    First used on :doc:`/auto_examples/language/plot_language_models_compared`.

    Parameters
    ----------
    pages : list of str
        The pages whose results to read.

    Returns
    -------
    dict
        Page name to its metrics: numbers, and lists of numbers where the page
        recorded one per example.

    Raises
    ------
    MissingResultsError
        If a page has no record; the message names the pages to run first.
    """
    missing = [page for page in pages if not (results_dir() / f"{page}.json").exists()]
    if missing:
        raise MissingResultsError(
            f"no recorded results for {', '.join(missing)} in {results_dir()}: run those "
            "pages first (the docs build runs every page in reading order)"
        )
    return {
        page: json.loads((results_dir() / f"{page}.json").read_text())["metrics"] for page in pages
    }
