"""Hostile input, generically: text, numbers, ids, paths, JSON and files for any CLI.

Every strategy mixes a few hand-picked nasty values (the ones that found bugs elsewhere:
NUL, lone surrogates, RTL marks, 10**30, "nan", "../") with generated ones, so a small,
bounded number of examples still covers each kind.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")
U = TypeVar("U")

def optional(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """None (the option left out) or a value."""
    return st.one_of(st.none(), strategy)


def one_in_four(usual: st.SearchStrategy[T], rare: st.SearchStrategy[U]
                ) -> st.SearchStrategy[T | U]:
    """`rare` about one time in four. (st.one_of(a, a, a, b) would not do: hypothesis
    merges equal branches and avoids repeating an example, so a branch with few values
    soon stops being drawn.)"""
    return st.integers(0, 3).flatmap(lambda pick: rare if pick == 3 else usual)


def maybe_missing(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    """A required option: usually given, sometimes left out (None)."""
    return one_in_four(strategy, st.none())


def mostly(good: st.SearchStrategy[T], bad: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Usually a good value, sometimes a bad one: with several options a command line has
    one bad value more often than many, so every later check gets its share of examples."""
    return one_in_four(good, bad)


# ---- text --------------------------------------------------------------------------------

CONTROL = "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f\x85"
BIDI_AND_INVISIBLE = ("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                      "\u2066\u2069\ufeff")
# What a non-UTF-8 byte in argv or the environment becomes in Python (surrogateescape).
SURROGATE_ESCAPED = os.fsdecode(b"\xff\xfe\x80abc\xc3\x28")

NASTY_TEXT = (
    "", " ", "\t\n", "\x00", "a\x00b", "\n\n", "\r\n", "\x1b[31mred\x1b[0m", "\u202egnp.exe",
    "\ufeffbom", "\u200b", SURROGATE_ESCAPED, "\udcff", "é", "\uff26\uff55\uff4c\uff4c", "🦀" * 3,
    "%s%n{0}{}", "'; DROP TABLE jobs; --", '"quoted"', "\\", "$(id)", "`id`", "null", "true",
    "-", "--", "-x", "--help-me", "=", "a" * 5000,
)


def _from_bytes() -> st.SearchStrategy[str]:
    """What argv holds when the caller passed bytes that are not UTF-8."""
    return st.binary(min_size=1, max_size=24).map(os.fsdecode)


def hostile_text(*, nul: bool = True, max_size: int = 40) -> st.SearchStrategy[str]:
    """Any string an option or argument might receive, NUL included unless nul=False
    (a real argv cannot carry NUL; the environment and files can't either)."""
    alphabet = st.sampled_from(CONTROL + BIDI_AND_INVISIBLE + "./\\-_ :=\"'{}[]aZ09é€𝄞")
    strategy = st.one_of(
        st.sampled_from(NASTY_TEXT),
        st.text(alphabet, max_size=max_size),
        st.text(max_size=max_size),
        _from_bytes(),
    )
    return strategy if nul else strategy.map(lambda s: s.replace("\x00", ""))


def unknown_flags() -> st.SearchStrategy[str]:
    """Flags no command defines ("--" and "-" excluded: they are not flags)."""
    return st.one_of(
        st.sampled_from(("--bogus", "-Z", "--no-such-flag=1", "---", "--\u202eflag", "-\x00")),
        st.from_regex(r"--[a-z][a-z-]{2,12}[a-z]", fullmatch=True).filter(
            lambda flag: flag not in ("--help",)),
    )


def junk_flags() -> st.SearchStrategy[list[str]]:
    """Usually nothing, sometimes one unknown flag to append to a command line (so most
    examples test the values, not the flag)."""
    return one_in_four(st.just([]), unknown_flags().map(lambda flag: [flag]))


# ---- numbers -----------------------------------------------------------------------------

NASTY_NUMBERS = ("0", "-1", "-0", "1e309", "-1e309", "nan", "NaN", "inf", "-inf", "1e-300",
                 str(10**30), str(-(10**30)), str(2**63), str(2**64), "0x10", "1_000",
                 " 5 ", "٣", "", "1.5", "five", "1e3")


def int_text(low: int, high: int) -> st.SearchStrategy[str]:
    """A valid integer option value."""
    return st.integers(low, high).map(str)


def number_text() -> st.SearchStrategy[str]:
    """What a user might type into a numeric option."""
    return st.one_of(
        st.sampled_from(NASTY_NUMBERS),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        hostile_text(nul=False, max_size=8),
    )


def setting_values() -> st.SearchStrategy[str]:
    """What an environment variable might hold (no NUL: the environment cannot)."""
    return st.one_of(st.sampled_from(NASTY_NUMBERS),
                     st.integers(min_value=10**6, max_value=10**40).map(str),
                     hostile_text(nul=False))


# ---- ids ---------------------------------------------------------------------------------

def rfc4122_uuids() -> st.SearchStrategy[str]:
    """Valid ids: RFC 4122 variant, versions 1-5, canonical form in either case."""
    return st.builds(lambda version, value, upper: str(uuid.UUID(int=value, version=version))
                     .upper() if upper else str(uuid.UUID(int=value, version=version)),
                     st.integers(1, 5), st.integers(0, 2**128 - 1), st.booleans())


def _near(value: uuid.UUID) -> list[str]:
    text = str(value)
    return [
        text.replace("-", ""), "{" + text + "}", "urn:uuid:" + text, text[:-1], text + "0",
        text[:8], text.replace("-", "_"), " " + text + "\n", text[:14] + "0" + text[15:],
        text[:14] + "7" + text[15:], text[:19] + "c" + text[20:], "\uff10" + text[1:],
        text[:35] + "g", text + "\x00", "\u202e" + text, text[:9] + "-" + text[9:],
        "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ]


def near_uuids() -> st.SearchStrategy[str]:
    """Strings that look like UUIDs: wrong version or variant, braces, URN, missing or
    extra characters, look-alike digits, padding (valid once stripped), nil and max."""
    return st.builds(lambda value: uuid.UUID(int=value, version=4),
                     st.integers(0, 2**128 - 1)).flatmap(lambda u: st.sampled_from(_near(u)))


def id_arguments(*, nul: bool = True) -> st.SearchStrategy[str]:
    """Any value an id option might get: valid, nearly valid, or junk."""
    text = hostile_text(nul=nul)
    return st.one_of(rfc4122_uuids(), near_uuids(), text, traversal_paths(), _from_bytes())


# ---- paths -------------------------------------------------------------------------------

TRAVERSALS = ("../", "..", "../../etc/passwd", "/etc/passwd", "/", ".", "~", "~root",
              "a/../../b", "....//....//", "%2e%2e%2f", "..\\..\\windows", "C:\\Windows",
              "/dev/null", "/proc/self/environ", "a/\x00/b", "x" * 300, "a/" * 200,
              "./-rf", "-rf", "name/", "\u202e/..", "/tmp/../etc")


def traversal_paths() -> st.SearchStrategy[str]:
    """Paths that point outside wherever they should stay."""
    return st.one_of(
        st.sampled_from(TRAVERSALS),
        st.lists(st.sampled_from(("..", ".", "a", "", "~", "\u2024\u2024")), min_size=1,
                 max_size=6).map("/".join),
    )


# ---- JSON --------------------------------------------------------------------------------

def json_scalars() -> st.SearchStrategy[object]:
    return st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10**30, -1, 0]),
                     st.floats(allow_nan=False, allow_infinity=False), hostile_text())


