"""The marketplace: marketplace.json from a folder or an http(s) URL, and its sources.

marketplace.json (reference format, each plugin extended with `versions`):
{schemaVersion, marketplace: {name, author, description, url, updatedAt},
 plugins: [{id, name, version, author, description, source, category, tags, featured,
            verified, updatedAt, versions: [{version, source, sha256, changelogUrl?}]}]}
A version's source is a path relative to the marketplace root (an archive or a plugin
folder) or an http(s) URL of a .tar.gz/.tgz/.zip archive with plugin.json at its root.
Claude Code's own format (.claude-plugin/marketplace.json with plugins[{name, source}])
is read too: claude_code.py maps it onto these entries (an unversioned plugin folder gets
its content version when it is looked up). A changelogUrl that is not an
absolute URI is dropped, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from common.errors import ContractError
from domain.marketplace import claude_code
from domain.marketplace.errors import plugin_error
from domain.marketplace.fetch import Fetcher, is_url
from domain.marketplace.fsutil import parse_json, tree_digest
from domain.marketplace.redact import redact_url
from domain.marketplace.semver import Version

PLUGIN_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SHA256 = re.compile(r"^(sha256:)?([0-9a-fA-F]{64})$")
MARKETPLACE_FILE = "marketplace.json"
CLAUDE_DIR = ".claude-plugin"
# An absolute URI (RFC 3986): a scheme, then only characters a URI may hold, every % a
# well-formed escape. What the original's `format: uri` asks of changelogUrl.
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
URI = re.compile(rf"^[A-Za-z][A-Za-z0-9+.\-]*:(?:{_URI_CHAR}|\[[0-9A-Fa-f:.]+\])*"
                 rf"(?:#{_URI_CHAR}*)?$")
MAX_MARKETPLACE_BYTES = 10 * 1024 * 1024
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip")


@dataclass(frozen=True)
class VersionEntry:
    version: str
    source: str
    sha256: str | None  # lower-case hex, no prefix; None: a Claude Code folder (no digest)
    changelog_url: str | None = None

    @property
    def parsed(self) -> Version:
        return Version.parse(self.version)


@dataclass(frozen=True)
class PluginEntry:
    id: str
    latest: str
    versions: dict[str, VersionEntry]
    claude: bool = False  # from a Claude Code marketplace: plugin.json is optional
    problem: str | None = None  # why it cannot be installed (an unsupported source...)
    content_source: str | None = None  # unversioned: its version comes from this folder

    def version(self, wanted: str) -> VersionEntry | None:
        return self.versions.get(self.latest if wanted == "latest" else wanted)

    def sorted_versions(self) -> list[Version]:
        return sorted(v.parsed for v in self.versions.values())


@dataclass(frozen=True)
class SourceRef:
    """Where one version's files come from."""

    kind: str  # "url", "archive" (local file) or "folder" (local plugin folder)
    location: str

    @property
    def shown(self) -> str:
        return redact_url(self.location) if self.kind == "url" else self.location


@dataclass(frozen=True)
class Marketplace:
    location: str  # as given: a folder, a marketplace.json file or a URL
    base: str  # what relative sources resolve against: a folder path or a URL ending in /
    remote: bool
    name: str
    plugins: dict[str, PluginEntry]
    query: str = ""  # the marketplace URL's ?query (a token), passed on to relative sources
    warnings: tuple[str, ...] = field(default=())  # what was dropped while reading it
    _versioned: dict[str, PluginEntry] = field(default_factory=dict, compare=False,
                                               repr=False)  # content versions, as taken

    @property
    def shown(self) -> str:
        return redact_url(self.location) if self.remote else self.location

    def plugin(self, plugin_id: str) -> PluginEntry:
        entry = self.plugins.get(plugin_id)
        if entry is None:
            raise plugin_error("ERROR-DISC-001",
                               f"plugin {plugin_id} is not in the marketplace {self.shown}",
                               {"pluginId": plugin_id, "marketplace": self.shown})
        if entry.content_source is None:
            return entry
        if plugin_id not in self._versioned:  # hashed once, and only the plugins asked for
            self._versioned[plugin_id] = _by_content(self, entry, entry.content_source)
        return self._versioned[plugin_id]

    def resolve(self, source: str) -> SourceRef:
        """A version's source as a URL, a local archive or a local folder, kept inside."""
        if is_url(source):
            return _archive_url(source)
        if urlsplit(source).scheme:
            raise _escape(source, "only http(s) URLs and relative paths are sources")
        if ".." in PurePosixPath(unquote(source)).parts:
            raise _escape(source, "sources may not climb out with ..")
        if self.remote:
            return _archive_url(self._resolve_remote(source).location)
        return self._resolve_local(source)

    def _resolve_remote(self, source: str) -> SourceRef:
        url = urljoin(self.base, source)
        if not url.startswith(self.base):
            raise _escape(source, "it leaves the marketplace URL")
        if self.query and not urlsplit(url).query:
            url += self.query
        return SourceRef("url", url)

    def _resolve_local(self, source: str) -> SourceRef:
        rel = PurePosixPath(source)
        if rel.is_absolute() or ".." in rel.parts or "\\" in source:
            raise _escape(source, "sources are paths inside the marketplace folder")
        root = Path(self.base).resolve()
        path = (root / rel).resolve()  # symlinks followed: a link out is an escape too
        if path != root and root not in path.parents:
            raise _escape(source, "it resolves outside the marketplace folder")
        if path.is_dir():
            return SourceRef("folder", str(path))
        return SourceRef("archive", str(path))


