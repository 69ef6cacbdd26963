"""Celery's Redis result backend, without its read-before-write for a job's first outcome.

Celery's key-value backends read a task's stored result before storing a new one, so
that a duplicate delivery finishing late cannot overwrite a success. A persisted job
already has that guard in its row: its succeeded write is conditional (only an
unfinished row is written, store/job_writes.py), and only the delivery whose write
went through marks its request ``conveyor_first_outcome``. That delivery's result
is stored straight away: one round trip to Redis instead of two, on every job. Every
other result (a task without a row, a failure, a duplicate delivery) takes Celery's
own path, read included.
"""

from __future__ import annotations

from typing import Any

from celery import states
from celery.backends.redis import RedisBackend
from celery.exceptions import BackendStoreError
from kombu.utils.encoding import bytes_to_str

from workers.base_task import FIRST_OUTCOME


class PersistedRedisBackend(RedisBackend):  # type: ignore[misc]
    def _store_result(self, task_id: str, result: Any, state: str, traceback: Any = None,
                      request: Any = None, **kwargs: Any) -> Any:
        if state != states.SUCCESS or not getattr(request, FIRST_OUTCOME, False):
            return super()._store_result(task_id, result, state, traceback=traceback,
                                         request=request, **kwargs)
        meta = self._get_result_meta(result=result, state=state, traceback=traceback,
                                     request=request)
        meta["task_id"] = bytes_to_str(task_id)
        try:
            self._set_with_state(self.get_key_for_task(task_id), self.encode(meta), state)
        except BackendStoreError as exc:  # as Celery's own path reports it
            raise BackendStoreError(str(exc), state=state, task_id=task_id) from exc
        return result
