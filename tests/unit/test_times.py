"""The one time parser: every shape byok-guard meets becomes an aware datetime, or a clear error."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from byok.errors import InputError
from byok.times import parse_display_date, parse_optional, parse_time, to_wire, wire_z

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


def test_no_other_module_parses_times() -> None:
    """``byok.times`` is the one parser (the policy engine's IAM date conditions aside: they
    follow IAM's own rules)."""
    allowed = {"times.py", "policy/conditions.py", "contract/candidates.py"}
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if str(path.relative_to(PACKAGE)) not in allowed
        and re.search(r"fromisoformat|strptime|fromtimestamp", path.read_text())
    ]
    assert offenders == []
