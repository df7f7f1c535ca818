"""The few exceptions the safety package raises; the service maps them to HTTP once."""

from __future__ import annotations

__all__ = ["PolicyError", "SafetyError", "ScreeningInputError"]


class SafetyError(Exception):
    """Base class for errors raised by the safety package."""


class PolicyError(SafetyError):
    """A policy file is missing, unreadable or invalid. The message says where and why."""

    def __init__(self, reason: str, *, path: str | None = None):
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path and not reason.startswith(str(path)) else reason)


class ScreeningInputError(SafetyError, ValueError):
    """The prompt, image or frames handed to a screener cannot be screened (bad type, size, ...)."""
