"""Exam session isolation: identities, the session lifecycle, environments, access, TTLs.

The pure modules (identity, states, failures, display, ttl) import nothing heavy, so the
commands built on them start fast; the store-backed ones import SQLAlchemy when used.
"""
