"""Moved to common/clock.py (store/ may use it too); kept so existing imports work."""

from common.clock import iso_z, now_iso, utc_now

__all__ = ["iso_z", "now_iso", "utc_now"]
