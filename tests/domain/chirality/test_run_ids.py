"""Run ids and --out: the pattern, and nothing that could leave runs/."""

from __future__ import annotations

import pytest

from common.errors import ContractError
from domain.chirality.run_ids import (
    check_run_id,
    is_valid_run_id,
    manifest_ref,
    new_run_id,
    run_id_from_out,
)

BAD_RUN_IDS = ["", "..", ".", "../etc", "a/b", "a\\b", "A", "run.1", "a b", "x" * 65,
               "run\n", "é", "run%2f..", "~root", "/abs"]


@pytest.mark.parametrize("value", ["a", "sample_happy_001", "run-1", "-", "_", "0" * 64])
def test_valid_run_ids(value: str) -> None:
    assert is_valid_run_id(value) and check_run_id(value) == value


@pytest.mark.parametrize("value", BAD_RUN_IDS)
def test_invalid_run_ids_are_exit_2(value: str) -> None:
    assert not is_valid_run_id(value)
    with pytest.raises(ContractError) as caught:
        check_run_id(value)
    assert (caught.value.code, caught.value.exit_code) == ("INVALID_ARGUMENTS", 2)


@pytest.mark.parametrize(("out", "run_id"), [("runs/abc", "abc"), ("runs/abc/", "abc"),
                                              ("runs/s_1-2", "s_1-2")])
def test_out_is_runs_slash_run_id(out: str, run_id: str) -> None:
    assert run_id_from_out(out) == run_id


@pytest.mark.parametrize("out", ["abc", "runs", "runs/", "runs/../etc", "runs/..", "runs/a/b",
                                 "/tmp/runs/abc", "./runs/abc", "other/abc", "runs//abc",
                                 "runs/ABC", "runs\\abc", "runs/abc/..", "runs/.", "../runs/a"])
def test_any_other_out_is_exit_2(out: str) -> None:
    with pytest.raises(ContractError) as caught:
        run_id_from_out(out)
    assert caught.value.exit_code == 2 and caught.value.details == {"out": out}


def test_generated_run_ids_are_valid_and_distinct() -> None:
    ids = {new_run_id() for _ in range(50)}
    assert len(ids) == 50 and all(is_valid_run_id(i) and i.startswith("run-") for i in ids)


def test_the_manifest_reference() -> None:
    assert manifest_ref("abc") == "runs/abc/index.json"
