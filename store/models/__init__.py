"""Every model, imported so that Base.metadata knows all tables."""

from store.models.base import Base
from store.models.exam import ExamSession  # noqa: F401  (registers the exam tables)
from store.models.jobs import Job
from store.models.oord import OordBatch as OordBatch  # and the other oord tables

__all__ = ["Base", "Job"]
