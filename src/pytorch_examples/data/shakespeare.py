"""Tiny Shakespeare: download, and a split of the text by position.

``tinyshakespeare.txt`` holds 1,115,394 characters of Shakespeare's plays, the data of
Andrej Karpathy's char-rnn repository (MIT License) and of nanoGPT's character-level
baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pytorch_examples._checks import check_split_fractions
from pytorch_examples.data.download import fetch_file

__all__ = ["TextSplits", "load_shakespeare", "shakespeare_path", "split_by_position"]

SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/"
    "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def shakespeare_path(directory: Path | None = None) -> Path:
    """Return the path of ``tinyshakespeare.txt``, downloading and verifying it if needed.

    First used on :doc:`/auto_examples/text/plot_shakespeare_gpt`.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Where to look for and keep the file; the data directory by default (see
        :func:`pytorch_examples.data.download.data_dir`).

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    pytorch_examples.data.download.DataUnavailableError
        If the file is missing or corrupted and cannot be downloaded.
    """
    return fetch_file(
        "tinyshakespeare.txt", SHAKESPEARE_URL, SHAKESPEARE_SHA256, directory=directory
    )


def load_shakespeare(directory: Path | None = None) -> str:
    """Return the whole text of tiny Shakespeare.

    First used on :doc:`/auto_examples/text/plot_shakespeare_gpt`.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Passed to :func:`shakespeare_path`.

    Returns
    -------
    str
        The text, newlines included.
    """
    return shakespeare_path(directory).read_text(encoding="utf-8")


@dataclass(frozen=True)
class TextSplits:
    """A text cut into three consecutive parts: training, validation and test.

    Taught on :doc:`/auto_examples/text/plot_shakespeare_gpt`.
    """

    train: str
    val: str
    test: str


def split_by_position(
    text: str, fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)
) -> TextSplits:
    """Cut a text into training, validation and test parts, in that order.

    Taught on :doc:`/auto_examples/text/plot_shakespeare_gpt`.

    Consecutive characters are not independent examples, so a text is split by position,
    not by shuffling: a random split would put the two halves of a line in different
    parts. The default keeps the first 90 % for training, as nanoGPT does, and halves
    nanoGPT's validation part into validation and test.

    Parameters
    ----------
    text : str
        The text to cut.
    fractions : tuple of three floats
        Shares of training, validation and test; positive, summing to 1.

    Returns
    -------
    TextSplits
        The three parts; joined, they give back ``text``.

    Raises
    ------
    ValueError
        If the fractions are not three positive shares summing to 1, or a part would be
        empty.
    """
    check_split_fractions(fractions)
    train_end = int(fractions[0] * len(text))
    val_end = train_end + int(fractions[1] * len(text))
    if not 0 < train_end < val_end < len(text):
        raise ValueError(f"a text of {len(text)} characters is too short to split by {fractions}")
    return TextSplits(text[:train_end], text[train_end:val_end], text[val_end:])
