"""Shared pieces of the bad-input suites of chirality, oord, synora and plugins.

- `run_cli_in_process`: one call of a console script in this process, through
  cli.contract.invoke, with stdout/stderr/stdin as a real process has them (UTF-8 byte
  streams: stdout strict, stderr backslashreplace), so an unencodable character fails
  here as it would for a user; the crash log is checked after every call.
- Strategies for hostile text, paths, files and JSON documents.
- `tree_state`: a byte-exact picture of a folder, to prove that rejected input changed
  nothing.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from hypothesis import strategies as st

from cli.contract import ErrorFormat, invoke
from config.settings import reset_settings

# record_crash() logs this line (with the traceback) to $CONVEYOR_HOME/logs/cli.log.
CRASH_MARK = "unexpected error in"


# ---- running a console script in this process ---------------------------------------------

@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def describe(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


def _stream(errors: str, data: bytes = b"") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors=errors,
                            write_through=True)


def _drain(stream: io.TextIOWrapper, what: str) -> str:
    stream.flush()
    raw = stream.buffer.getvalue()  # type: ignore[attr-defined]
    try:
        return str(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:  # a contract's output must be UTF-8 text
        raise AssertionError(f"{what} is not UTF-8: {raw[:300]!r}") from exc


@contextlib.contextmanager
def _stdio(stdin: bytes) -> Iterator[tuple[io.TextIOWrapper, io.TextIOWrapper]]:
    out, err = _stream("strict"), _stream("backslashreplace")
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = _stream("strict", stdin), out, err
    try:
        yield out, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved


def crash_count(home: Path) -> int:
    log = home / "logs" / "cli.log"
    if not log.exists():
        return 0
    return log.read_text(encoding="utf-8", errors="replace").count(CRASH_MARK)


def run_cli_in_process(call: Callable[[], int], *, home: Path, stdin: bytes = b"") -> Result:
    """Run ``call`` (an invoke of a console script) with captured byte-level stdio.

    Fails the test if the call recorded a crash (an unexpected exception) or printed a
    traceback; the caller checks the contract's format and exit codes.
    """
    crashes = crash_count(home)
    reset_settings()
    with _stdio(stdin) as (out, err):
        try:
            code = call()
        finally:
            # chirality's quiet mode disables WARNING logging process-wide; one call must
            # not change what the next one logs.
            logging.disable(logging.NOTSET)
    result = Result(code, _drain(out, "stdout"), _drain(err, "stderr"))
    assert crash_count(home) == crashes, f"a crash was recorded in {home}/logs/cli.log\n" \
                                         f"{result.describe()}"
    assert "Traceback" not in result.out + result.err, result.describe()
    return result


def invoke_script(command: click.Command, fmt: ErrorFormat, args: Sequence[str], prog: str,
                  *, home: Path, stdin: bytes = b"") -> Result:
    return run_cli_in_process(lambda: invoke(command, fmt, list(args), prog_name=prog),
                              home=home, stdin=stdin)


def one_json_line(text: str, what: str) -> Any:
    """The text is exactly one line holding one JSON document."""
    assert text.endswith("\n") and text.count("\n") == 1, f"{what} is not one line: {text!r}"
    return json.loads(text)


# ---- hostile values ------------------------------------------------------------------------

NASTY_STRINGS: tuple[str, ...] = (
    "", " ", "-", "--", "-1", "0", "10" * 15, str(10**30), "-" + str(10**30), "1e309",
    "NaN", "inf", "null", "true", "[]", "{}", '{"a":', ".", "..", "../", "../../etc/passwd",
    "a/../../b", "/", "/etc/passwd", "//", "~", "~root/.ssh", "%2e%2e%2f", "C:\\Windows",
    "\\\\server\\share", "..\\..\\x", "file:///etc/passwd", "http://127.0.0.1:1/x",
    "a\x00b", "\x00", "a\nb", "\n", "line\r\nbreak", "\t", "\x1b[31mred", "\x7f",
    "\u202eevil\u202c", "\u200f\u200e", "\ufeffbom", "\u0130", "😀", "e\u0301",
    "\udcff\udcfe", "x\udc80y", "a" * 256, "é" * 200, "x" * 5000,
    "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6BA7B810-9DAD-11D1-80B4-00C04FD430C8",
    "6ba7b810-9dad-11d1-80b4-00c04fd430c", "6ba7b810-9dad-11d1-80b4-00c04fd430c8a",
    "6ba7b810-9dad-11d1-80b4-00c04fd430cg", "{6ba7b810-9dad-11d1-80b4-00c04fd430c8}",
    "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8", "6ba7b8109dad11d180b400c04fd430c8",
    "00000000-0000-0000-0000-000000000000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8\n",
    " 6ba7b810-9dad-11d1-80b4-00c04fd430c8", "--help", "--version", "--json", "-h",
)

PLACEHOLDER = "{X}"


def nasty_lines(template: Sequence[str], *, absolute: bool = True) -> list[list[str]]:
    """The template with PLACEHOLDER replaced by each nasty string in turn (all of them,
    not a sample: each is cheap, and a sample misses the one that matters). Without
    ``absolute`` the values naming absolute paths are left out, for positions where a
    path is written to ("/" as an output folder would be the machine's root)."""
    values = [v for v in NASTY_STRINGS if absolute or not v.startswith("/")]
    return [[value if part == PLACEHOLDER else part for part in template] for value in values]


_ODD_CHARS = st.sampled_from([
    *"aZ09-_./\\:@+=, ",
    "\x00", "\n", "\r", "\t", "\x1b", "\x7f", "\u202e", "\u200f", "\ufeff", "é", "😀",
    "\udc80", "\udcff", "\u0085", "\u2028", "%"])


def hostile_text(*, max_size: int = 24) -> st.SearchStrategy[str]:
    """Strings a user, a script or an attacker might pass where text is expected."""
    return st.one_of(
        st.sampled_from(NASTY_STRINGS),
        st.text(_ODD_CHARS, max_size=max_size),
        st.text(st.characters(codec="utf-8"), max_size=max_size),
    )


def sandboxed(value: str) -> bool:
    """A value that may go into a path setting: the environment cannot hold NUL, and an
    absolute path or "~user" would point the command at the machine's own folders."""
    return "\x00" not in value and not value.startswith(("/", "~"))


def near_uuid() -> st.SearchStrategy[str]:
    """Valid UUIDs of every version, and strings that look almost like one."""
    hexes = st.text(st.sampled_from("0123456789abcdefABCDEFgx-"), min_size=30, max_size=40)
    return st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()),
                     st.uuids().map(lambda u: u.hex), hexes,
                     st.uuids().map(lambda u: str(u)[:-1]),
                     st.uuids().map(lambda u: f"{u}\x00"))


