"""Safe extraction: nothing lands outside the plugin folder, sizes are bounded."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.marketplace.archive import Limits, copy_folder, extract
from tests.support.plugin_market import plugin_files, tar_gz, zip_file

LIMITS = Limits(max_bytes=10 * 1024 * 1024, max_files=100)


def member(name: str, kind: bytes = tarfile.REGTYPE, *, link: str = "", size: int = 0,
           ) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, link, size
    return info


def refused(archive: Path, dest: Path, code: str = "ERROR-INST-002",
            limits: Limits = LIMITS) -> ContractError:
    with pytest.raises(ContractError) as caught:
        extract(archive, dest, limits)
    assert caught.value.code == code
    return caught.value


def test_a_plain_plugin_extracts_with_modes(tmp_path: Path) -> None:
    files = plugin_files("p", "1.0.0", scripts={"postInstall": "true"})
    written = extract(tar_gz(files, tmp_path / "p.tgz"), tmp_path / "out", LIMITS)
    assert written == sum(len(v) for v in files.values())
    assert (tmp_path / "out" / "plugin.json").read_bytes() == files["plugin.json"]
    assert os.access(tmp_path / "out" / "scripts" / "postInstall.sh", os.X_OK)


@pytest.mark.parametrize("name", ["../escape.txt", "a/../../escape.txt", "/etc/escape.txt",
                                  "a\\..\\escape.txt", "C:/escape.txt"])
def test_paths_leaving_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    archive = tar_gz({"plugin.json": b"{}", name: b"x"}, tmp_path / "bad.tgz")
    error = refused(archive, tmp_path / "out")
    assert error.details["context"]["entry"] == name
    assert not list(tmp_path.rglob("escape.txt"))


@pytest.mark.parametrize("target", ["/etc/passwd", "../outside", "a/../../outside"])
def test_links_out_are_refused(tmp_path: Path, target: str) -> None:
    archive = tar_gz({"plugin.json": b"{}"}, tmp_path / "bad.tgz",
                     extra=[member("link", tarfile.SYMTYPE, link=target)])
    refused(archive, tmp_path / "out")


def test_links_inside_are_kept(tmp_path: Path) -> None:
    archive = tar_gz({"plugin.json": b"{}", "docs/readme.md": b"hi"}, tmp_path / "ok.tgz",
                     extra=[member("readme", tarfile.SYMTYPE, link="docs/readme.md")])
    extract(archive, tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / "readme").read_text() == "hi"
    assert (tmp_path / "out" / "readme").is_symlink()


def test_hard_links_are_copies_of_earlier_entries_only(tmp_path: Path) -> None:
    good = tar_gz({"plugin.json": b"{}", "a.txt": b"data"}, tmp_path / "ok.tgz",
                  extra=[member("b.txt", tarfile.LNKTYPE, link="a.txt")])
    extract(good, tmp_path / "out", LIMITS)
    assert (tmp_path / "out" / "b.txt").read_text() == "data"
    assert os.stat(tmp_path / "out" / "b.txt").st_nlink == 1
    bad = tar_gz({"plugin.json": b"{}"}, tmp_path / "bad.tgz",
                 extra=[member("b.txt", tarfile.LNKTYPE, link="/etc/passwd")])
    refused(bad, tmp_path / "out2")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_special_files_are_refused(tmp_path: Path, kind: bytes) -> None:
    archive = tar_gz({"plugin.json": b"{}"}, tmp_path / "bad.tgz", extra=[member("dev", kind)])
    refused(archive, tmp_path / "out")


def test_duplicate_entries_are_refused(tmp_path: Path) -> None:
    archive = tar_gz({"plugin.json": b"{}"}, tmp_path / "dup.tgz",
                     extra=[member("plugin.json", size=3)])
    refused(archive, tmp_path / "out")


def test_size_and_count_limits(tmp_path: Path) -> None:
    archive = tar_gz({"plugin.json": b"{}", "big.bin": b"x" * 5000}, tmp_path / "big.tgz")
    refused(archive, tmp_path / "o1", "ERROR-INST-003", Limits(max_bytes=4000, max_files=10))
    many = tar_gz({f"f{i}": b"" for i in range(20)}, tmp_path / "many.tgz")
    refused(many, tmp_path / "o2", "ERROR-INST-003", Limits(max_bytes=1000, max_files=10))


def test_zip_that_understates_its_sizes_is_refused(tmp_path: Path) -> None:
    # Given a zip whose central directory claims 10 bytes for a 50 kB file
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("plugin.json", "{}")
        zf.writestr("bomb.bin", b"\0" * 50_000)
    raw = bytearray(archive.read_bytes())
    central = raw.rfind(b"PK\x01\x02")  # the last entry's central directory record
    raw[central + 24:central + 28] = (10).to_bytes(4, "little")  # uncompressed size: 10
    archive.write_bytes(bytes(raw))
    # Then reading stops at the claimed size and the checksum gives the lie away
    refused(archive, tmp_path / "out", "ERROR-INST-001", Limits(max_bytes=1000, max_files=10))
    assert (tmp_path / "out" / "bomb.bin").stat().st_size <= 10


def test_zip_size_limit_counts_written_bytes(tmp_path: Path) -> None:
    archive = zip_file({"plugin.json": b"{}", "big.bin": b"\0" * 5000}, tmp_path / "big.zip")
    refused(archive, tmp_path / "out", "ERROR-INST-003", Limits(max_bytes=4000, max_files=10))


def test_zip_traversal_and_links_are_refused(tmp_path: Path) -> None:
    refused(zip_file({"plugin.json": b"{}", "../x": b"x"}, tmp_path / "a.zip"), tmp_path / "o1")
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("evil")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    refused(archive, tmp_path / "o2")


def test_corrupt_or_foreign_archives(tmp_path: Path) -> None:
    text = tmp_path / "plain.txt"
    text.write_text("not an archive")
    refused(text, tmp_path / "o1", "ERROR-INST-001")
    good = tar_gz(plugin_files("p", "1.0.0"), tmp_path / "p.tgz")
    truncated = tmp_path / "cut.tgz"
    truncated.write_bytes(good.read_bytes()[:60])
    refused(truncated, tmp_path / "o2", "ERROR-INST-001")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("plugin.json", "{}")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(buffer.getvalue()[:40])
    refused(broken, tmp_path / "o3", "ERROR-INST-001")


def test_folder_copy_applies_the_same_rules(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "docs").mkdir(parents=True)
    (source / "plugin.json").write_text("{}")
    (source / "docs" / "a.md").write_text("a")
    (source / "inside").symlink_to("docs/a.md")
    copy_folder(source, tmp_path / "copy", LIMITS)
    assert (tmp_path / "copy" / "inside").read_text() == "a"
    (source / "outside").symlink_to(tmp_path / "secret")
    with pytest.raises(ContractError) as caught:
        copy_folder(source, tmp_path / "copy2", LIMITS)
    assert caught.value.code == "ERROR-INST-002"
