"""Facts about the machine the tests run on."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """A real-part test may skip on a laptop without that part, never under CI."""
    import pytest

    if CI:
        pytest.fail(f"{reason} (required when CI=true)")
    pytest.skip(reason)
