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

__all__ = [
    "epoch_seconds",
    "millis",
    "now",
    "parse_display_date",
    "parse_optional",
    "parse_optional_time",
    "parse_time",
    "sort_key",
    "stamp",
    "to_wire",
    "to_wire_optional",
    "wire_z",
]

#: the display format CloudTrail writes some dates in (``deletionDate``, ``validTo``)
_DISPLAY_FORMATS = (
    "%b %d, %Y, %I:%M:%S %p",  # "May 21, 2025, 5:47:45 AM"
    "%b %d, %Y %I:%M:%S %p",
    "%b %d, %Y, %H:%M:%S %p",  # "Apr 12, 2021 18:58:30 PM": 24-hour clock with a redundant AM/PM
    "%b %d, %Y %H:%M:%S %p",
)


def parse_time(value: object, field_name: str = "time") -> datetime:
    """An aware ``datetime`` in UTC from ISO 8601 text, a ``datetime`` or epoch seconds.

    A naive time is taken as UTC; bad input raises ``InputError`` naming ``field_name``.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(f"{field_name}: epoch seconds out of range, got {value!r}") from None
    else:
        try:
            parsed = datetime.fromisoformat(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(f"{field_name}: expected an ISO 8601 time, got {value!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise InputError(f"{field_name}: time out of range, got {value!r}") from None


def parse_optional_time(value: object, field_name: str) -> datetime | None:
    """``parse_time`` where a time may be absent (None): a present but bad one is still an
    ``InputError`` naming the field (unlike ``parse_optional``, which is for evidence)."""
    return None if value is None else parse_time(value, field_name)


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


def epoch_seconds(value: object) -> float | None:
    """Epoch seconds of an ISO 8601 text (naive = UTC) or a ``datetime``; None for anything else
    or a time out of range (an IAM date condition on an unreadable date never matches)."""
    moment = parse_optional(value) if isinstance(value, str | datetime) else None
    if moment is None:
        return None
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError):
        return None


def to_wire(moment: datetime) -> str:
    """ISO 8601 in UTC with its offset (``2026-11-25T04:00:00+00:00``, microseconds when there
    are any), as Python writes it: the form of every time byok-guard stores or sends
    (``checked_at``, ``since``, incident times), so a stored time read back and written again is
    the same text."""
    return parse_time(moment).isoformat()


def to_wire_optional(moment: datetime | None) -> str | None:
    """``to_wire``, with None for "no time" (a flag with no transient failure)."""
    return None if moment is None else to_wire(moment)


def stamp(moment: datetime | None = None) -> str:
    """A bookkeeping time (``registered_at``, ``claimed_at``, ``recorded_at``): ``to_wire`` with
    microseconds always written, so stamps of one store compare as text; ``moment`` defaults to
    the wall clock."""
    return parse_time(moment or now()).isoformat(timespec="microseconds")


def sort_key(moment: object) -> str:
    """Fixed-width UTC text (``2026-11-25T04:00:00.000000Z``) whose text order is time order,
    whatever the offset or precision a time arrived in: for keys and conditional writes."""
    return parse_time(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wire_z(moment: datetime, *, millis: bool = True) -> str:
    """Canonical UTC text with a ``Z`` (``2026-11-25T04:03:25Z``, ``...25.500Z``): the form
    CloudTrail and EventBridge use, so normalised events compare as text."""
    utc = parse_time(moment)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond and millis:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def millis(moment: datetime) -> datetime:
    """``moment`` cut to whole milliseconds: what survives ``wire_z``, so a time sent in an
    event and read back compares equal to the one kept (the sweep's marker and its messages)."""
    utc = parse_time(moment)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def now() -> datetime:
    """The wall clock, aware and in UTC (inject a clock where tests need one)."""
    return datetime.now(UTC)
