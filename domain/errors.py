"""Moved to common/errors.py (store/ may use it too); kept so existing imports work."""

from common.errors import ContractError, ConveyorError, JobSystemError, TransientError

__all__ = ["ContractError", "ConveyorError", "JobSystemError", "TransientError"]
