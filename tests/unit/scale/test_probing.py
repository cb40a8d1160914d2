"""Adaptive probing: which validations run the S3 canary and the rotation read (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from validation_facts import AURORA_KEY, DENIED, NOW, S3_KEY, metadata

from byok.errors import InputError
from byok.health import HealthFlag
from byok.models import HealthStatus, Purpose, Trigger, TriggerKind
from byok.probing import (
    ProbeReason,
    ProbeSettings,
    key_fingerprint,
    needs_full,
    needs_full_after_metadata,
)

META = {Purpose.S3: metadata(S3_KEY), Purpose.AURORA: metadata(AURORA_KEY)}
PRINT = key_fingerprint(META)
SETTINGS = ProbeSettings()


def trigger(kind: TriggerKind) -> Trigger:
    return Trigger(
        kind=kind,
        key_arn=S3_KEY if kind is not TriggerKind.SCHEDULE else None,
        account=None,
        region=None,
        event_name="x",
        event_time=NOW.isoformat(),
        event_id="e-1",
    )


def flag(
    status: HealthStatus = HealthStatus.HEALTHY, probed_minutes_ago: int | None = 10
) -> HealthFlag:
    probed = None if probed_minutes_ago is None else (NOW - timedelta(minutes=probed_minutes_ago))
    return HealthFlag(
        environment_id="acme",
        status=status,
        since=NOW.isoformat(),
        checked_at=NOW.isoformat(),
        probed_at=probed.isoformat() if probed else None,
        key_fingerprint=PRINT,
    )


SWEEP = trigger(TriggerKind.SCHEDULE)


@pytest.mark.parametrize("kind", [k for k in TriggerKind if k is not TriggerKind.SCHEDULE])
def test_every_event_runs_everything_at_once(kind: TriggerKind) -> None:
    assert needs_full(trigger(kind), flag(), NOW, SETTINGS) is ProbeReason.TRIGGER


def test_a_healthy_recently_probed_environment_waits_for_its_metadata() -> None:
    assert needs_full(SWEEP, flag(), NOW, SETTINGS) is None
    assert needs_full_after_metadata(flag(), META) is ProbeReason.LIGHT


@pytest.mark.parametrize(
    ("previous", "reason"),
    [
        (None, ProbeReason.NO_FLAG),
        (flag(HealthStatus.AT_RISK), ProbeReason.NOT_HEALTHY),
        (flag(HealthStatus.KEY_UNUSABLE), ProbeReason.NOT_HEALTHY),
        (flag(HealthStatus.UNKNOWN), ProbeReason.NOT_HEALTHY),
        (flag(probed_minutes_ago=None), ProbeReason.NEVER_PROBED),
        (flag(probed_minutes_ago=60), ProbeReason.MAX_AGE),
        (flag(probed_minutes_ago=61), ProbeReason.MAX_AGE),
    ],
)
def test_what_calls_for_the_canary_on_a_sweep(
    previous: HealthFlag | None, reason: ProbeReason
) -> None:
    assert needs_full(SWEEP, previous, NOW, SETTINGS) is reason


def test_max_age_zero_probes_on_every_validation() -> None:
    assert (
        needs_full(SWEEP, flag(), NOW, ProbeSettings(max_age=timedelta(0))) is ProbeReason.TRIGGER
    )


def test_a_metadata_change_or_an_unreadable_key_runs_the_rest() -> None:
    disabled = {**META, Purpose.S3: metadata(S3_KEY, key_state="Disabled")}
    assert needs_full_after_metadata(flag(), disabled) is ProbeReason.METADATA_CHANGED
    assert needs_full_after_metadata(flag(), {**META, Purpose.AURORA: DENIED}) is (
        ProbeReason.METADATA_UNREADABLE
    )
    assert needs_full_after_metadata(replace(flag(), key_fingerprint="other"), META) is (
        ProbeReason.METADATA_CHANGED
    )


def test_fingerprint_is_stable_and_sees_every_field_that_matters() -> None:
    assert key_fingerprint(META) == key_fingerprint(dict(META))
    for change in (
        {"key_state": "PendingDeletion"},
        {"deletion_date": NOW},
        {"valid_to": NOW},
        {"key_manager": "AWS"},
        {"origin": "EXTERNAL"},
    ):
        moved = {**META, Purpose.AURORA: metadata(AURORA_KEY, **change)}
        assert key_fingerprint(moved) != PRINT, change
    assert key_fingerprint({Purpose.S3: META[Purpose.S3]}) is None


@pytest.mark.parametrize("raw", ["-1", "x", "1.5", "100000"])
def test_bad_max_age_names_the_variable(raw: str) -> None:
    with pytest.raises(InputError, match="CANARY_MAX_AGE_MINUTES"):
        ProbeSettings.from_env({"CANARY_MAX_AGE_MINUTES": raw})


def test_max_age_from_the_environment() -> None:
    assert ProbeSettings.from_env({}).max_age == timedelta(hours=1)
    assert ProbeSettings.from_env({"CANARY_MAX_AGE_MINUTES": "15"}).max_age == timedelta(minutes=15)
