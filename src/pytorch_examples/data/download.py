"""Where data lives, and fetching a file into it with a hash check.

The data directory is ``$PYTORCH_EXAMPLES_DATA`` when that variable is set, else a
per-user cache directory. Files are downloaded once, checked against a pinned SHA-256
hash, and fetched again if a stored copy does not match.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import platformdirs
import pooch

DATA_ENV_VAR = "PYTORCH_EXAMPLES_DATA"


class DataUnavailableError(RuntimeError):
    """A data file is missing and could not be downloaded.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

    The message says which file, where it was looked for, and how to get it.
    """


def data_dir() -> Path:
    """Return the directory that holds the examples' data.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

    Returns
    -------
    pathlib.Path
        ``$PYTORCH_EXAMPLES_DATA`` if set and not empty, else the per-user cache
        directory for ``pytorch-examples`` (for example ``~/.cache/pytorch-examples``
        on Linux). The directory need not exist yet.
    """
    configured = os.environ.get(DATA_ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return cache_dir()


def cache_dir() -> Path:
    """Return the per-user directory for files the package derives from data.

    First used on :doc:`/auto_examples/vision/plot_cifar10_data`.

    A directory named by ``$PYTORCH_EXAMPLES_DATA`` may be shared or read-only, so
    derived files (decoded tensors, for example) never go there; they go here, which
    is also where downloads land when that variable is unset.

    Returns
    -------
    pathlib.Path
        The per-user cache directory for ``pytorch-examples``; it need not exist yet.
    """
    return Path(platformdirs.user_cache_dir("pytorch-examples"))


def fetch_file(
    filename: str,
    url: str,
    sha256: str,
    *,
    directory: Path | None = None,
    downloader: Callable[..., object] | None = None,
) -> Path:
    """Return the path of a data file, downloading it first if needed.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

    A stored copy whose SHA-256 hash matches is used as it is, without network access.
    A missing copy, or one that fails the hash check (truncated or corrupted), is
    downloaded again and checked.

    Parameters
    ----------
    filename : str
        Name of the file inside ``directory``.
    url : str
        Where to download it from.
    sha256 : str
        The expected SHA-256 hash, 64 hexadecimal digits.
    directory : pathlib.Path, optional
        Where the file is kept; :func:`data_dir` when omitted.
    downloader : callable, optional
        A :mod:`pooch` downloader; the default chooses one from the URL. Tests pass
        their own to avoid the network.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    DataUnavailableError
        If the file cannot be downloaded (for example offline), or the download does
        not match the hash. The message names the URL and the path to put the file at.
    """
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise ValueError(f"sha256 must be 64 hexadecimal digits, got {sha256!r}")
    directory = data_dir() if directory is None else Path(directory)
    target = directory / filename
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}",
            fname=filename,
            path=directory,
            downloader=downloader,
            progressbar=downloader is None,
        )
    except Exception as error:  # pooch raises requests', urllib's and its own errors
        state = "fails its hash check" if target.exists() else "is missing"
        raise DataUnavailableError(
            f"{filename} {state} at {target} and could not be downloaded from {url} "
            f"({type(error).__name__}: {error}).\n"
            f"To fix this, download {url} and save it as {target}, or set "
            f"{DATA_ENV_VAR} to a directory that holds {filename}."
        ) from None
    return Path(path)
