"""Plugin archives cannot write outside the plugin folder (docs/security.md, "Archives").

Every unsafe shape, in both formats, through the real `plugins install`: the answer is
ERROR-INST-002 (or -003 for a bomb), not one byte lands outside the plugin folder, the
previous version stays active and no half-installed version is left in the cache.
"""

from __future__ import annotations

import io
import stat
import tarfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target
from tests.support.plugin_market import Market, plugin_files, sha256

PLUGIN = "example-plugin"
BAD_VERSION = "9.9.9"
ESCAPE = f"/tmp/conveyor-escape-{uuid.uuid4().hex[:8]}"


def _tar(path: Path, extra: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in plugin_files(PLUGIN, BAD_VERSION).items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data))


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    return info


def _zip(path: Path, extra: list[tuple[zipfile.ZipInfo, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in plugin_files(PLUGIN, BAD_VERSION).items():
            zf.writestr(name, data)
        for info, data in extra:
            zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)


def _zinfo(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3
    return info


BIG = b"\0" * (3 << 20)  # 3 MiB of zeros: a few kB compressed, over a 1 MB limit

TAR_SHAPES: dict[str, list[tuple[tarfile.TarInfo, bytes]]] = {
    "traversal": [(_member("../../escape.txt"), b"pwned")],
    "absolute": [(_member(f"{ESCAPE}.txt"), b"pwned")],
    "symlink_absolute": [(_member("link", tarfile.SYMTYPE, ESCAPE), b"")],
    "symlink_climbing": [(_member("docs/link", tarfile.SYMTYPE, "../../.."), b"")],
    "symlink_then_write_through": [(_member("out", tarfile.SYMTYPE, "/tmp"), b""),
                                   (_member("out/escape.txt"), b"pwned")],
    "hardlink_absolute": [(_member("passwd", tarfile.LNKTYPE, "/etc/passwd"), b"")],
    "hardlink_climbing": [(_member("up", tarfile.LNKTYPE, "../../outside"), b"")],
    "character_device": [(_member("tty", tarfile.CHRTYPE), b"")],
    "block_device": [(_member("disk", tarfile.BLKTYPE), b"")],
    "fifo": [(_member("pipe", tarfile.FIFOTYPE), b"")],
    "duplicate": [(_member("plugin.json"), b"{}")],
    "bomb_bytes": [(_member("zeros.bin"), BIG)],
    "bomb_files": [(_member(f"many/{i}.txt"), b"") for i in range(30)],
}
ZIP_SHAPES: dict[str, list[tuple[zipfile.ZipInfo, bytes]]] = {
    "traversal": [(_zinfo("../../escape.txt"), b"pwned")],
    "absolute": [(_zinfo(f"{ESCAPE}.txt"), b"pwned")],
    "backslashes": [(_zinfo("..\\..\\escape.txt"), b"pwned")],
    "drive_letter": [(_zinfo("C:/escape.txt"), b"pwned")],
    "symlink_absolute": [(_zinfo("link", stat.S_IFLNK | 0o777), ESCAPE.encode())],
    "symlink_climbing": [(_zinfo("link", stat.S_IFLNK | 0o777), b"../../..")],
    "character_device": [(_zinfo("tty", stat.S_IFCHR | 0o644), b"")],
    "fifo": [(_zinfo("pipe", stat.S_IFIFO | 0o644), b"")],
    "duplicate": [(_zinfo("plugin.json"), b"{}")],
    "bomb_bytes": [(_zinfo("zeros.bin"), BIG)],
    "bomb_files": [(_zinfo(f"many/{i}.txt"), b"") for i in range(30)],
}
CASES = [("tgz", name) for name in sorted(TAR_SHAPES)] + \
        [("zip", name) for name in sorted(ZIP_SHAPES)]


def _snapshot(root: Path, skip: tuple[Path, ...]) -> set[str]:
    return {str(p) for p in root.rglob("*") if not any(p.is_relative_to(s) for s in skip)}


@pytest.mark.filterwarnings("ignore::UserWarning")  # zipfile warns of the duplicate we write
@pytest.mark.parametrize(("fmt", "shape"), CASES)
def test_an_unsafe_archive_installs_nothing_and_writes_nothing_outside(
        plugins: PluginsCli, market: Market, plugin_dir: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, fmt: str, shape: str) -> None:
    # Given an installed, active version, and a newer one whose archive is hostile
    assert plugins("install", PLUGIN, "--version", "1.2.0").code == 0
    monkeypatch.setenv("YELLOW_PLUGINS_MAX_EXTRACT_MB", "1")
    monkeypatch.setenv("YELLOW_PLUGINS_MAX_FILES", "20")
    archive = market.root / "archives" / f"{PLUGIN}-{BAD_VERSION}.{fmt.replace('tgz', 'tar.gz')}"
    build: Callable[[Path, list], None] = _tar if fmt == "tgz" else _zip  # type: ignore[type-arg]
    build(archive, (TAR_SHAPES if fmt == "tgz" else ZIP_SHAPES)[shape])
    market.plugins[PLUGIN].append({"version": BAD_VERSION, "source": str(
        archive.relative_to(market.root)), "sha256": sha256(archive)})
    market.write()
    before = _snapshot(tmp_path, (plugin_dir,))
    # When it is installed
    call = plugins("install", PLUGIN, "--version", BAD_VERSION)
    # Then it is refused as unsafe (or too big), and nothing changed outside the folder
    expected = "ERROR-INST-003" if shape.startswith("bomb") else "ERROR-INST-002"
    assert call.error_code == expected, call.out
    assert _snapshot(tmp_path, (plugin_dir,)) == before
    assert not list(Path("/tmp").glob(f"{Path(ESCAPE).name}*"))
    # ... and inside it, the previous version is active and no trace of the new one is left
    assert active_target(plugin_dir, PLUGIN) == f"../cache/{PLUGIN}/1.2.0"
    assert not (plugin_dir / "cache" / PLUGIN / BAD_VERSION).exists()
    staging = plugin_dir / "tmp"
    assert not staging.exists() or list(staging.iterdir()) == []
