"""npm-style versions and ranges, as plugin authors write them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.marketplace.semver import Range, SemverError, Version

V = Version.parse


@pytest.mark.parametrize(("low", "high"), [
    ("1.0.0", "1.0.1"), ("1.0.0", "1.1.0"), ("1.9.0", "1.10.0"), ("1.0.0-alpha", "1.0.0"),
    ("1.0.0-alpha", "1.0.0-alpha.1"), ("1.0.0-alpha.1", "1.0.0-alpha.beta"),
    ("1.0.0-alpha.beta", "1.0.0-beta"), ("1.0.0-beta.2", "1.0.0-beta.11"),
    ("1.0.0-beta.11", "1.0.0-rc.1"), ("1.0.0-rc.1", "1.0.0"),
])
def test_precedence(low: str, high: str) -> None:
    assert V(low) < V(high) and not V(high) < V(low)


def test_build_metadata_is_ignored_and_v_prefix_accepted() -> None:
    assert V("v1.2.3+build.5") == V("1.2.3")
    assert str(V("1.2.3-rc.1")) == "1.2.3-rc.1"


@pytest.mark.parametrize("text", ["1", "1.2", "01.2.3", "1.2.3-", "a.b.c", "1.2.3.4", ""])
def test_invalid_versions(text: str) -> None:
    with pytest.raises(SemverError):
        V(text)


SATISFIES = [
    ("^1.2.3", ["1.2.3", "1.9.9"], ["1.2.2", "2.0.0", "2.0.0-rc.1"]),
    ("^1.2", ["1.2.0", "1.99.0"], ["1.1.9", "2.0.0"]),
    ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
    ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
    ("^0.0", ["0.0.0", "0.0.9"], ["0.1.0"]),
    ("^1.x", ["1.0.0", "1.5.0"], ["2.0.0"]),
    ("~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
    ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("~1", ["1.0.0", "1.9.9"], ["2.0.0"]),
    ("1.x", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.9"]),
    ("1.2.*", ["1.2.0", "1.2.99"], ["1.3.0"]),
    ("*", ["0.0.0", "9.9.9"], ["1.0.0-alpha"]),
    ("", ["1.0.0"], []),
    (">=1 <2", ["1.0.0", "1.9.9"], ["2.0.0", "0.9.0"]),
    (">= 1.2.3 < 1.4", ["1.2.3", "1.3.9"], ["1.4.0", "1.2.2"]),
    (">1.2", ["1.3.0"], ["1.2.9"]),
    ("<=1.2", ["1.2.9"], ["1.3.0"]),
    ("<1.2", ["1.1.9"], ["1.2.0", "1.2.0-rc.1"]),
    ("1.2.3 - 2.3.4", ["1.2.3", "2.3.4"], ["2.3.5", "1.2.2"]),
    ("1.2 - 2.3", ["1.2.0", "2.3.9"], ["2.4.0"]),
    ("1.2.3 || 2.x", ["1.2.3", "2.5.0"], ["1.2.4", "3.0.0"]),
    ("=1.2.3", ["1.2.3"], ["1.2.4"]),
    (">=1.2.3-beta.2", ["1.2.3-beta.3", "1.2.3", "1.5.0"], ["1.2.3-beta.1", "1.5.0-beta.1"]),
    ("^1.2.3-beta.2", ["1.2.3-beta.4", "1.2.3"], ["1.2.4-beta.1", "2.0.0"]),
]


@pytest.mark.parametrize(("text", "inside", "outside"), SATISFIES)
def test_ranges(text: str, inside: list[str], outside: list[str]) -> None:
    rng = Range.parse(text)
    for version in inside:
        assert rng.satisfied_by(V(version)), f"{version} should satisfy {text!r}"
    for version in outside:
        assert not rng.satisfied_by(V(version)), f"{version} should not satisfy {text!r}"


@pytest.mark.parametrize("text", ["abc", "1.2.3; rm -rf /", ">=>1", "^^1", "1.2.3.4",
                                  "~", "1 - ", "x" * 300])
def test_invalid_ranges(text: str) -> None:
    with pytest.raises(SemverError):
        Range.parse(text)


def test_max_satisfying() -> None:
    versions = [V(v) for v in ("1.0.0", "1.2.0", "1.2.3", "1.3.0", "2.0.0-rc.1")]
    assert Range.parse("~1.2").max_satisfying(versions) == V("1.2.3")
    assert Range.parse(">=3").max_satisfying(versions) is None


versions = st.builds(Version, st.integers(0, 20), st.integers(0, 20), st.integers(0, 20))


@given(versions, versions)
def test_ordering_is_total_and_consistent(a: Version, b: Version) -> None:
    assert (a < b) + (b < a) + (a == b) == 1


@given(versions)
def test_caret_contains_its_floor_and_excludes_next_major(v: Version) -> None:
    rng = Range.parse(f"^{v}")
    assert rng.satisfied_by(v)
    if v.major > 0:
        assert not rng.satisfied_by(Version(v.major + 1, 0, 0))
