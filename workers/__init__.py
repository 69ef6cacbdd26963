"""Worker machinery: the persisted base task, backoff, hooks, the embedded worker, the stack."""
