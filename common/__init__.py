"""Neutral helpers every layer may import (time format, error types, backoff).

Nothing here imports another package of ours: domain/, store/, workers/ and cli/
all stand on it, so it keeps the layers of docs/architecture.md one-way.
"""
