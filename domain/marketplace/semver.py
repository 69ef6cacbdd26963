"""Semantic versions and npm-style ranges, as plugin authors write them.

Ranges: exact versions, comparators (<, <=, >, >=, =), x-ranges (1.x, 1.2.*, *),
tilde (~1.2.3), caret (^1.2), hyphens (1.2 - 2.3.4), space-separated sets (>=1 <2)
and alternatives (a || b). A pre-release version satisfies a range only when a
comparator of the same set names a pre-release of the same major.minor.patch (npm's rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
VERSION_RE = re.compile(
    rf"^v?(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?$")
# One partial version of a range: 1, 1.2, 1.2.3-beta.1, 1.x, *, 1.2.X ...
_XR = r"x|X|\*|0|[1-9]\d*"
_PARTIAL = re.compile(
    rf"^v?(?P<major>{_XR})(?:\.(?P<minor>{_XR})(?:\.(?P<patch>{_XR})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?(?:\+{_IDENT}(?:\.{_IDENT})*)?)?)?$")
_COMPARATOR = re.compile(r"^(?P<op><=|>=|<|>|=|~>|~|\^)?(?P<partial>.*)$")
_WILD = ("x", "X", "*")
MAX_RANGE_LENGTH = 256


class SemverError(ValueError):
    """Not a version, or not a range."""


def _pre_key(identifier: str) -> tuple[int, int, str]:
    # Numeric identifiers sort numerically and before alphanumeric ones.
    if identifier.isdigit():
        return (0, int(identifier), "")
    return (1, 0, identifier)


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        match = VERSION_RE.match(text.strip())
        if not match:
            raise SemverError(f"not a semantic version: {text!r}")
        pre = match["pre"]
        return cls(int(match["major"]), int(match["minor"]), int(match["patch"]),
                   tuple(pre.split(".")) if pre else ())

    @property
    def tuple3(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[tuple[int, int, int], int, tuple[tuple[int, int, str], ...]]:
        # A release sorts after every pre-release of the same major.minor.patch.
        return (self.tuple3, 0 if self.prerelease else 1,
                tuple(_pre_key(p) for p in self.prerelease))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{'.'.join(self.prerelease)}" if self.prerelease else base


def is_version(text: str) -> bool:
    return VERSION_RE.match(text.strip()) is not None


@dataclass(frozen=True)
class Comparator:
    op: str  # one of < <= > >= =
    version: Version
    explicit_pre: bool = False  # written with a pre-release by the range's author

    def test(self, v: Version) -> bool:
        if self.op == "=":
            return v == self.version
        if self.op == "<":
            return v < self.version
        if self.op == "<=":
            return v <= self.version
        if self.op == ">":
            return v > self.version
        return v >= self.version


@dataclass(frozen=True)
class _Partial:
    """A possibly incomplete version: None marks a missing or wildcard part."""

    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[str, ...]

    def floor(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.pre)


def _parse_partial(text: str) -> _Partial:
    match = _PARTIAL.match(text)
    if not match:
        raise SemverError(f"not a version or partial version: {text!r}")
    parts: list[int | None] = []
    for name in ("major", "minor", "patch"):
        raw = match[name]
        parts.append(None if raw is None or raw in _WILD else int(raw))
    # Anything after a wildcard is a wildcard too (1.x.3 means 1.x).
    for i in range(1, 3):
        if parts[i - 1] is None:
            parts[i] = None
    pre = tuple(match["pre"].split(".")) if match["pre"] and parts[2] is not None else ()
    return _Partial(parts[0], parts[1], parts[2], pre)


def _upper(major: int, minor: int = 0, patch: int = 0) -> Comparator:
    # "<2.0.0-0" excludes the pre-releases of 2.0.0 as well as 2.0.0 itself.
    return Comparator("<", Version(major, minor, patch, ("0",)))


def _xrange(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return [Comparator(">=", Version(0, 0, 0))]
    if p.minor is None:
        return [Comparator(">=", Version(p.major, 0, 0)), _upper(p.major + 1)]
    if p.patch is None:
        return [Comparator(">=", Version(p.major, p.minor, 0)), _upper(p.major, p.minor + 1)]
    return [Comparator("=", p.floor(), bool(p.pre))]


def _tilde(p: _Partial) -> list[Comparator]:
    if p.major is None or p.minor is None:
        return _xrange(p)
    return [Comparator(">=", p.floor(), bool(p.pre)), _upper(p.major, p.minor + 1)]


def _caret(p: _Partial) -> list[Comparator]:
    if p.major is None:
        return _xrange(p)
    low = Comparator(">=", p.floor(), bool(p.pre))
    if p.major > 0 or p.minor is None:
        return [low, _upper(p.major + 1)]
    if p.minor > 0 or p.patch is None:
        return [low, _upper(0, p.minor + 1)]
    return [low, _upper(0, 0, p.patch + 1)]


def _primitive(op: str, p: _Partial) -> list[Comparator]:
    if p.major is None:  # >*, <* ... : >= and <= match everything, < and > nothing
        return [Comparator(">=", Version(0, 0, 0))] if op in ("<=", ">=") else \
            [Comparator("<", Version(0, 0, 0, ("0",)))]
    if p.minor is not None and p.patch is not None:
        return [Comparator(op, p.floor(), bool(p.pre))]
    # A partial bound is widened to the whole x-range it names.
    if op == ">":  # >1.2 means >=1.3.0
        return [Comparator(">=", Version(p.major, p.minor + 1, 0) if p.minor is not None
                           else Version(p.major + 1, 0, 0))]
    if op == ">=":
        return [Comparator(">=", p.floor())]
    if op == "<":
        return [Comparator("<", Version(p.major, p.minor or 0, 0, ("0",)))]
    return [_upper(p.major, p.minor + 1) if p.minor is not None else _upper(p.major + 1)]


def _comparators(token: str) -> list[Comparator]:
    match = _COMPARATOR.match(token)
    assert match is not None  # the pattern accepts any string
    op, partial = match["op"] or "", _parse_partial(match["partial"])
    if op in ("", "="):
        return _xrange(partial)
    if op in ("~", "~>"):
        return _tilde(partial)
    if op == "^":
        return _caret(partial)
    return _primitive(op, partial)


def _hyphen(low: str, high: str) -> list[Comparator]:
    lo, hi = _parse_partial(low), _parse_partial(high)
    result = [Comparator(">=", lo.floor(), bool(lo.pre))] if lo.major is not None else []
    if hi.major is None:
        return result or [Comparator(">=", Version(0, 0, 0))]
    if hi.minor is None:
        return [*result, _upper(hi.major + 1)]
    if hi.patch is None:
        return [*result, _upper(hi.major, hi.minor + 1)]
    return [*result, Comparator("<=", hi.floor(), bool(hi.pre))]


def _parse_set(text: str) -> list[Comparator]:
    text = text.strip()
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        return _hyphen(hyphen[1], hyphen[2])
    # ">= 1.2.3" is ">=1.2.3": an operator may be followed by spaces.
    text = re.sub(r"(<=|>=|<|>|=|~>|~|\^)\s+", r"\1", text)
    if not text:
        return [Comparator(">=", Version(0, 0, 0))]
    comparators: list[Comparator] = []
    for token in text.split():
        comparators.extend(_comparators(token))
    return comparators


@dataclass(frozen=True)
class Range:
    """An npm-style range: a union of comparator sets."""

    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        if len(text) > MAX_RANGE_LENGTH:
            raise SemverError(f"range longer than {MAX_RANGE_LENGTH} characters")
        sets = tuple(tuple(_parse_set(part)) for part in text.split("||"))
        return cls(text, sets)

    def satisfied_by(self, version: Version) -> bool:
        return any(_set_allows(s, version) for s in self.sets)

    def max_satisfying(self, versions: list[Version]) -> Version | None:
        matching = [v for v in versions if self.satisfied_by(v)]
        return max(matching) if matching else None


def _set_allows(comparators: tuple[Comparator, ...], version: Version) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(c.explicit_pre and c.version.tuple3 == version.tuple3 for c in comparators)
