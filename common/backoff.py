"""The one backoff function every retrying task uses."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


def compute_backoff_s(attempt: int, *, base_s: float, cap_s: float, jitter: float = 0.0,
                      rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``attempt`` (1 = the first retry).

    Exponential, ``base_s * 2**(attempt-1)``, capped at ``cap_s``; then up to
    ``jitter`` (a fraction, 0.1 = 10 %) of that is added at random so that
    many clients failing together do not retry in lockstep.
    """
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    if base_s < 0 or cap_s < 0 or jitter < 0:
        raise ValueError("base_s, cap_s and jitter must not be negative")
    # Cap the exponent too: 2**attempt overflows a float long before attempt does.
    exponential = base_s * 2.0 ** min(attempt - 1, 64)
    capped = min(cap_s, exponential)
    return capped + capped * jitter * rand()


@dataclass(frozen=True, kw_only=True)
class BackoffPolicy:
    """A named set of backoff parameters; oord's is base 0.5 s, cap 60 s, with jitter."""

    base_s: float
    cap_s: float
    jitter: float = 0.1

    def delay_s(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        return compute_backoff_s(attempt, base_s=self.base_s, cap_s=self.cap_s,
                                 jitter=self.jitter, rand=rand)


DEFAULT_POLICY = BackoffPolicy(base_s=1.0, cap_s=60.0, jitter=0.1)
OORD_POLICY = BackoffPolicy(base_s=0.5, cap_s=60.0, jitter=0.1)
