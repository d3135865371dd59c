"""Surnames labelled with their language of origin: files, splits and character batches.

The data of PyTorch's tutorial "Classifying names with a character-level RNN": 20,074
lines in 18 files, ``<Language>.txt``, one surname per line, UTF-8. The files repeat
names (``Arabic.txt`` holds 2,000 lines but far fewer distinct names), and one name can
be listed under two languages (most Scottish names are also English ones), and a few
lines are not names (a scraped page footer, ``Rafaj1``). :func:`load_surnames` cleans
and normalises the lines and keeps each distinct (name, language) pair once, and
:func:`split_surnames` keeps all pairs of one name in the same split.
"""

from __future__ import annotations

import hashlib
import tempfile
import unicodedata
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pooch
import torch

from pytorch_examples._checks import check_split_fractions
from pytorch_examples.data.download import DATA_ENV_VAR, DataUnavailableError, data_dir

SURNAMES_URL = "https://download.pytorch.org/tutorial/data.zip"
SURNAMES_FOLDER = "names_by_language"
#: SHA-256 of each language's file; the zip's own hash is not published, so each file
#: extracted from it is checked instead.
SURNAME_FILES_SHA256 = {
    "Arabic": "6f424a8dbe51cbbbabab7a57d38b617210125e4e3991f3c657cb79b8f104bafc",
    "Chinese": "49263ef55a8cb1740e841d65cad8214b2f9b5b869bc534c811746422496fa91e",
    "Czech": "145bbbd6d0816578f03388e92c264d39ef1c60df920b081d371fa5c5cc055a8e",
    "Dutch": "924f32b635170eae561f84538632138fc07d4c8bbd70ba3fb980de1ecc4d2af3",
    "English": "9cca037066d3d5989e24bc01801416162de506b5e28e15b7c092a47905d29bf2",
    "French": "81e65b36c60ed5b89a17422f6edcadbb89546f38ad69e960e64e7ba682012a95",
    "German": "7449cd590b97a733e18d613a4155decd77ec35dc5f8aadd7a82204dce4f051db",
    "Greek": "3555b5186de7f401e6d991b088e9e644ca3099116477818c25ab5793801389e6",
    "Irish": "cf8c7013256252a88d2503127b87282a11f21b2ff6db1bded68834c19a1ec058",
    "Italian": "f88414c27d0606a11a678b4859277828c2565d6cc4d9ee932deef6e94f3b35e4",
    "Japanese": "e0e717e114fec3e7eade4d9dabe0067c475f43147e36a22b47902ee76ad9e67f",
    "Korean": "cd54221ccb362a6cba4c78828838cf3268a0e59744767a37cf6ec4b74036b136",
    "Polish": "45bab898af2f60ed3a728bbf6980e28821011a7caa53227553b5785903a40826",
    "Portuguese": "50a8735f41f4f73757c8ce5b16cb0275cd86b2b214bcbc8c9805f508cb131c53",
    "Russian": "43b3e64ce351f77f1ac9e0cdf7566012d127f4371875fd25208845b5c9d6f7c3",
    "Scottish": "78d0252711d87d948ea86fe34826c51d2d794a8e52d15b5d6f7b6244d45d62dd",
    "Spanish": "1bcb462ed3316756a85781d68232bddae04498fdddd5d9219c53fd1fbdeba7a7",
    "Vietnamese": "f3f9e4164ab47601178a6e45b216464a64122f49d05541f24bf18a757253281d",
}
#: The 18 languages in alphabetical order; a model's class ``i`` is ``LANGUAGES[i]``.
LANGUAGES = tuple(sorted(SURNAME_FILES_SHA256))
PAD, UNKNOWN = "<pad>", "<unk>"
#: A line with more space-separated words than this is not a surname (the longest real
#: ones, such as ``De la Fuente``, have three; a scraped footer has four).
MAX_WORDS = 3
#: Characters a surname may hold besides letters.
NAME_PUNCTUATION = frozenset("' -")


def clean_name(line: str) -> str | None:
    """Normalise one line of a file, or return ``None`` if it is not a surname.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    The line is put in Unicode NFKC form (so that, for example, a no-break space
    becomes a space and a letter written with a combining accent becomes one
    character) and its runs of whitespace become single spaces, without any at the
    ends. It is rejected if it is then empty, holds a character that is neither a
    letter (Unicode category ``L*``) nor one of :data:`NAME_PUNCTUATION`, or has more
    than :data:`MAX_WORDS` words.

    Parameters
    ----------
    line : str
        One line of a ``<Language>.txt`` file.

    Returns
    -------
    str or None
        The normalised name, or ``None`` for a line that is not one.
    """
    name = " ".join(unicodedata.normalize("NFKC", line).split())
    if not name or len(name.split()) > MAX_WORDS:
        return None
    allowed = (unicodedata.category(c).startswith("L") or c in NAME_PUNCTUATION for c in name)
    if not all(allowed):
        return None
    return name


