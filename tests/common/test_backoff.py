from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.backoff import OORD_POLICY, BackoffPolicy, compute_backoff_s


def test_doubles_from_base_until_the_cap() -> None:
    delays = [compute_backoff_s(n, base_s=0.5, cap_s=60, jitter=0) for n in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_oord_policy_matches_the_contract() -> None:
    # min(60000, 500 * 2^(attempts-1)) ms plus jitter
    assert OORD_POLICY.delay_s(1, rand=lambda: 0.0) == 0.5
    assert OORD_POLICY.delay_s(8, rand=lambda: 0.0) == 60.0
    assert OORD_POLICY.delay_s(8, rand=lambda: 1.0) == pytest.approx(66.0)


def test_jitter_adds_a_fraction_of_the_delay() -> None:
    assert compute_backoff_s(3, base_s=1, cap_s=60, jitter=0.5, rand=lambda: 0.5) == 5.0


def test_huge_attempt_numbers_do_not_overflow() -> None:
    assert compute_backoff_s(10_000, base_s=1, cap_s=30, jitter=0) == 30


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_start_at_one(attempt: int) -> None:
    with pytest.raises(ValueError):
        compute_backoff_s(attempt, base_s=1, cap_s=1)


def test_negative_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        compute_backoff_s(1, base_s=-1, cap_s=1)


@given(attempt=st.integers(1, 500), base=st.floats(0, 100), cap=st.floats(0, 1000),
       jitter=st.floats(0, 1), r=st.floats(0, 1, exclude_max=True))
def test_delay_stays_within_cap_plus_jitter(attempt: int, base: float, cap: float,
                                            jitter: float, r: float) -> None:
    delay = compute_backoff_s(attempt, base_s=base, cap_s=cap, jitter=jitter, rand=lambda: r)
    floor = min(cap, base * 2.0 ** min(attempt - 1, 64))
    assert floor <= delay <= floor * (1 + jitter) + 1e-9


@given(attempt=st.integers(1, 200))
def test_without_jitter_delays_never_shrink(attempt: int) -> None:
    policy = BackoffPolicy(base_s=0.1, cap_s=60, jitter=0)
    assert policy.delay_s(attempt) <= policy.delay_s(attempt + 1)
