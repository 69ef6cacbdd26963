"""The queues and the routing of tasks to them, by task module."""

from __future__ import annotations

from typing import Any

ENVIRONMENTS = "environments"
SWEEPS = "sweeps"
PIPELINES = "pipelines"
OORD = "oord"
DEFAULT = "default"

QUEUES: tuple[str, ...] = (ENVIRONMENTS, SWEEPS, PIPELINES, OORD, DEFAULT)

# Task names are "tasks.<module>.<function>"; the module decides the queue.
_QUEUE_BY_TASK_MODULE: dict[str, str] = {
    "tasks.environments": ENVIRONMENTS,
    "tasks.sweeps": SWEEPS,
    "tasks.pipelines": PIPELINES,
    "tasks.oord": OORD,
}

# Task modules every worker imports. Contract issues add theirs here.
TASK_MODULES: tuple[str, ...] = (
    "tasks.probe",
    "tasks.sweeps",
    "tasks.environments",
    "tasks.oord",
    "tasks.pipelines",
)


def queue_for(task_name: str) -> str:
    """The queue a task goes to unless the caller names one explicitly."""
    module = task_name.rpartition(".")[0]
    return _QUEUE_BY_TASK_MODULE.get(module, DEFAULT)


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None,
               **kw: Any) -> dict[str, str]:
    """Celery router: send each task to the queue of its module."""
    return {"queue": queue_for(name)}