def _bad_files(folder: Path) -> list[str]:
    """Return the files of ``folder`` that are missing or fail their hash, with why."""
    bad = []
    for language, sha256 in SURNAME_FILES_SHA256.items():
        path = folder / f"{language}.txt"
        if not path.is_file():
            bad.append(f"{path.name} (missing)")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            bad.append(f"{path.name} (fails its hash check)")
    return bad


def surnames_dir(
    directory: Path | None = None, *, downloader: Callable[..., object] | None = None
) -> Path:
    """Return the folder of the 18 verified files, downloading them first if needed.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    The files are looked for in ``names_by_language/`` of the data directory. If one is
    missing or fails its SHA-256 check, the tutorial's zip is downloaded once (to a
    temporary folder), its 18 files are extracted into that folder, and each is
    checked again.

    Parameters
    ----------
    directory : pathlib.Path, optional
        The data directory that holds ``names_by_language/``;
        :func:`~pytorch_examples.data.download.data_dir` by default.
    downloader : callable, optional
        A :mod:`pooch` downloader; the default chooses one from the URL. Tests pass
        their own to avoid the network.

    Returns
    -------
    pathlib.Path
        The folder holding ``Arabic.txt`` ... ``Vietnamese.txt``, each verified.

    Raises
    ------
    pytorch_examples.data.download.DataUnavailableError
        If a file is missing or corrupted and the download or extraction fails or
        gives a file that does not match. The message names the files, the folder,
        the URL and how to put the files in place.
    """
    folder = (data_dir() if directory is None else Path(directory)) / SURNAMES_FOLDER
    bad = _bad_files(folder)
    if not bad:
        return folder
    try:
        with tempfile.TemporaryDirectory() as scratch:
            archive = pooch.retrieve(
                SURNAMES_URL,
                known_hash=None,  # unpublished: the extracted files are checked instead
                fname="data.zip",
                path=scratch,
                downloader=downloader,
                progressbar=downloader is None,
            )
            folder.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(archive) as opened:
                for language in SURNAME_FILES_SHA256:
                    member = f"data/names/{language}.txt"
                    (folder / f"{language}.txt").write_bytes(opened.read(member))
        problem = ""
    except Exception as error:  # pooch, the network, zipfile and the disk raise their own
        problem = f" ({type(error).__name__}: {error})"
    still_bad = _bad_files(folder)
    if still_bad:
        raise DataUnavailableError(
            f"{', '.join(bad)} in {folder}; downloading {SURNAMES_URL} and extracting "
            f"data/names/<Language>.txt did not fix it: {', '.join(still_bad)}{problem}.\n"
            f"To fix this, download {SURNAMES_URL}, unzip it and copy the 18 files of its "
            f"data/names/ folder into {folder}, or set {DATA_ENV_VAR} to a directory "
            f"whose {SURNAMES_FOLDER}/ folder holds them."
        ) from None
    return folder


def load_surnames(
    directory: Path | None = None, *, downloader: Callable[..., object] | None = None
) -> list[tuple[str, str]]:
    """Read every distinct (surname, language) pair, sorted.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    Each line goes through :func:`clean_name`: lines that are not surnames are dropped
    and the rest normalised, so that two spellings count as one name exactly when
    they are equal after normalisation. A name repeated in one file counts once, and a
    name listed under two languages gives two pairs.

    Parameters
    ----------
    directory, downloader
        Passed to :func:`surnames_dir`.

    Returns
    -------
    list of tuple of str
        ``(name, language)`` pairs, sorted by name and then language.
    """
    folder = surnames_dir(directory, downloader=downloader)
    pairs = set()
    for language in LANGUAGES:
        text = (folder / f"{language}.txt").read_text(encoding="utf-8")
        names = (clean_name(line) for line in text.splitlines())
        pairs.update((name, language) for name in names if name is not None)
    return sorted(pairs)


@dataclass(frozen=True)
class SurnameSplits:
    """(name, language) pairs split into training, validation and test sets.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    No name is in two sets, even when it is listed under two languages.
    """

    train: list[tuple[str, str]]
    val: list[tuple[str, str]]
    test: list[tuple[str, str]]


