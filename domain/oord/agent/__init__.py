"""The oord agent: the sender seals settled batches, the receiver verifies incoming bundles.

Both run as Celery jobs on the `oord` queue (tasks/oord.py), driven by beat-scheduled
scans; their state is in SQL (store/oord.py). docs/oord.md has both state machines.
"""
