"""Fixtures for the marketplace domain: a fetcher that records its backoff instead of sleeping."""

from __future__ import annotations

import pytest

from domain.marketplace.fetch import Fetcher, NetPolicy


class RecordingFetcher(Fetcher):
    """A real fetcher (real sockets); only its sleeps are recorded, not slept."""

    def __init__(self, retries: int = 3) -> None:
        self.slept: list[float] = []
        super().__init__(NetPolicy(timeout_s=2.0, retries=retries, backoff_base_s=0.5,
                                   backoff_cap_s=8.0),
                         sleep=self.slept.append, rand=lambda: 0.0)


@pytest.fixture
def fetcher() -> RecordingFetcher:
    return RecordingFetcher()
