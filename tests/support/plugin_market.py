"""Test marketplaces for `plugins`: plugin versions as archives or folders, a marketplace.json,
and a loopback HTTP server that serves the same folder (with failure injection)."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from domain.marketplace.fsutil import tree_digest
from domain.marketplace.semver import Version


def manifest(plugin_id: str, version: str, *, compatibility: Mapping[str, Any] | None = None,
             lifecycle: Mapping[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": plugin_id, "version": version, "description": f"{plugin_id} for tests",
        "author": {"name": "tests"}, "entrypoints": {"commands": ["commands/run.md"]},
        "compatibility": dict(compatibility or {}), "permissions": [{"scope": "filesystem"}]}
    if lifecycle:
        data["lifecycle"] = dict(lifecycle)
    data.update(extra)
    return data


def plugin_files(plugin_id: str, version: str, *, compatibility: Mapping[str, Any] | None = None,
                 scripts: Mapping[str, str] | None = None,
                 files: Mapping[str, str] | None = None,
                 manifest_override: Mapping[str, Any] | None = None) -> dict[str, bytes]:
    """The files of one plugin version; scripts maps scriptType -> shell body."""
    lifecycle = {t: f"scripts/{t}.sh" for t in (scripts or {})}
    data = manifest(plugin_id, version, compatibility=compatibility, lifecycle=lifecycle)
    data.update(manifest_override or {})
    out = {"plugin.json": json.dumps(data, indent=2).encode(),
           "commands/run.md": f"# {plugin_id} {version}\n".encode()}
    for script_type, body in (scripts or {}).items():
        out[f"scripts/{script_type}.sh"] = f"#!/bin/sh\n{body}\n".encode()
    for name, text in (files or {}).items():
        out[name] = text.encode()
    return out


def tar_gz(files: Mapping[str, bytes], dest: Path, *, extra: list[tarfile.TarInfo] | None = None,
           ) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            tar.addfile(info, io.BytesIO(b"" if not info.size else b"x" * info.size))
    return dest


def zip_file(files: Mapping[str, bytes], dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o100755 if name.endswith(".sh") else 0o100644) << 16
            zf.writestr(info, data)
    return dest


def folder(files: Mapping[str, bytes], dest: Path) -> Path:
    for name, data in files.items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if name.endswith(".sh"):
            path.chmod(0o755)
    return dest


def sha256(path: Path) -> str:
    return tree_digest(path) if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Market:
    """A marketplace folder: add versions, then write() marketplace.json."""

    root: Path
    plugins: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    latest: dict[str, str] = field(default_factory=dict)

    def add(self, plugin_id: str, version: str, *, fmt: str = "tgz",
            sha: str | None = None, source: str | None = None, **options: Any) -> Path:
        files = plugin_files(plugin_id, version, **options)
        rel = {"tgz": f"archives/{plugin_id}-{version}.tar.gz",
               "zip": f"archives/{plugin_id}-{version}.zip",
               "folder": f"plugins/{plugin_id}/{version}"}[fmt]
        path = self.root / rel
        {"tgz": tar_gz, "zip": zip_file, "folder": folder}[fmt](files, path)
        self.plugins.setdefault(plugin_id, []).append(
            {"version": version, "source": source or rel, "sha256": sha or sha256(path)})
        self.write()
        return path

    def document(self) -> dict[str, Any]:
        entries = []
        for plugin_id, versions in self.plugins.items():
            newest = max(versions, key=lambda v: Version.parse(v["version"]))["version"]
            entries.append({"id": plugin_id, "name": plugin_id.replace("-", " ").title(),
                            "version": self.latest.get(plugin_id, newest),
                            "author": {"name": "tests"}, "description": f"{plugin_id}",
                            "source": f"plugins/{plugin_id}", "category": "development",
                            "tags": ["test"], "featured": False, "verified": True,
                            "updatedAt": "2026-01-11T00:00:00Z", "versions": versions})
        return {"schemaVersion": "1.0.0",
                "marketplace": {"name": "test-market", "author": "tests",
                                "description": "plugins for tests", "url": "https://example.test",
                                "updatedAt": "2026-01-11T00:00:00Z"},
                "plugins": entries}

    def write(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "marketplace.json").write_text(json.dumps(self.document(), indent=2))


def standard_market(root: Path) -> Market:
    """Several versions of several plugins, in every source format."""
    market = Market(root)
    for version in ("1.0.0", "1.2.0", "1.2.3", "1.3.0"):
        market.add("example-plugin", version)
    for version in ("2.0.0", "2.1.0"):
        market.add("another-plugin", version, fmt="zip")
    market.add("stable-plugin", "1.0.0", fmt="folder")
    market.add("incompatible-plugin", "1.0.0")
    market.add("incompatible-plugin", "2.0.0", compatibility={"nodeMin": "22"})
    market.add("windows-plugin", "1.0.0", compatibility={"os": ["windows"]})
    return market


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.hits[parts.path] += 1
        token = self.server.token
        if token and parse_qs(parts.query).get("token") != [token]:
            self.send_error(401)
            return
        if self.server.failures[parts.path] > 0:
            self.server.failures[parts.path] -= 1
            self.send_error(503)
            return
        super().do_GET()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    hits: Counter[str]
    failures: Counter[str]
    token: str | None


@dataclass
class LoopbackServer:
    url: str
    server: _Server

    @property
    def hits(self) -> Counter[str]:
        return self.server.hits

    def fail(self, path: str, times: int) -> None:
        """Answer the next `times` GETs of path with 503."""
        self.server.failures[path] = times

    def require_token(self, token: str | None) -> None:
        self.server.token = token


@contextmanager
def serve(root: Path) -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1 serving root, stopped afterwards."""
    def handler(*args: Any, **kwargs: Any) -> _Handler:
        return _Handler(*args, directory=str(root), **kwargs)

    server = _Server(("127.0.0.1", 0), handler)
    server.hits, server.failures, server.token = Counter(), Counter(), None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield LoopbackServer(f"http://127.0.0.1:{server.server_address[1]}", server)
    finally:
        server.shutdown()
        server.server_close()