def huge_or_bad_int() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(-(10**30), 10**30).map(str),
                     st.sampled_from(["-1", "0", str(10**30), "1.5", "0x10", "1_000", " 7",
                                      "", "abc", "1e3", "٣", "NaN"]))


def mostly(valid: st.SearchStrategy[str], hostile: st.SearchStrategy[str]
           ) -> st.SearchStrategy[str]:
    """A valid value two times in three: one bad value at a time reaches deeper checks."""
    return st.one_of(valid, valid, hostile)


@st.composite
def command_line(draw: st.DrawFn, options: dict[str, st.SearchStrategy[str]],
                 flags: Sequence[str] = (), positionals: Sequence[st.SearchStrategy[str]] = (),
                 ) -> list[str]:
    """Most of the options (each with a value), some flags, positionals and junk, shuffled.

    Options stay next to their values; junk (unknown flags, stray words, an option
    without its value at the end) is mixed in now and then, so that click's own errors
    come up too without hiding every deeper check.
    """
    groups: list[list[str]] = []
    for name in sorted(options):
        if draw(st.integers(0, 5)) > 0:
            groups.append([name, draw(options[name])])
    groups += [[flag] for flag in flags if draw(st.booleans())]
    groups += [[draw(strategy)] for strategy in positionals if draw(st.integers(0, 5)) > 0]
    if draw(st.integers(0, 4)) == 0:
        junk = st.one_of(st.sampled_from(["--bogus", "-x", "--", "--=", "-", "---", "--help=1"]),
                         hostile_text(max_size=8))
        groups.append([draw(junk)])
    ordered = draw(st.permutations(groups))
    line = [token for group in ordered for token in group]
    if options and draw(st.integers(0, 9)) == 0:
        line.append(draw(st.sampled_from(sorted(options))))  # an option missing its value
    return line


@st.composite
def one_bad_option(draw: st.DrawFn, valid: dict[str, str],
                   hostile: dict[str, st.SearchStrategy[str]]) -> list[str]:
    """A valid command line with exactly one option spoiled: a bad value, or left out."""
    name = draw(st.sampled_from(sorted(hostile)))
    line: list[str] = []
    for option, value in valid.items():
        if option != name:
            line += [option, value]
    if draw(st.integers(0, 5)) > 0:
        line += [name, draw(hostile[name])]
    return line


# ---- hostile files -------------------------------------------------------------------------

FILE_KINDS = ("missing", "directory", "empty", "non_utf8", "truncated_json", "not_json",
              "json_scalar", "json_array", "huge", "symlink_outside", "dangling_symlink",
              "symlink_loop", "dev_null", "deep_nesting", "nul_in_name", "long_name", "unreadable")


