"""Moves between check and use: a folder swapped for a symlink cannot redirect them."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.synora import FaultPlan
from domain.synora.faults import FaultHooks, InjectedFault
from domain.synora.fsops import TargetChanged
from domain.synora.scan import scan_tree
from domain.synora.transfer import Transfer, move_back
from tests.support.synora import make_tree, snapshot


def test_a_folder_swapped_for_a_symlink_after_the_check_stops_the_move(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "pkg")
    plan = scan_tree(root, hashes=True)
    (tmp_path / "q").mkdir()
    # an attacker swaps share/doc for a link to a folder outside after the guard ran
    outside = make_tree(tmp_path / "outside", {"README": b"victim\n"}, ())
    before = snapshot(outside)
    (root / "share" / "doc").rename(tmp_path / "moved-away")
    (root / "share" / "doc").symlink_to(outside, target_is_directory=True)
    transfer = Transfer(src=root, dst=tmp_path / "q", files=plan.files,
                        hooks=FaultHooks(FaultPlan()))
    with pytest.raises(OSError):
        transfer.run()
    assert snapshot(outside) == before
    assert all(not item.rel.startswith("share/doc/") for item in transfer.moved)


def test_a_file_replaced_after_the_check_stops_the_move(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "pkg")
    plan = scan_tree(root, hashes=True)
    (tmp_path / "q").mkdir()
    target = root / plan.files[0].rel
    (tmp_path / "other").write_bytes(b"something else")
    (tmp_path / "other").replace(target)  # another inode under the checked name
    transfer = Transfer(src=root, dst=tmp_path / "q", files=plan.files,
                        hooks=FaultHooks(FaultPlan()))
    with pytest.raises(TargetChanged):
        transfer.run()
    assert transfer.moved == []
    assert target.read_bytes() == b"something else"


def test_move_back_goes_on_past_a_failure(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "pkg")
    tree = snapshot(root)
    plan = scan_tree(root, hashes=True)
    (tmp_path / "q").mkdir()
    transfer = Transfer(src=root, dst=tmp_path / "q", files=plan.files,
                        hooks=FaultHooks(FaultPlan(fail_after_files=4)))
    with pytest.raises(InjectedFault):
        transfer.run()
    assert len(transfer.moved) == 4
    failures = move_back(transfer.moved, src=tmp_path / "q", dst=root, root_mode=plan.root_mode,
                         dirs=plan.dirs, hooks=FaultHooks(FaultPlan(rollback_fail_after_files=0)))
    assert [item for item, _ in failures] == [transfer.moved[-1]]
    assert move_back([transfer.moved[-1]], src=tmp_path / "q", dst=root,
                     root_mode=plan.root_mode, dirs=plan.dirs,
                     hooks=FaultHooks(FaultPlan())) == []
    assert snapshot(root) == tree
