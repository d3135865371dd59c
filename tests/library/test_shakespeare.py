import os
from pathlib import Path

import pooch
import pytest
import requests

from pytorch_examples.data import shakespeare
from pytorch_examples.data.download import DATA_ENV_VAR, DataUnavailableError


@pytest.fixture
def offline(monkeypatch):
    """Make every download fail as it does on a machine without a network."""

    def no_network(self, url, output_file, pooch, check_only=False):
        raise requests.exceptions.ConnectionError(f"no network to reach {url}")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", no_network)


@pytest.mark.parametrize("stored", [None, b"First Citizen:\nBefore we proceed"])
def test_a_missing_or_truncated_file_offline_is_one_clear_data_error(tmp_path, offline, stored):
    target = tmp_path / "tinyshakespeare.txt"
    if stored is not None:
        target.write_bytes(stored)
    with pytest.raises(DataUnavailableError) as caught:
        shakespeare.load_shakespeare(tmp_path)
    message = str(caught.value)
    assert ("is missing" if stored is None else "fails its hash check") in message
    assert str(target) in message
    assert shakespeare.SHAKESPEARE_URL in message
    assert DATA_ENV_VAR in message


def test_a_text_splits_by_position_into_parts_that_join_back():
    text = "".join(chr(ord("a") + i % 26) for i in range(1000))
    parts = shakespeare.split_by_position(text, (0.7, 0.2, 0.1))
    assert (len(parts.train), len(parts.val), len(parts.test)) == (700, 200, 100)
    assert parts.train + parts.val + parts.test == text


@pytest.mark.parametrize(
    ("text", "fractions"),
    [
        ("abcdefghij" * 10, (0.5, 0.5, 0.0)),
        ("abcdefghij" * 10, (0.5, 0.3, 0.3)),
        ("abcdefghij" * 10, (0.5, 0.5)),
        ("abc", (0.9, 0.05, 0.05)),
    ],
)
def test_a_split_that_cannot_give_three_parts_is_refused(text, fractions):
    with pytest.raises(ValueError, match=r"fractions|too short"):
        shakespeare.split_by_position(text, fractions)


@pytest.mark.skipif(
    not (Path(os.environ.get(DATA_ENV_VAR, "/nonexistent")) / "tinyshakespeare.txt").exists(),
    reason="PYTORCH_EXAMPLES_DATA does not hold tinyshakespeare.txt",
)
def test_the_real_file_verifies_and_splits_as_nanogpt_does():
    text = shakespeare.load_shakespeare()
    assert len(text) == 1_115_394
    assert len(set(text)) == 65
    # nanoGPT's prepare.py trains on 1,003,854 characters and validates on 111,540.
    parts = shakespeare.split_by_position(text)
    assert len(parts.train) == 1_003_854
    assert len(parts.val) + len(parts.test) == 111_540
