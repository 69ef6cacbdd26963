"""The stall detector: a free worker ignoring waiting messages, and nothing else."""

from __future__ import annotations

from workers.stall import StallDetector


def test_a_free_worker_ignoring_waiting_messages_is_stalled_after_stall_s() -> None:
    detector = StallDetector(stall_s=3.0)
    looks = [detector.observe(now=t, delivered=[], messages_waiting=True, can_consume=True)
             for t in (0.0, 1.0, 2.0, 3.0)]
    assert looks == [False, False, False, True]


def test_a_new_delivery_a_full_worker_or_an_empty_queue_is_not_a_stall() -> None:
    detector = StallDetector(stall_s=1.0)
    assert not detector.observe(now=0, delivered=[], messages_waiting=True, can_consume=True)
    assert not detector.observe(now=5, delivered=["a"], messages_waiting=True, can_consume=True)
    assert not detector.observe(now=6, delivered=["a"], messages_waiting=True, can_consume=False)
    assert not detector.observe(now=9, delivered=["a"], messages_waiting=False, can_consume=True)
    # Stalled again only stall_s after it last made sense.
    assert not detector.observe(now=10, delivered=["a"], messages_waiting=True, can_consume=True)
    assert detector.observe(now=11, delivered=["a"], messages_waiting=True, can_consume=True)