def _by_content(market: Marketplace, entry: PluginEntry, source: str) -> PluginEntry:
    """An unversioned plugin folder's entry: its content version, its tree digest as the
    sha256 the copy taken at install must match (a folder edited meanwhile is refused)."""
    ref = market.resolve(source)
    if ref.kind != "folder":
        return replace(entry, content_source=None,
                       problem=f"it has no version and its source {source} is not a folder")
    digest = tree_digest(Path(ref.location))
    version = claude_code.content_version(digest)
    return replace(entry, latest=version, content_source=None,
                   versions={version: VersionEntry(version, source, digest)})


def _archive_url(url: str) -> SourceRef:
    """A URL source must name an archive: a folder cannot be fetched over HTTP."""
    if not urlsplit(url).path.lower().endswith(ARCHIVE_SUFFIXES):
        raise plugin_error("ERROR-INST-001", f"{redact_url(url)} does not name a "
                           f"{'/'.join(ARCHIVE_SUFFIXES)} archive", {"source": redact_url(url)})
    return SourceRef("url", url)


def _escape(source: str, why: str) -> ContractError:
    return plugin_error("ERROR-PERM-002", f"source {source!r} refused: {why}",
                        {"source": source})


def _where(location: str) -> tuple[str, str, bool, str]:
    """(marketplace.json location, base for sources, remote?, query to pass on)."""
    if is_url(location):
        parts = urlsplit(location)
        bare = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        query = f"?{parts.query}" if parts.query else ""
        if parts.path.endswith(".json"):
            folder = urljoin(bare, ".")
            if folder.endswith(f"/{CLAUDE_DIR}/"):  # sources resolve from the root above it
                folder = urljoin(folder, "..")
            return location, folder, True, query
        base = bare if bare.endswith("/") else bare + "/"
        return urljoin(base, MARKETPLACE_FILE) + query, base, True, query
    path = Path(location)
    if path.is_file():
        return str(path), str(_root_of(path)), False, ""
    for candidate in (path / MARKETPLACE_FILE, path / ".claude-plugin" / MARKETPLACE_FILE):
        if candidate.is_file():
            return str(candidate), str(path), False, ""
    raise plugin_error("ERROR-DISC-002", f"no {MARKETPLACE_FILE} in {location}",
                       {"marketplace": location})


def _root_of(json_file: Path) -> Path:
    """The marketplace root: the folder holding .claude-plugin/, when the file is in it."""
    return json_file.parent.parent if json_file.parent.name == CLAUDE_DIR else json_file.parent


def load_marketplace(location: str, fetcher: Fetcher) -> Marketplace:
    """Read and check marketplace.json; ERROR-DISC-002 when it is missing or invalid."""
    json_at, base, remote, query = _where(location)
    shown = redact_url(location) if remote else location
    raw = fetcher.read(json_at, max_bytes=MAX_MARKETPLACE_BYTES)
    try:
        document = parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise plugin_error("ERROR-DISC-002", f"marketplace.json of {shown} is not JSON: {exc}",
                           {"marketplace": shown}) from None
    market = Marketplace(location, base, remote, "", {}, query)
    if claude_code.is_claude_document(document):
        return replace(market, name=str(document.get("name", "")),
                       plugins=_claude_plugins(document, market, shown))
    warnings: list[str] = []
    plugins = parse_plugins(document, shown, warnings)
    name = ""
    if isinstance(document.get("marketplace"), dict):
        name = str(document["marketplace"].get("name", ""))
    return replace(market, name=name, plugins=plugins, warnings=tuple(warnings))