def make_hostile_file(folder: Path, kind: str, *, valid: bytes = b"{}",
                      huge_bytes: int = 300 * 1024) -> str:
    """Create one hostile stand-in for a file argument in ``folder``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"hostile-{kind}"
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)  # an earlier example may have written into it
        else:
            path.unlink()
    makers: dict[str, Callable[[], str]] = {
        "missing": lambda: str(path),
        "directory": lambda: (path.mkdir(), str(path))[1],
        "empty": lambda: (path.write_bytes(b""), str(path))[1],
        "non_utf8": lambda: (path.write_bytes(b'{"a": "\xff\xfe\xc3"}'), str(path))[1],
        "truncated_json": lambda: (path.write_bytes(valid[: max(len(valid) // 2, 1)]),
                                   str(path))[1],
        "not_json": lambda: (path.write_bytes(b"title: x\n"), str(path))[1],
        "json_scalar": lambda: (path.write_bytes(b"42"), str(path))[1],
        "json_array": lambda: (path.write_bytes(b"[" + valid + b"]"), str(path))[1],
        "huge": lambda: (path.write_bytes(b"[" + b"0," * (huge_bytes // 2) + b"0]"),
                         str(path))[1],
        "deep_nesting": lambda: (path.write_bytes(b"[" * 100_000), str(path))[1],
        "symlink_outside": lambda: (path.symlink_to("/etc/passwd"), str(path))[1],
        "dangling_symlink": lambda: (path.symlink_to(folder / "nowhere" / "x"), str(path))[1],
        "symlink_loop": lambda: (path.symlink_to(path), str(path))[1],
        "dev_null": lambda: "/dev/null",
        "nul_in_name": lambda: f"{folder}/a\x00b",
        "long_name": lambda: str(folder / ("n" * 300)),
        "unreadable": lambda: (path.write_bytes(valid), path.chmod(0), str(path))[2],
    }
    return makers[kind]()


# ---- JSON with wrong types at every level -------------------------------------------------

WRONG_VALUES: tuple[Any, ...] = (None, True, False, 0, -1, 10**30, 1.5, float("1e308"), "",
                                 "x", "\x00", "\udcff", [], [None], {}, {"": None})


def json_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path (keys and indexes) to a value inside ``doc``, the root included."""
    found = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            found += json_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found += json_paths(value, (*prefix, index))
    return found


def replaced(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``doc`` with the value at ``path`` replaced (or the root)."""
    if not path:
        return value
    copy: Any = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copy


def without(doc: Any, path: tuple[Any, ...]) -> Any:
    """A copy of ``doc`` without the key or item at ``path``."""
    copy: Any = json.loads(json.dumps(doc))
    node = copy
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]
    return copy


@st.composite
def mutated_json(draw: st.DrawFn, valid: Any) -> Any:
    """The valid document with one value replaced by a wrong one, a key dropped or added."""
    paths = json_paths(valid)
    path = draw(st.sampled_from(paths))
    action = draw(st.sampled_from(("replace", "replace", "drop", "extra")))
    if action == "drop" and path:
        return without(valid, path)
    if action == "extra":
        target = draw(st.sampled_from([p for p in paths
                                       if isinstance(_at(valid, p), dict)] or [()]))
        node = _at(valid, target)
        if isinstance(node, dict):
            return replaced(valid, target, {**node, draw(hostile_text(max_size=8)) or "x":
                                            draw(st.sampled_from(WRONG_VALUES))})
    return replaced(valid, path, draw(st.one_of(st.sampled_from(WRONG_VALUES),
                                                hostile_text(max_size=12))))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def json_bytes(doc: Any) -> bytes:
    """Serialise as a hostile producer might: lone surrogates kept as \\u escapes."""
    return json.dumps(doc, allow_nan=True).encode("ascii")


# ---- proving that nothing changed ---------------------------------------------------------

def tree_state(root: Path, *, skip: Callable[[str], bool] = lambda rel: False
               ) -> dict[str, tuple[str, int, bytes | str | None]]:
    """Every entry below ``root`` (lstat, links not followed): kind, mode and content."""
    state: dict[str, tuple[str, int, bytes | str | None]] = {}
    if not root.exists():
        return state
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if skip(rel):
                continue
            st_ = path.lstat()
            mode = stat.S_IMODE(st_.st_mode)
            if stat.S_ISLNK(st_.st_mode):
                state[rel] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(st_.st_mode):
                state[rel] = ("dir", mode, None)
            elif stat.S_ISREG(st_.st_mode):
                state[rel] = ("file", mode, path.read_bytes())
            else:
                state[rel] = ("special", mode, None)
    return state


@dataclass(frozen=True)
class Changes:
    added: list[str]
    removed: list[str]
    modified: list[str]


def changes(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """What differs between two tree_state() pictures."""
    return Changes(added=sorted(set(after) - set(before)),
                   removed=sorted(set(before) - set(after)),
                   modified=sorted(k for k in set(before) & set(after) if before[k] != after[k]))
