"""Small validated readers shared by the event normalisers.

Every helper raises ``EventError`` whose message starts with the dotted path of the offending
field (``detail.eventTime: ...``), so a malformed event is diagnosed from one line of log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from byok.errors import EventError, InputError, quote
from byok.identifiers import (
    KeyArn,
    partition_for,
    validate_account_id,
    validate_cluster_id,
    validate_environment_id,
    validate_region,
)
from byok.identifiers import is_key_id as is_key_id
from byok.times import parse_display_date, parse_time, wire_z

_TYPE_WORDS = {
    "string_type": "expected a string",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "list_type": "expected a list",
    "bool_type": "expected true or false",
    "extra_forbidden": "not an accepted field",
    "string_too_long": "too long",
    "string_pattern_mismatch": "contains characters that are not accepted",
    "too_long": "too many entries",
    "too_short": "must not be empty",
}


def short(value: object, limit: int = 80) -> str:
    """``value`` as one line of JSON cut to ``limit`` characters (``byok.errors.quote``)."""
    return quote(value, limit)


def join_path(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path or "event"


def from_validation_error(exc: ValidationError, prefix: str) -> EventError:
    """Turn pydantic's report into one ``EventError`` naming the first bad field."""
    err = exc.errors(include_url=False)[0]
    path = join_path(prefix, tuple(err.get("loc", ())))
    kind = err.get("type", "")
    if kind == "missing":
        return EventError(f"{path}: required")
    if kind == "string_too_short":
        return EventError(f"{path}: must not be empty")
    if kind == "literal_error":
        expected = str(err.get("ctx", {}).get("expected", "")).replace("'", '"')
        return EventError(f"{path}: expected {expected}, got {short(err.get('input'))}")
    what = _TYPE_WORDS.get(kind, str(err.get("msg", "invalid value")).lower())
    return EventError(f"{path}: {what}, got {short(err.get('input'))}")


def as_event_error(exc: InputError) -> EventError:
    """Identifier validators raise ``InputError``; at the event boundary it is an ``EventError``."""
    return exc if isinstance(exc, EventError) else EventError(exc.message)


def timestamp(value: object, field: str) -> str:
    """An ISO 8601 time, returned in canonical UTC form (``2026-11-25T04:03:25Z``)."""
    if not isinstance(value, str):
        raise EventError(f"{field}: expected an ISO 8601 timestamp, got {short(value)}")
    try:
        return wire_z(parse_time(value, field))  # a naive time is UTC, as CloudTrail's are
    except (InputError, ValueError, OverflowError):
        raise EventError(f"{field}: expected an ISO 8601 timestamp, got {short(value)}") from None


def key_arn(value: object, field: str) -> KeyArn:
    try:
        return KeyArn.parse(value, field)
    except InputError as exc:
        raise as_event_error(exc) from None


def is_key_arn(value: object) -> bool:
    try:
        KeyArn.parse(value)
    except InputError:
        return False
    return True


def looks_like_key_arn(value: object) -> bool:
    """True for ``arn:*:kms:*:*:key/...`` (valid or not): such an entry must then be valid."""
    if not isinstance(value, str):
        return False
    parts = value.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "kms" and parts[5][:4] == "key/"


def build_key_arn(key_id: str, account: object, region: object, fields: tuple[str, str]) -> KeyArn:
    """The ARN of a key named by bare id: a bare id always means a key in the caller's account."""
    acct = account_id(account, fields[0])
    reg = region_name(region, fields[1])
    return KeyArn(partition_for(reg), reg, acct, key_id)


def _as_event(validate: Callable[[object, str], str], value: object, field: str) -> str:
    """An identifier validated by ``byok.identifiers``, its refusal re-raised as an event error
    (same message: the field and what was expected)."""
    try:
        return validate(value, field)
    except InputError as exc:
        raise as_event_error(exc) from None


def account_id(value: object, field: str) -> str:
    return _as_event(validate_account_id, value, field)


def region_name(value: object, field: str) -> str:
    return _as_event(validate_region, value, field)


def cluster_id(value: object, field: str) -> str:
    return _as_event(validate_cluster_id, value, field)


def environment_id(value: object, field: str) -> str:
    return _as_event(validate_environment_id, value, field)


def pick(mapping: dict[str, Any] | None, *names: str) -> dict[str, Any]:
    """The named entries present in ``mapping`` (evidence copied verbatim from a record)."""
    if not mapping:
        return {}
    return {name: mapping[name] for name in names if name in mapping}


def cloudtrail_date(value: object) -> str | None:
    """CloudTrail writes some dates (``deletionDate``, ``validTo``) in a display format, not ISO
    8601; return the canonical UTC form when the text is recognisable, else None (best effort:
    validation reads the authoritative date from DescribeKey)."""
    parsed = parse_display_date(value)
    return wire_z(parsed) if parsed is not None else None
