import hashlib
import io
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import torch

from fakes import FakeDownloader
from pytorch_examples.data import surnames
from pytorch_examples.data.download import DATA_ENV_VAR, DataUnavailableError
from pytorch_examples.data.surnames import (
    LANGUAGES,
    CharacterAlphabet,
    load_surnames,
    pad_names,
    split_surnames,
    surnames_dir,
)

# One small file per language; English repeats a name (once behind a no-break space),
# shares one with Scottish and holds two lines that are not names; Scottish spells
# Müller once with a combining diaeresis.
CONTENTS = {language: f"{language}a\n{language}b\n".encode() for language in LANGUAGES}
CONTENTS["English"] = (
    "Smith\nSmith\n  Brown \n\nBrown\xa0\nMacDonald\nRafaj1\nTo The  First Page\n".encode()
)
CONTENTS["Scottish"] = "MacDonald\nMüller\nMu\u0308ller\n".encode()


def make_zip(contents):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/eng-fra.txt", "not used")
        for language, payload in contents.items():
            archive.writestr(f"data/names/{language}.txt", payload)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def fake_hashes(monkeypatch):
    hashes = {language: hashlib.sha256(data).hexdigest() for language, data in CONTENTS.items()}
    monkeypatch.setattr(surnames, "SURNAME_FILES_SHA256", hashes)


def write_files(directory, contents=CONTENTS):
    folder = directory / surnames.SURNAMES_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for language, payload in contents.items():
        (folder / f"{language}.txt").write_bytes(payload)
    return folder


def test_good_local_files_are_used_without_downloading(tmp_path):
    folder = write_files(tmp_path)
    offline = FakeDownloader(None)
    assert surnames_dir(tmp_path, downloader=offline) == folder
    assert offline.calls == 0


def test_the_data_directory_comes_from_the_environment(monkeypatch, tmp_path):
    write_files(tmp_path)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert surnames_dir(downloader=FakeDownloader(None)) == tmp_path / "names_by_language"


def test_missing_files_are_extracted_from_one_download(tmp_path):
    online = FakeDownloader(make_zip(CONTENTS))
    for _ in range(2):
        folder = surnames_dir(tmp_path, downloader=online)
    assert online.calls == 1
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        f"{language}.txt" for language in LANGUAGES
    )
    assert (folder / "Greek.txt").read_bytes() == CONTENTS["Greek"]


def test_a_corrupt_file_is_replaced_from_the_download(tmp_path):
    folder = write_files(tmp_path)
    (folder / "Korean.txt").write_bytes(b"Kim\n")
    online = FakeDownloader(make_zip(CONTENTS))
    surnames_dir(tmp_path, downloader=online)
    assert online.calls == 1
    assert (folder / "Korean.txt").read_bytes() == CONTENTS["Korean"]


def test_offline_with_a_corrupt_file_names_it_the_folder_and_the_fix(tmp_path):
    folder = write_files(tmp_path)
    (folder / "Korean.txt").write_bytes(b"Kim\n")
    with pytest.raises(DataUnavailableError) as caught:
        surnames_dir(tmp_path, downloader=FakeDownloader(None))
    message = str(caught.value)
    assert "Korean.txt (fails its hash check)" in message
    assert "Greek.txt" not in message
    assert str(folder) in message
    assert surnames.SURNAMES_URL in message
    assert DATA_ENV_VAR in message
    assert "ConnectionError" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_offline_with_a_missing_file_says_it_is_missing(tmp_path):
    folder = write_files(tmp_path)
    (folder / "Vietnamese.txt").unlink()
    with pytest.raises(DataUnavailableError, match=r"Vietnamese\.txt \(missing\)"):
        surnames_dir(tmp_path, downloader=FakeDownloader(None))


def test_a_download_with_a_wrong_file_is_refused(tmp_path):
    wrong = {**CONTENTS, "Polish": b"Nowak\n"}
    with pytest.raises(DataUnavailableError, match=r"did not fix it: Polish\.txt \(fails"):
        surnames_dir(tmp_path, downloader=FakeDownloader(make_zip(wrong)))


def test_a_download_that_is_not_a_zip_is_refused(tmp_path):
    with pytest.raises(DataUnavailableError, match="BadZipFile"):
        surnames_dir(tmp_path, downloader=FakeDownloader(b"<html>not found</html>"))


def test_pairs_are_distinct_normalised_cleaned_and_keep_both_languages_of_a_name(tmp_path):
    write_files(tmp_path)
    pairs = load_surnames(tmp_path, downloader=FakeDownloader(None))
    english = [name for name, language in pairs if language == "English"]
    assert english == ["Brown", "MacDonald", "Smith"]
    assert [language for name, language in pairs if name == "MacDonald"] == [
        "English",
        "Scottish",
    ]
    assert ("Müller", "Scottish") in pairs
    assert len(pairs) == 2 * len(LANGUAGES) + 1


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("  O'Neill ", "O'Neill"),
        ("Smith-Jones", "Smith-Jones"),
        ("De la\t Fuente", "De la Fuente"),
        ("Mu\u0308ller", "Müller"),  # NFKC composes the diaeresis
        ("Ｓｍｉｔｈ", "Smith"),  # full-width letters
        ("To The First\xa0 Page", None),  # four words
        ("Rafaj1", None),
        ("Lu:", None),
        ("Lytkin,", None),
        ("Maxa/B", None),
        (" \xa0 ", None),
    ],
)
def test_clean_name_normalises_and_rejects_lines_that_are_not_names(line, expected):
    assert surnames.clean_name(line) == expected


