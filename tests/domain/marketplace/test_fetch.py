"""Downloads over a loopback HTTP server: retries with the one backoff function, limits."""

from __future__ import annotations

import errno
import hashlib
import socket
import threading
from pathlib import Path

import pytest

from common.backoff import compute_backoff_s
from common.errors import ContractError
from domain.marketplace.fetch import _request, copy_local
from tests.domain.marketplace.conftest import RecordingFetcher
from tests.support.plugin_market import serve


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.bin").write_bytes(b"abc" * 1000)
    return tmp_path / "site"


def test_download_hashes_and_counts(site: Path, tmp_path: Path,
                                    fetcher: RecordingFetcher) -> None:
    with serve(site) as server:
        got = fetcher.download(f"{server.url}/a.bin", tmp_path / "out", max_bytes=10_000)
    assert got.size == 3000 and (tmp_path / "out").read_bytes() == b"abc" * 1000
    assert got.sha256 == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert fetcher.bytes_downloaded == 3000 and fetcher.slept == []


def test_retries_follow_compute_backoff(site: Path, tmp_path: Path,
                                       fetcher: RecordingFetcher) -> None:
    with serve(site) as server:
        server.fail("/a.bin", times=3)
        fetcher.download(f"{server.url}/a.bin", tmp_path / "out", max_bytes=10_000)
        assert server.hits["/a.bin"] == 4
    expected = [compute_backoff_s(n, base_s=0.5, cap_s=8.0) for n in (1, 2, 3)]
    assert fetcher.slept == expected == [0.5, 1.0, 2.0]


def test_gives_up_after_the_retries(site: Path, tmp_path: Path) -> None:
    fetcher = RecordingFetcher(retries=1)
    with serve(site) as server:
        server.fail("/a.bin", times=5)
        with pytest.raises(ContractError) as caught:
            fetcher.download(f"{server.url}/a.bin", tmp_path / "out", max_bytes=10_000)
    assert caught.value.code == "ERROR-NET-002"
    assert caught.value.details["context"]["attempts"] == 2 and len(fetcher.slept) == 1


def test_too_large_is_not_retried(site: Path, tmp_path: Path,
                                  fetcher: RecordingFetcher) -> None:
    with serve(site) as server, pytest.raises(ContractError) as caught:
        fetcher.download(f"{server.url}/a.bin", tmp_path / "out", max_bytes=100)
    assert caught.value.code == "ERROR-INST-003" and fetcher.slept == []


def test_silent_server_times_out(tmp_path: Path) -> None:
    # A server that accepts the connection and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    fetcher = RecordingFetcher(retries=1)
    fetcher.policy = type(fetcher.policy)(timeout_s=0.2, retries=1, backoff_base_s=0.5,
                                          backoff_cap_s=8.0)
    try:
        with pytest.raises(ContractError) as caught:
            fetcher.read(f"http://127.0.0.1:{listener.getsockname()[1]}/m.json",
                         max_bytes=1000)
    finally:
        stop.set()
        listener.close()
        for conn in accepted:
            conn.close()
    assert caught.value.code == "ERROR-NET-003"
    assert caught.value.details["context"]["attempts"] == 2


def test_basic_auth_from_the_url() -> None:
    request = _request("https://ci:p%40ss@host.example/a.tgz")
    assert request.full_url == "https://host.example/a.tgz"
    assert request.get_header("Authorization") == "Basic Y2k6cEBzcw=="


# A full disk, for real: every write to /dev/full fails with ENOSPC.
FULL_DISK = Path("/dev/full")


@pytest.mark.skipif(not FULL_DISK.exists(), reason="no /dev/full on this system")
def test_a_full_disk_is_not_a_network_error(site: Path, fetcher: RecordingFetcher) -> None:
    # Writing the download fails: that is the plugin folder's disk, so it is raised as the
    # OSError it is (ERROR-INST-004 for the command), neither ERROR-NET-001 nor retried.
    with serve(site) as server, pytest.raises(OSError) as caught:
        fetcher.download(f"{server.url}/a.bin", FULL_DISK, max_bytes=10_000)
    assert caught.value.errno == errno.ENOSPC
    assert server.hits["/a.bin"] == 1 and fetcher.slept == []


@pytest.mark.skipif(not FULL_DISK.exists(), reason="no /dev/full on this system")
def test_a_full_disk_is_not_an_unreadable_source(site: Path) -> None:
    with pytest.raises(OSError) as caught:
        copy_local(site / "a.bin", FULL_DISK, max_bytes=10_000)
    assert caught.value.errno == errno.ENOSPC
