"""The one time parser: every shape byok-guard meets becomes an aware datetime, or a clear error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from byok.errors import InputError
from byok.times import (
    epoch_seconds,
    parse_display_date,
    parse_optional,
    parse_time,
    sort_key,
    stamp,
    to_wire,
    to_wire_optional,
    wire_z,
)

PACKAGE = Path(__file__).resolve().parents[2] / "layers" / "byok" / "byok"
T = datetime(2026, 11, 25, 4, 3, 25, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-25T04:03:25Z",
        "2026-11-25T04:03:25+00:00",
        "2026-11-25T05:03:25+01:00",
        "2026-11-25T04:03:25",  # naive: UTC
        datetime(2026, 11, 25, 4, 3, 25),  # naive datetime (boto3 never, hand-made maybe)
        T,
        T.timestamp(),  # epoch seconds (raw DescribeKey JSON)
    ],
)
def test_every_shape_parses_to_the_same_instant(value: object) -> None:
    parsed = parse_time(value)
    assert parsed == T and parsed.tzinfo is not None


@pytest.mark.parametrize("value", ["", "yesterday", None, [], True, "2026-13-01T00:00:00Z"])
def test_bad_times_name_the_field(value: object) -> None:
    with pytest.raises(InputError, match=r"^since: "):
        parse_time(value, "since")
    assert parse_optional(value) is None


def test_wire_forms() -> None:
    assert to_wire(T) == "2026-11-25T04:03:25+00:00"
    assert wire_z(T.astimezone(timezone(timedelta(hours=2)))) == "2026-11-25T04:03:25Z"
    assert wire_z(T + timedelta(microseconds=500_000)) == "2026-11-25T04:03:25.500Z"


def test_cloudtrail_display_dates() -> None:
    assert parse_display_date("May 21, 2025, 5:47:45 AM") == datetime(
        2025, 5, 21, 5, 47, 45, tzinfo=UTC
    )
    assert parse_display_date("Apr 12, 2021 18:58:30 PM") == datetime(
        2021, 4, 12, 18, 58, 30, tzinfo=UTC
    )
    assert parse_display_date("2026-11-25T04:03:25Z") == T
    assert parse_display_date("soon") is None and parse_display_date(7) is None


#: what only byok.times may do: parse time text, or write a time as text by hand
_TIME_TEXT = re.compile(
    r"fromisoformat|strptime|fromtimestamp|\.isoformat\(|strftime|\.replace\(\"\+00:00\""
)


def test_no_other_module_parses_or_formats_times() -> None:
    """``byok.times`` is the one parser and the one writer: everything else holds a ``datetime``
    and converts through it (``to_wire``, ``wire_z``, ``stamp``, ``sort_key``), so a time
    arriving in one shape and leaving in another is decided in one place. The policy engine's
    IAM date conditions parse through ``times.epoch_seconds`` too."""
    offenders = [
        name
        for path in PACKAGE.rglob("*.py")
        if (name := str(path.relative_to(PACKAGE))) != "times.py"
        and _TIME_TEXT.search(path.read_text())
    ]
    assert offenders == []


def test_the_scan_sees_hand_written_times() -> None:
    for text in ('x.isoformat()', 'datetime.fromisoformat(t)', 'now.strftime("%Y")',
                 't.isoformat().replace("+00:00", "Z")'):  # fmt: skip
        assert _TIME_TEXT.search(text), text


def test_epoch_seconds_and_the_stored_forms() -> None:
    assert epoch_seconds("2026-11-25T04:03:25Z") == T.timestamp()
    assert epoch_seconds("2026-11-25T04:03:25") == T.timestamp()  # naive: UTC
    assert epoch_seconds(T) == T.timestamp()
    assert epoch_seconds("soon") is None and epoch_seconds(7) is None
    assert to_wire(T.astimezone(timezone(timedelta(hours=2)))) == "2026-11-25T04:03:25+00:00"
    assert to_wire_optional(None) is None and to_wire_optional(T) == to_wire(T)
    assert stamp(T) == "2026-11-25T04:03:25.000000+00:00"
    assert sort_key("2026-11-25T05:03:25+01:00") == "2026-11-25T04:03:25.000000Z"
    assert sort_key(T) < sort_key(T + timedelta(microseconds=1))


@pytest.mark.parametrize("text", ["2026-11-25T04:03:25+00:00", "2026-11-25T04:03:25.123456+00:00"])
def test_a_stored_time_read_back_is_written_as_the_same_text(text: str) -> None:
    assert to_wire(parse_time(text)) == text