def test_the_word_limit_is_the_rule(monkeypatch):
    assert surnames.clean_name("De la Fuente") == "De la Fuente"
    monkeypatch.setattr(surnames, "MAX_WORDS", 2)
    assert surnames.clean_name("De la Fuente") is None


def synthetic_pairs():
    """Unequal languages, and names that are listed under two of them."""
    pairs = []
    for index, language in enumerate(("Big", "Middle", "Small")):
        pairs += [(f"{language}{i}", language) for i in range((3 - index) * 100)]
    pairs += [(f"Middle{i}", "Small") for i in range(20)]  # listed twice
    return pairs + pairs[:50]  # repeats


def test_the_split_is_stratified_disjoint_by_name_and_complete():
    pairs = synthetic_pairs()
    splits = split_surnames(pairs, (0.8, 0.1, 0.1), seed=3)
    parts = (splits.train, splits.val, splits.test)
    assert sorted(splits.train + splits.val + splits.test) == sorted(set(pairs))
    names = [{name for name, _ in part} for part in parts]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # A name listed twice is split with its rarer language: the 20 names listed as
    # Middle and Small go with the 100 Small ones (120 names), not the Middle ones.
    twice = {f"Middle{i}" for i in range(20)}
    strata = {
        "Big": {f"Big{i}" for i in range(300)},
        "Middle": {f"Middle{i}" for i in range(200)} - twice,
        "Small": {f"Small{i}" for i in range(100)} | twice,
    }
    for stratum, members in strata.items():
        sizes = [len(members & part_names) for part_names in names]
        n = len(members)
        assert sizes == [n - 2 * round(0.1 * n), round(0.1 * n), round(0.1 * n)], stratum
    for name in twice:
        homes = [i for i, part in enumerate(parts) if (name, "Middle") in part]
        assert homes == [i for i, part in enumerate(parts) if (name, "Small") in part]


def test_the_split_keeps_every_language_in_proportion():
    pairs = synthetic_pairs()
    splits = split_surnames(pairs, (0.6, 0.2, 0.2), seed=0)
    total = Counter(language for _, language in set(pairs))
    for part, share in ((splits.val, 0.2), (splits.test, 0.2), (splits.train, 0.6)):
        counts = Counter(language for _, language in part)
        for language, n in total.items():
            assert abs(counts[language] - share * n) <= 0.02 * n + 2, (language, share)


def test_the_split_depends_on_the_seed_only():
    pairs = synthetic_pairs()
    assert split_surnames(pairs, seed=1) == split_surnames(list(reversed(pairs)), seed=1)
    assert split_surnames(pairs, seed=1) != split_surnames(pairs, seed=2)


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.1, 0.2), (0.9, -0.1, 0.2)])
def test_the_split_rejects_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_surnames(synthetic_pairs(), fractions)


def test_the_alphabet_reads_unseen_characters_as_unknown():
    alphabet = CharacterAlphabet(["Abe", "Bea"])
    assert alphabet.symbols == ("<pad>", "<unk>", "A", "B", "a", "b", "e")
    assert alphabet.encode("Abé") == [2, 5, 1]
    assert alphabet.unknown_characters("Øbéé") == ["Ø", "é"]
    assert alphabet.unknown_characters("Abe") == []
    with pytest.raises(ValueError, match="empty"):
        alphabet.encode("")


def test_rare_characters_are_read_as_unknown_and_listed():
    alphabet = CharacterAlphabet(["Abe", "Bea", "Abe", "Bea", "Aby"], min_count=2)
    assert alphabet.symbols == ("<pad>", "<unk>", "A", "B", "a", "b", "e")
    assert alphabet.rare == {"y": 1}
    assert alphabet.encode("Aby") == [2, 5, 1]
    with pytest.raises(ValueError, match="min_count"):
        CharacterAlphabet(["Abe"], min_count=0)


def test_a_padded_batch_keeps_each_name_and_its_length():
    alphabet = CharacterAlphabet(["Abe", "Bea"])
    tokens, lengths = pad_names(["Abe", "B", "Beab"], alphabet)
    assert tokens.dtype == lengths.dtype == torch.long
    assert tokens.shape == (3, 4)
    assert lengths.tolist() == [3, 1, 4]
    assert tokens.tolist() == [[2, 5, 6, 0], [3, 0, 0, 0], [3, 6, 4, 5]]
    with pytest.raises(ValueError, match="at least one name"):
        pad_names([], alphabet)


@pytest.mark.skipif(
    not (Path(os.environ.get(DATA_ENV_VAR, "/nonexistent")) / "names_by_language").is_dir(),
    reason="PYTORCH_EXAMPLES_DATA does not hold names_by_language/",
)
def test_the_real_files_verify_and_load(monkeypatch):
    monkeypatch.undo()  # the real hashes, not the fake ones
    pairs = load_surnames(downloader=FakeDownloader(None))
    assert len({language for _, language in pairs}) == 18
    assert len(pairs) == 18_005
    assert Counter(language for _, language in pairs)["Arabic"] == 108
    assert all(surnames.clean_name(name) == name for name, _ in pairs)