def json_values(max_leaves: int = 12) -> st.SearchStrategy[object]:
    """Any JSON value, wrong types at every level."""
    return st.recursive(
        json_scalars(),
        lambda children: st.one_of(st.lists(children, max_size=4),
                                   st.dictionaries(hostile_text(max_size=12), children,
                                                   max_size=4)),
        max_leaves=max_leaves)


NASTY_JSON_TEXTS = (
    "", " ", "{", "}", "[", '{"a": ', '{"a": 1,}', "{'a': 1}", "NaN", "Infinity", '{"a": NaN}',
    "1e400", '{"a": 1e400}', '{"a": ' + "9" * 5000 + "}", '"\\ud800"', '{"reason": "\\udcff"}',
    '{"a": "\\u0000"}', "\ufeff{}", '{"a": 1, "a": 2}', "[" * 5000 + "]" * 5000,
    '{"a":' * 3000 + "1" + "}" * 3000, "null", "true", "[]", '"text"', "0", "-0", "{}" * 2,
    '{"a": 1} trailing',
)


def json_texts(max_leaves: int = 12) -> st.SearchStrategy[str]:
    """JSON documents as text: valid ones of any shape, truncated ones and invalid ones."""
    valid = json_values(max_leaves).map(lambda v: json.dumps(v, ensure_ascii=False))
    return st.one_of(
        st.sampled_from(NASTY_JSON_TEXTS),
        valid,
        valid.flatmap(lambda text: st.integers(0, max(0, len(text) - 1)).map(
            lambda cut: text[:cut])),  # truncated
        hostile_text(),
    )


# ---- files -------------------------------------------------------------------------------

FILE_KINDS = ("content", "empty", "missing", "directory", "symlink_outside",
              "dangling_symlink")


@dataclass(frozen=True)
class FileSpec:
    """A file argument to create on disk: its kind and, for real files, its bytes."""

    kind: str
    content: bytes = b""

    def make(self, folder: Path, name: str = "input") -> Path:
        """Create it under folder; return the path to pass (it may not exist, by design)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if self.kind == "content":
            path.write_bytes(self.content)
        elif self.kind == "directory":
            path.mkdir(exist_ok=True)
        elif self.kind == "symlink_outside":
            outside = folder.parent / f"outside-{name}"
            outside.write_bytes(self.content)
            path.symlink_to(outside)
        elif self.kind == "dangling_symlink":
            path.symlink_to(folder / f"nowhere-{name}")
        elif self.kind == "empty":
            path.write_bytes(b"")
        return path


def file_contents() -> st.SearchStrategy[bytes]:
    """Bytes a file might hold: empty, not UTF-8, truncated JSON, a BOM, NULs, huge-ish."""
    return st.one_of(
        st.sampled_from((b"", b"\xff\xfe\x00\x00", b"\xef\xbb\xbf{}", b"\x00" * 64,
                         b"{" * 10_000, b"a" * 300_000, b"\xc3\x28\xa0\xa1")),
        st.binary(max_size=200),
        json_texts().map(lambda text: text.encode("utf-8", "surrogateescape")),
    )


def file_specs(contents: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[FileSpec]:
    """A file argument of any kind; real files get `contents` (default: file_contents())."""
    return st.one_of(
        st.builds(FileSpec, st.just("content"), file_contents() if contents is None else contents),
        st.sampled_from([FileSpec(kind) for kind in FILE_KINDS if kind != "content"]),
    )
