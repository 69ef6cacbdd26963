"""What a run's resolver calls cost: the requests sent (retries included) and the last failure.

The resolver counts; the graph shows the counts in the job's progress while the run goes
on, and the pipeline puts them in the job's result (or its error's details) at the end,
so that retries are on the job's row and not only in the worker's log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ResolverAttempts:
    attempts: int = 0
    """Requests sent to the resolver, every retry included."""
    retries: int = 0
    last_error: str | None = None
    """Why the latest failed attempt failed (a retry, or the final failure)."""
    listeners: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def attempted(self) -> None:
        self.attempts += 1

    def failed(self, reason: str, *, retrying: bool) -> None:
        self.last_error = reason
        if retrying:
            self.retries += 1
            for listener in self.listeners:
                listener()

    def as_json(self) -> dict[str, Any]:
        """The fields a job's result and a failed run's error details carry."""
        return {"resolver_attempts": self.attempts, "resolver_retries": self.retries,
                "resolver_last_error": self.last_error}

    def summary(self) -> str:
        """For the progress line: empty until a call has been retried."""
        if not self.retries:
            return ""
        return (f"; {self.retries} resolver retr{'y' if self.retries == 1 else 'ies'} "
                f"in {self.attempts} requests, last: {self.last_error}")
