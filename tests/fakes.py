"""Stand-ins the library tests share."""

from __future__ import annotations

from pathlib import Path

import requests


class FakeDownloader:
    """Stands in for the network: writes a payload, or fails like an offline machine."""

    def __init__(self, payload: bytes | None):
        self.payload = payload
        self.calls = 0

    def __call__(self, url, output_file, pooch, check_only=False):
        self.calls += 1
        if self.payload is None:
            raise requests.exceptions.ConnectionError(f"no network to reach {url}")
        Path(output_file).write_bytes(self.payload)
