"""--problem-file: {"title", "statement"}, or a clear exit 2 (4 when unreadable)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.chirality.problem import MAX_PROBLEM_BYTES, Problem, read_problem_file


def test_a_problem_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"title": "T", "statement": "S ü", "extra": 1}))
    assert read_problem_file(path) == Problem("T", "S ü")


@pytest.mark.parametrize(("content", "message"), [
    ("not json", "not valid UTF-8 JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"title": "T"}', "statement"),
    ('{"title": 3, "statement": "S"}', "title"),
    (b"\xff\xfe", "not valid UTF-8 JSON"),
])
def test_bad_problem_files_are_exit_2(tmp_path: Path, content: str | bytes,
                                      message: str) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ContractError) as caught:
        read_problem_file(path)
    assert caught.value.exit_code == 2 and message in caught.value.message


def test_missing_directory_and_oversized_are_exit_2(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"title": "T", "statement": "x" * MAX_PROBLEM_BYTES}))
    for path in (tmp_path / "missing.json", tmp_path, big):
        with pytest.raises(ContractError) as caught:
            read_problem_file(path)
        assert caught.value.exit_code == 2, path


def test_an_unreadable_problem_file_is_exit_4(tmp_path: Path) -> None:
    # Permissions cannot stop root (the tests may run as root); a symlink loop is an
    # error the OS reports on open (ELOOP), which is neither "missing" nor "a folder".
    path = tmp_path / "loop"
    os.symlink(path, path)
    with pytest.raises(ContractError) as caught:
        read_problem_file(path)
    assert (caught.value.code, caught.value.exit_code) == ("IO_ERROR", 4)


@pytest.mark.parametrize("name", ["a\x00b", "\ud800.json"])
def test_a_path_the_os_cannot_take_is_exit_2(tmp_path: Path, name: str) -> None:
    # A NUL byte or a lone surrogate in the name raised ValueError (an internal error).
    with pytest.raises(ContractError) as caught:
        read_problem_file(tmp_path / name)
    assert (caught.value.code, caught.value.exit_code) == ("INVALID_ARGUMENTS", 2)


@pytest.mark.parametrize(("content", "message"), [
    (b'{"title": "\\ud800", "statement": "S"}', "title must be Unicode text"),
    (b'{"title": "T", "statement": "x\\udcff"}', "statement must be Unicode text"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_text_no_manifest_can_hold_and_deep_nesting_are_exit_2(
        tmp_path: Path, content: bytes, message: str) -> None:
    # Lone surrogates failed the job when it wrote the manifest (exit 1); deep nesting
    # raised RecursionError in the JSON parser (an internal error).
    path = tmp_path / "p.json"
    path.write_bytes(content)
    with pytest.raises(ContractError) as caught:
        read_problem_file(path)
    assert caught.value.exit_code == 2 and message in caught.value.message
