import hashlib

import pytest

from fakes import FakeDownloader
from pytorch_examples.data import download as datadir

PAYLOAD = b"ava\nemma\nolivia\n"
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
URL = "https://example.invalid/names.txt"


def test_data_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(datadir.DATA_ENV_VAR, str(tmp_path))
    assert datadir.data_dir() == tmp_path
    monkeypatch.setenv(datadir.DATA_ENV_VAR, "")
    assert datadir.data_dir().name == "pytorch-examples"
    monkeypatch.delenv(datadir.DATA_ENV_VAR)
    assert datadir.data_dir().name == "pytorch-examples"


def test_a_good_local_copy_is_used_without_downloading(tmp_path):
    (tmp_path / "names.txt").write_bytes(PAYLOAD)
    offline = FakeDownloader(None)
    path = datadir.fetch_file(
        "names.txt", URL, PAYLOAD_SHA256, directory=tmp_path, downloader=offline
    )
    assert path == tmp_path / "names.txt"
    assert offline.calls == 0


def test_the_data_directory_comes_from_the_environment(monkeypatch, tmp_path):
    (tmp_path / "names.txt").write_bytes(PAYLOAD)
    monkeypatch.setenv(datadir.DATA_ENV_VAR, str(tmp_path))
    path = datadir.fetch_file("names.txt", URL, PAYLOAD_SHA256, downloader=FakeDownloader(None))
    assert path.read_bytes() == PAYLOAD


def test_a_missing_file_is_downloaded_once(tmp_path):
    online = FakeDownloader(PAYLOAD)
    for _ in range(2):
        path = datadir.fetch_file(
            "names.txt", URL, PAYLOAD_SHA256, directory=tmp_path, downloader=online
        )
    assert path.read_bytes() == PAYLOAD
    assert online.calls == 1


def test_a_truncated_copy_is_rejected_and_fetched_again(tmp_path):
    (tmp_path / "names.txt").write_bytes(PAYLOAD[:5])
    online = FakeDownloader(PAYLOAD)
    path = datadir.fetch_file(
        "names.txt", URL, PAYLOAD_SHA256, directory=tmp_path, downloader=online
    )
    assert online.calls == 1
    assert path.read_bytes() == PAYLOAD


def test_offline_without_data_gives_one_clear_error(tmp_path):
    with pytest.raises(datadir.DataUnavailableError) as caught:
        datadir.fetch_file(
            "names.txt", URL, PAYLOAD_SHA256, directory=tmp_path, downloader=FakeDownloader(None)
        )
    message = str(caught.value)
    assert "is missing" in message
    assert URL in message
    assert str(tmp_path / "names.txt") in message
    assert datadir.DATA_ENV_VAR in message
    # The error replaces the download's stack of exceptions instead of chaining them.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_offline_with_a_corrupted_copy_says_so(tmp_path):
    (tmp_path / "names.txt").write_bytes(b"garbage")
    with pytest.raises(datadir.DataUnavailableError, match="fails its hash check"):
        datadir.fetch_file(
            "names.txt", URL, PAYLOAD_SHA256, directory=tmp_path, downloader=FakeDownloader(None)
        )


def test_a_download_that_does_not_match_the_hash_is_refused(tmp_path):
    with pytest.raises(datadir.DataUnavailableError, match="could not be downloaded"):
        datadir.fetch_file(
            "names.txt",
            URL,
            PAYLOAD_SHA256,
            directory=tmp_path,
            downloader=FakeDownloader(b"something else"),
        )


def test_a_malformed_hash_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="64 hexadecimal digits"):
        datadir.fetch_file("names.txt", URL, "abc", directory=tmp_path)
