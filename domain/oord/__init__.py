"""Oord: seal folders into signed, deterministic bundles; verify them against trusted keys.

Pure logic (no click, no Celery). The agent's state lives in SQL through store.oord.
"""
