"""One error root for the whole package.

Every failure a user or a caller can see is a ``ByokError`` subclass carrying a stable ``code``
and whether retrying may help. The CLI and the Lambda handlers translate these into exit codes or
structured results in one place each, so no traceback ever reaches a user for bad input.
"""

from __future__ import annotations

import json

#: how much of a value an error message quotes
QUOTE_LIMIT = 80


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as JSON on one line (ASCII, so a full-width digit or a newline is visible),
    cut to ``limit`` characters: messages quote input, never dump it, never print a repr."""
    try:
        text = json.dumps(value, ensure_ascii=True, default=_unjsonable)
    except (ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unjsonable(value: object) -> str:
    return f"<{type(value).__name__}>"


class ByokError(Exception):
    """Root of every error byok-guard raises on purpose."""

    code: str = "BYOK_ERROR"
    retryable: bool = False
    #: exit code the CLI uses for this error
    exit_code: int = 1

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


class InputError(ByokError):
    """Bad input from a user or an event: which field, what was expected."""

    code = "INVALID_INPUT"
    exit_code = 2


class PolicyError(InputError):
    """A key policy that cannot be parsed; the message names the place (``Statement[2]...``)."""

    code = "INVALID_POLICY"


class EventError(InputError):
    """An incoming event of an unknown or malformed shape."""

    code = "INVALID_EVENT"


class ConflictError(ByokError):
    """A request that contradicts stored state (e.g. a key already used by another environment).

    ``stored``: the record that stood in the way, when the store returned it.
    """

    code = "CONFLICT"

    def __init__(self, message: str, *, code: str | None = None, stored: object = None) -> None:
        super().__init__(message, code=code)
        self.stored = stored


class RegistrationConflict(ConflictError):
    """A registration that would give one key, cluster, bucket or id to two environments:
    refused like bad input (exit 2, the field named), since the same request can never pass."""

    exit_code = 2


class NotFoundError(ByokError):
    code = "NOT_FOUND"


class TransientError(ByokError):
    """Throttling, 5xx, timeouts: retry later, never treat as evidence about a key."""

    code = "TRANSIENT"
    retryable = True


class StaleWriteError(ByokError):
    """A conditional write lost against a newer result; the newer result stands.

    ``stored``: the newer record (e.g. the ``HealthFlag``) the write lost against, when known.
    """

    code = "STALE_WRITE"

    def __init__(self, message: str, *, code: str | None = None, stored: object = None) -> None:
        super().__init__(message, code=code)
        self.stored = stored


class FlagMovedError(ByokError):
    """A flag write based on a flag that another validation replaced meanwhile (with an older
    result than this one): decide again against ``stored`` and write again.

    Why not stale: this result is newer and must stand, but a decision taken against the flag
    before could call a change "no change" (or the reverse) and leave a change unannounced."""

    code = "FLAG_MOVED"
    retryable = True

    def __init__(self, message: str, *, stored: object = None) -> None:
        super().__init__(message)
        self.stored = stored
