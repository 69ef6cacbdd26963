"""Command lines: one module per contract CLI, plus `conveyor` for operations."""
