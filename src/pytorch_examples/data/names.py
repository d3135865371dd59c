"""The names data set: download, character vocabulary, splits and training pairs.

``names.txt`` holds 32,033 lowercase first names, one per line (the last line has no
newline, so ``wc -l`` counts 32,032), from Andrej Karpathy's makemore repository
(MIT License). Some names occur more than once.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from pathlib import Path

import torch

from pytorch_examples._checks import check_positive_int
from pytorch_examples.data.download import fetch_file
from pytorch_examples.data.splits import split_indices

NAMES_URL = (
    "https://raw.githubusercontent.com/karpathy/makemore/"
    "988aa59e4d8fefa526d06f3b453ad116258398d4/names.txt"
)
NAMES_SHA256 = "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d"
BOUNDARY = "."


def names_path(directory: Path | None = None) -> Path:
    """Return the path of ``names.txt``, downloading and verifying it if needed.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

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
    return fetch_file("names.txt", NAMES_URL, NAMES_SHA256, directory=directory)


def load_names(directory: Path | None = None) -> list[str]:
    """Read the names, one per line, skipping blank lines.

    First used on :doc:`/auto_examples/language/plot_bigram_counts`.

    Parameters
    ----------
    directory : pathlib.Path, optional
        Passed to :func:`names_path`.

    Returns
    -------
    list of str
        The names in file order.
    """
    text = names_path(directory).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


class CharVocabulary:
    """The 27 symbols of the names: ``"."`` (start and end of a name) and a to z.

    Taught on :doc:`/auto_examples/language/plot_bigram_counts`.

    ``"."`` has index 0 and the letters follow in alphabetical order, so index ``i``
    of a model's output is the probability of ``vocab.symbols[i]``.
    """

    def __init__(self) -> None:
        self.symbols: tuple[str, ...] = (BOUNDARY, *string.ascii_lowercase)
        self._index = {symbol: i for i, symbol in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def encode(self, text: str) -> list[int]:
        """Return the index of each character of ``text``.

        Raises
        ------
        ValueError
            If ``text`` has a character outside the vocabulary.
        """
        unknown = sorted(set(text) - self._index.keys())
        if unknown:
            raise ValueError(
                f"{text!r} has characters outside the vocabulary ('.' and a-z): {unknown}"
            )
        return [self._index[c] for c in text]

    def decode(self, indices: list[int] | torch.Tensor) -> str:
        """Return the characters of ``indices`` joined into a string.

        Raises
        ------
        ValueError
            If an index is not in ``range(len(self))``.
        """
        values = indices.tolist() if isinstance(indices, torch.Tensor) else list(indices)
        bad = [i for i in values if not 0 <= i < len(self.symbols)]
        if bad:
            raise ValueError(f"indices must be in 0..{len(self.symbols) - 1}, got {bad}")
        return "".join(self.symbols[i] for i in values)


@dataclass(frozen=True)
class NameSplits:
    """Names split into training, validation and test sets; no name is in two.

    Taught on :doc:`/auto_examples/language/plot_bigram_counts`.
    """

    train: list[str]
    val: list[str]
    test: list[str]


def split_names(
    names: list[str],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 42,
) -> NameSplits:
    """Shuffle the distinct names with a fixed seed and cut them into three sets.

    Taught on :doc:`/auto_examples/language/plot_bigram_counts`.

    Splitting whole names, not (context, next character) pairs, keeps every pair of a
    name in the same set, and dropping repeated names first keeps a name that occurs
    twice out of two sets, so the validation loss measures names the model never saw.

    Parameters
    ----------
    names : list of str
        The names; repeats are dropped.
    fractions : tuple of three floats
        Shares of training, validation and test; positive, summing to 1.
    seed : int
        Seed of the shuffle.

    Returns
    -------
    NameSplits
        The three lists.
    """
    distinct = sorted(set(names))
    if not distinct:
        raise ValueError("need names to split, got none")
    parts = split_indices(len(distinct), fractions, seed=seed)
    return NameSplits(*([distinct[i] for i in part.tolist()] for part in parts))


def context_pairs(
    names: list[str], vocab: CharVocabulary, context_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Turn names into (context, next character) pairs for a language model.

    Taught on :doc:`/auto_examples/language/plot_bigram_counts`.

    Each name is padded on the left with ``context_length`` boundary symbols and ends
    with one, so ``"emma"`` with context length 3 gives ``... -> e``, ``..e -> m``,
    ``.em -> m``, ``emm -> a`` and ``mma -> .``.

    Parameters
    ----------
    names : list of str
        Names made of a to z.
    vocab : CharVocabulary
        The vocabulary that encodes them.
    context_length : int
        How many previous characters the model sees.

    Returns
    -------
    tuple of torch.Tensor
        Contexts, shape ``(n_pairs, context_length)``, and next characters, shape
        ``(n_pairs,)``, both ``int64``.
    """
    context_length = check_positive_int("context_length", context_length)
    boundary = vocab.encode(BOUNDARY)[0]
    contexts, targets = [], []
    for name in names:
        context = [boundary] * context_length
        for index in [*vocab.encode(name), boundary]:
            contexts.append(context)
            targets.append(index)
            context = [*context[1:], index]
    return torch.tensor(contexts, dtype=torch.long), torch.tensor(targets, dtype=torch.long)