def split_surnames(
    pairs: Sequence[tuple[str, str]],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 42,
) -> SurnameSplits:
    """Split names into three sets, language by language, keeping a name's pairs together.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    Each distinct name is assigned to a stratum: its language, or, for a name listed
    under several, the one with the fewest names (so that the small languages are
    split in proportion). Within a stratum the names are shuffled with the seed; the
    validation and test sets get ``round(fraction * n)`` names each and training the
    rest. Every pair of a name goes where the name goes.

    Parameters
    ----------
    pairs : sequence of (str, str)
        ``(name, language)`` pairs; repeats are dropped.
    fractions : tuple of three floats
        Shares of training, validation and test; positive, summing to 1.
    seed : int
        Seed of the shuffle: the same seed gives the same split.

    Returns
    -------
    SurnameSplits
        The three lists of pairs, each sorted.

    Raises
    ------
    ValueError
        If the fractions are not three positive shares summing to 1, or there are no
        pairs.
    """
    check_split_fractions(fractions)
    languages_of: dict[str, set[str]] = defaultdict(set)
    for name, language in set(pairs):
        languages_of[name].add(language)
    if not languages_of:
        raise ValueError("need (name, language) pairs to split, got none")
    size: dict[str, int] = defaultdict(int)
    for languages in languages_of.values():
        for language in languages:
            size[language] += 1
    strata: dict[str, list[str]] = defaultdict(list)
    for name in sorted(languages_of):
        rarest = min(languages_of[name], key=lambda language: (size[language], language))
        strata[rarest].append(name)
    generator = torch.Generator().manual_seed(seed)
    parts: tuple[list[tuple[str, str]], ...] = ([], [], [])
    for stratum in sorted(strata):
        names = strata[stratum]
        order = torch.randperm(len(names), generator=generator).tolist()
        n_val, n_test = (round(fraction * len(names)) for fraction in fractions[1:])
        cuts = (order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test])
        for part, indices in zip(parts, cuts, strict=True):
            part.extend((names[i], lang) for i in indices for lang in languages_of[names[i]])
    return SurnameSplits(*(sorted(part) for part in parts))


class CharacterAlphabet:
    """The common characters of the training names, plus a padding and an unknown symbol.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    Index 0 is :data:`PAD` (fills batches of names out to the longest), index 1 is
    :data:`UNKNOWN` (stands for any character outside the alphabet), and the
    characters follow in sorted order. A character that occurs fewer than
    ``min_count`` times in ``names`` is left out, so that the training names
    themselves contain ``<unk>`` and a model learns an embedding for it.

    Parameters
    ----------
    names : iterable of str
        The names whose characters make the alphabet: the training names only, so
        that validation and test characters unseen in training read as unknown.
    min_count : int
        How often a character must occur in ``names`` to get its own index.

    Attributes
    ----------
    rare : dict of str to int
        The characters of ``names`` left out for being rare, with their counts.
    """

    def __init__(self, names: Sequence[str], min_count: int = 1) -> None:
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1, got {min_count}")
        counts = Counter(character for name in names for character in name)
        characters = sorted(c for c, n in counts.items() if n >= min_count)
        self.rare: dict[str, int] = {c: n for c, n in sorted(counts.items()) if n < min_count}
        self.symbols: tuple[str, ...] = (PAD, UNKNOWN, *characters)
        self._index = {symbol: i for i, symbol in enumerate(self.symbols)}

    def __len__(self) -> int:
        return len(self.symbols)

    def unknown_characters(self, name: str) -> list[str]:
        """Return the characters of ``name`` outside the alphabet, in order of appearance."""
        return list(dict.fromkeys(c for c in name if c not in self._index))

    def encode(self, name: str) -> list[int]:
        """Return the index of each character; an unknown character gets index 1.

        Raises
        ------
        ValueError
            If ``name`` is empty.
        """
        if not name:
            raise ValueError("cannot encode an empty name")
        unknown = self._index[UNKNOWN]
        return [self._index.get(character, unknown) for character in name]


def pad_names(
    names: Sequence[str], alphabet: CharacterAlphabet
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode names into one batch, padded with index 0 to the longest.

    Taught on :doc:`/auto_examples/text/plot_surname_classifier`.

    Parameters
    ----------
    names : sequence of str
        The names of the batch, none empty.
    alphabet : CharacterAlphabet
        Encodes them.

    Returns
    -------
    tuple of torch.Tensor
        ``tokens``, ``int64`` of shape ``(len(names), longest)``, and ``lengths``,
        ``int64`` of shape ``(len(names),)``: name ``i`` is ``tokens[i, :lengths[i]]``
        and the rest of its row is 0.
    """
    if not names:
        raise ValueError("need at least one name to make a batch")
    encoded = [alphabet.encode(name) for name in names]
    lengths = torch.tensor([len(indices) for indices in encoded])
    tokens = torch.zeros(len(names), int(lengths.max()), dtype=torch.long)
    for row, indices in enumerate(encoded):
        tokens[row, : len(indices)] = torch.tensor(indices)
    return tokens, lengths
