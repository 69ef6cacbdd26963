"""Pure logic, one package per system. No click and no Celery here."""
