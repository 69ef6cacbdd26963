"""The agent's state rows on SQLite and PostgreSQL: discovery, claims, leases, retries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from store import oord as state

NOW = 1_800_000_000_000


def _batch(key: str = "batch-a") -> dict[str, object]:
    return {"batch_id": key, "name": key, "source_path": f"/w/{key}", "org_id": "ORG",
            "created_at_ms": NOW}


def test_discovery_is_idempotent(db_url: str) -> None:
    assert state.record_discovered(state.SENDER, _batch(), now_ms=NOW)
    assert not state.record_discovered(state.SENDER, _batch(), now_ms=NOW + 5)
    assert state.known_keys(state.SENDER) == {"batch-a": "pending"}


def test_one_claim_wins_and_counts_an_attempt(db_url: str) -> None:
    state.record_discovered(state.SENDER, _batch(), now_ms=NOW)

    def attempt(token: str) -> bool:
        return state.claim(state.SENDER, "batch-a", token=token, worker="w", now_ms=NOW,
                           lease_ms=1000) is not None

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, [f"t{i}" for i in range(8)]))
    assert wins.count(True) == 1
    row = state.get_row(state.SENDER, "batch-a")
    assert row is not None and (row["state"], row["attempts"]) == ("processing", 1)


def test_a_live_lease_holds_and_an_expired_one_is_taken_over(db_url: str) -> None:
    state.record_discovered(state.SENDER, _batch(), now_ms=NOW)
    assert state.claim(state.SENDER, "batch-a", token="t1", worker="w", now_ms=NOW,
                       lease_ms=1000)
    assert state.claim(state.SENDER, "batch-a", token="t2", worker="w", now_ms=NOW + 999,
                       lease_ms=1000) is None
    assert state.renew(state.SENDER, "batch-a", token="t1", now_ms=NOW + 900, lease_ms=1000)
    assert state.claim(state.SENDER, "batch-a", token="t2", worker="w", now_ms=NOW + 1800,
                       lease_ms=1000) is None
    taken = state.claim(state.SENDER, "batch-a", token="t2", worker="w2", now_ms=NOW + 1900,
                        lease_ms=1000)
    assert taken is not None and taken["attempts"] == 2 and taken["claimed_by"] == "w2"
    # The first holder's writes no longer land.
    assert not state.renew(state.SENDER, "batch-a", token="t1", now_ms=NOW + 2000,
                           lease_ms=1000)
    assert not state.finish(state.SENDER, "batch-a", token="t1", state=state.SEALED,
                            now_ms=NOW + 2000)


def test_a_pending_row_is_stamped_with_one_job_which_alone_claims_it(db_url: str) -> None:
    state.record_discovered(state.RECEIVER, {"name": "b.zip", "source_path": "/i/b.zip"},
                            now_ms=NOW)
    assert state.dispatchable_keys(state.RECEIVER, now_ms=NOW) == [("b.zip", None)]
    assert state.mark_dispatched(state.RECEIVER, "b.zip", job_id="j1", now_ms=NOW,
                                 until_ms=NOW + 9000)
    assert not state.mark_dispatched(state.RECEIVER, "b.zip", job_id="j2", now_ms=NOW,
                                     until_ms=NOW + 9000)  # only one scan wins
    assert state.dispatchable_keys(state.RECEIVER, now_ms=NOW + 100) == []
    # Once the window passed, the stamped row is offered again, naming its job
    assert state.dispatchable_keys(state.RECEIVER, now_ms=NOW + 9000) == [("b.zip", "j1")]
    assert state.claim(state.RECEIVER, "b.zip", token="j2", worker="w", now_ms=NOW,
                       lease_ms=1000) is None
    row = state.claim(state.RECEIVER, "b.zip", token="j1", worker="w", now_ms=NOW,
                      lease_ms=1000, attempts=1)
    assert row is not None and row["attempts"] == 1


def test_a_retry_belongs_to_its_job_whatever_the_time(db_url: str) -> None:
    state.record_discovered(state.RECEIVER, {"name": "b.zip", "source_path": "/i/b.zip"},
                            now_ms=NOW)
    state.claim(state.RECEIVER, "b.zip", token="t", worker="w", now_ms=NOW, lease_ms=1000,
                attempts=1)
    assert state.schedule_retry(state.RECEIVER, "b.zip", token="t", now_ms=NOW,
                                next_retry_at_ms=NOW + 500, exit_code=2, error="bad zip")
    row = state.get_row(state.RECEIVER, "b.zip")
    assert row is not None
    assert (row["state"], row["next_retry_at_ms"], row["last_exit_code"], row["last_error"],
            row["claim_token"]) == ("retry", NOW + 500, 2, "bad zip", "t")
    assert state.dispatchable_keys(state.RECEIVER, now_ms=NOW + 600) == []  # the job's own
    assert state.claim(state.RECEIVER, "b.zip", token="t2", worker="w", now_ms=NOW + 600,
                       lease_ms=1000) is None
    row = state.claim(state.RECEIVER, "b.zip", token="t", worker="w", now_ms=NOW + 100,
                      lease_ms=1000, attempts=2)
    assert row is not None and row["attempts"] == 2

