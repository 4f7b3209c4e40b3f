"""The one error tree of fanzha.

Every error is a :class:`FanzhaError` and also inherits the matching built-in, so callers can catch
either. A message says what was wrong, the value received, and what to do.
Nothing below the API layer raises HTTP errors; the API maps these classes to status codes.
"""

from __future__ import annotations


class FanzhaError(Exception):
    """Base class of every error fanzha raises on purpose."""


class ValidationError(FanzhaError, ValueError):
    """A value or record does not satisfy its data contract."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class InputFileError(FanzhaError, OSError):
    """An input file cannot be read as asked (missing, unreadable, wrong encoding, wrong columns)."""


class ConfigError(FanzhaError, ValueError):
    """A setting or parameter has an unusable value."""


class NotFoundError(FanzhaError, LookupError):
    """A named thing (table, model, command, case …) does not exist."""


class StateError(FanzhaError, RuntimeError):
    """An operation is illegal in the current state (e.g. an illegal state-machine transition)."""


class ConflictError(FanzhaError, RuntimeError):
    """A write conflicts with what is already stored (e.g. a duplicate id with other content)."""


class AccessDenied(FanzhaError, PermissionError):
    """The actor's role does not allow this operation."""


class EngineError(FanzhaError, RuntimeError):
    """The batch SQL engine failed to run a query."""


class StoreUnavailable(FanzhaError, RuntimeError):
    """The operational store cannot be reached, or the connection broke during a transaction."""


class ModelError(FanzhaError, ValueError):
    """A model cannot be trained, loaded or applied to the data given."""
