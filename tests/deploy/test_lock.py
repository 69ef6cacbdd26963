"""requirements.lock: every dependency and extra of pyproject.toml pinned exactly, with
hashes, and ./run installs from it (then the project without dependencies)."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.env import ROOT

PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>\S+)(?: ;.*)? \\$", re.M)


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    return {canonicalize_name(m["name"]): m["version"] for m in PIN.finditer(text)}


def test_every_requirement_of_pyproject_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"],
              *project["optional-dependencies"]["ops"]]
    pins = _pins()
    for line in wanted:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run ./run lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])


def test_every_pin_carries_hashes() -> None:
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    pinned = [b for b in blocks if PIN.match(b)]
    assert len(pinned) == len(_pins()) > 20
    for block in pinned:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_run_installs_from_the_lock_and_hashes_it_into_its_stamp() -> None:
    script = (ROOT / "run").read_text()
    assert '--require-hashes -r "$LOCK"' in script
    assert "--no-deps -e ." in script
    assert "cat requirements.lock pyproject.toml" in script
    assert "lock)  lock" in script