def _claude_plugins(document: dict[str, Any], market: Marketplace,
                    shown: str) -> dict[str, PluginEntry]:
    def peek(source: str) -> str | None:
        if market.remote:
            return None  # a folder cannot be listed over HTTP; the entry's version counts
        try:
            ref = market.resolve(source)
        except ContractError:
            return None  # installing it will say why
        return claude_code.manifest_version(Path(ref.location)) if ref.kind == "folder" else None

    def make(name: str, version: str | None, source: str | None,
             problem: str | None) -> PluginEntry:
        if problem is None and version is None and source is not None:
            return PluginEntry(name, "", {}, claude=True, content_source=source)
        if problem is not None or version is None or source is None:
            return PluginEntry(name, "", {}, claude=True, problem=problem)
        return PluginEntry(name, version, {version: VersionEntry(version, source, None)},
                           claude=True)

    return claude_code.plugin_entries(
        document, peek, lambda where, problem: _invalid(shown, where, problem), make,
        by_content=not market.remote)


def _invalid(shown: str, where: str, problem: str) -> ContractError:
    return plugin_error("ERROR-DISC-002", f"marketplace.json of {shown} is invalid at {where}: "
                        f"{problem}", {"marketplace": shown, "at": where, "problem": problem})


def parse_plugins(document: Any, shown: str,
                  warnings: list[str] | None = None) -> dict[str, PluginEntry]:
    if not isinstance(document, dict) or not isinstance(document.get("plugins"), list):
        raise _invalid(shown, "/", "an object with a plugins array is required")
    plugins: dict[str, PluginEntry] = {}
    for i, item in enumerate(document["plugins"]):
        entry = _parse_plugin(item, f"plugins[{i}]", shown,
                              warnings if warnings is not None else [])
        if entry.id in plugins:
            raise _invalid(shown, f"plugins[{i}].id", f"duplicate id {entry.id}")
        plugins[entry.id] = entry
    return plugins


def _parse_plugin(item: Any, where: str, shown: str, warnings: list[str]) -> PluginEntry:
    if not isinstance(item, dict):
        raise _invalid(shown, where, "a plugin entry must be an object")
    plugin_id, latest = item.get("id"), item.get("version")
    if not isinstance(plugin_id, str) or not PLUGIN_ID.match(plugin_id):
        raise _invalid(shown, f"{where}.id", "a kebab-case id is required")
    if not isinstance(latest, str) or not _is_semver(latest):
        raise _invalid(shown, f"{where}.version", "a semantic version is required")
    raw_versions = item.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise _invalid(shown, f"{where}.versions", "a non-empty array is required")
    versions: dict[str, VersionEntry] = {}
    for j, raw in enumerate(raw_versions):
        entry = _parse_version(raw, f"{where}.versions[{j}]", shown, warnings)
        if entry.version in versions:
            raise _invalid(shown, f"{where}.versions[{j}]", f"duplicate {entry.version}")
        versions[entry.version] = entry
    if latest not in versions:
        raise _invalid(shown, f"{where}.version", f"{latest} is not in versions")
    return PluginEntry(plugin_id, latest, versions)


def _parse_version(raw: Any, where: str, shown: str, warnings: list[str]) -> VersionEntry:
    if not isinstance(raw, dict):
        raise _invalid(shown, where, "a version entry must be an object")
    version, source, sha = raw.get("version"), raw.get("source"), raw.get("sha256")
    if not isinstance(version, str) or not _is_semver(version):
        raise _invalid(shown, f"{where}.version", "a semantic version is required")
    if not isinstance(source, str) or not source.strip():
        raise _invalid(shown, f"{where}.source", "a path or URL is required")
    match = SHA256.match(sha) if isinstance(sha, str) else None
    if match is None:
        raise _invalid(shown, f"{where}.sha256", "64 hex digits (optionally sha256:) required")
    changelog = raw.get("changelogUrl")
    if changelog is not None and not (isinstance(changelog, str) and URI.match(changelog)):
        warnings.append(f"{where}.changelogUrl is not an absolute URI; dropped")
        changelog = None
    return VersionEntry(version, source, match.group(2).lower(), changelog)


def _is_semver(text: str) -> bool:
    return claude_code.is_semver(text)
