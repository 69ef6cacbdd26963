"""Celery tasks, one module per queue: thin wrappers that decode arguments and call the domain."""
