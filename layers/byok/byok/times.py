"""The one time type and the one parser: aware UTC ``datetime`` inside, ISO 8601 on the wire.

Why one module: times arrive in every shape (CloudTrail ``...Z``, boto3 ``datetime`` objects,
epoch seconds in raw JSON, naive ISO text a person typed, DynamoDB strings written by older
code) and are compared across parts (a flag's ``checked_at`` against a stored one, an incident's
start against a deletion date). Parsing them in five places gave five slightly different rules;
here a naive time is always UTC (every byok time is), an unreadable one is an ``InputError``
naming the field (or ``None`` from ``parse_optional``, for best-effort evidence), and
``to_wire`` is the one way back to text. Pure Python.
"""

from __future__ import annotations

from datetime import UTC, datetime

from byok.errors import InputError

__all__ = ["now", "parse_display_date", "parse_optional", "parse_time", "to_wire", "wire_z"]

#: the display format CloudTrail writes some dates in (``deletionDate``, ``validTo``)
_DISPLAY_FORMATS = (
    "%b %d, %Y, %I:%M:%S %p",  # "May 21, 2025, 5:47:45 AM"
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y, %H:%M:%S %p",  # "Apr 12, 2021 18:58:30 PM": 24-hour clock with a redundant AM/PM
    "%b %d, %Y %H:%M:%S %p",
)


def parse_time(value: object, field_name: str = "time") -> datetime:
    """An aware UTC-comparable ``datetime`` from ISO 8601 text, a ``datetime`` or epoch seconds.

    A naive time is taken as UTC; bad input raises ``InputError`` naming ``field_name``.
    """
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(f"{field_name}: epoch seconds out of range, got {value!r}") from None
    try:
        parsed = datetime.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{field_name}: expected an ISO 8601 time, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_optional(value: object) -> datetime | None:
    """``parse_time`` for best-effort evidence: None for a missing or unreadable time."""
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except InputError:
        return None


def parse_display_date(value: object) -> datetime | None:
    """An ISO 8601 time or one in CloudTrail's display format (UTC), else None (best effort:
    validation reads the authoritative date from DescribeKey)."""
    found = parse_optional(value) if isinstance(value, str) else None
    if found is not None or not isinstance(value, str):
        return found
    for fmt in _DISPLAY_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def to_wire(moment: datetime) -> str:
    """ISO 8601 with its offset (``2026-11-25T04:00:00+00:00``), as Python writes it."""
    return parse_time(moment).isoformat()


def wire_z(moment: datetime, *, millis: bool = True) -> str:
    """Canonical UTC text with a ``Z`` (``2026-11-25T04:03:25Z``, ``...25.500Z``): the form
    CloudTrail and EventBridge use, so normalised events compare as text."""
    utc = parse_time(moment).astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond and millis:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def now() -> datetime:
    """The wall clock, aware and in UTC (inject a clock where tests need one)."""
    return datetime.now(UTC)
