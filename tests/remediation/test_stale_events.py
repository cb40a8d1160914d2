"""Stale and duplicated health events: remediation acts only on a change at least as new as the
stored flag (``byok.remediation.plan.is_current``), whatever order EventBridge delivers in."""

from __future__ import annotations

from typing import Any

from byok.models import HealthStatus
from byok.remediation import HealthChange
from byok.remediation.executor import remediate
from byok.service import validate_environment
from byok.times import parse_time


def _change(rig) -> list[dict[str, Any]]:
    """Validate now and return the health-changed events it published (not yet delivered)."""
    validate_environment(rig.world.env.environment_id, None, rig.world.deps())
    return [
        e for e in rig.world.published() if e["detail-type"] == "BYOK Environment Health Changed"
    ]


def _deliver(rig, event: dict[str, Any]) -> list[str]:
    return [s.result for s in remediate(HealthChange.from_detail(event["detail"]), rig.deps)]


def _severities(rig) -> list[str]:
    return [n["MessageAttributes"]["severity"]["Value"] for n in rig.notifications()]


def test_an_old_key_unusable_event_after_a_newer_healthy_is_ignored(rig) -> None:
    """The async retry of an old KEY_UNUSABLE event (retries last up to hours) arrives after
    the newer HEALTHY one: writes stay on, no urgent notice, counted as stale."""
    world = rig.world
    (first,) = _change(rig)
    _deliver(rig, first)
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    (unusable,) = _change(rig)
    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    (healthy,) = _change(rig)
    assert unusable["detail"]["status"] == "KEY_UNUSABLE"
    assert healthy["detail"]["status"] == "HEALTHY"

    _deliver(rig, healthy)
    assert _deliver(rig, unusable) == ["stale"]
    assert _deliver(rig, unusable) == ["stale"]  # and every retry of it
    assert world.store.writes_paused(world.env.environment_id) is False
    assert "critical" not in _severities(rig)
    assert [r["action"] for r in rig.audit()] == ["notify"]  # only the "resolved" notice


def test_a_held_flag_keeps_its_change_current(rig) -> None:
    """Validations that change nothing (HOLD, same verdict) move the flag's checked_at, not its
    changed_at: the KEY_UNUSABLE event delivered after them still pauses writes."""
    world = rig.world
    _change(rig)
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    (unusable,) = _change(rig)
    for _ in range(3):
        world.clock.advance(minutes=1)
        assert _change(rig) == []
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.changed_at == parse_time(unusable["detail"]["checked_at"]) < flag.checked_at
    assert _deliver(rig, unusable) == ["done", "done"]
    assert world.store.writes_paused(world.env.environment_id) is True


def test_duplicates_and_reordering_leave_writes_as_the_newest_flag_says(rig) -> None:
    """Unusable, healthy, unusable again: each delivered three times, newest first. Only the
    newest acts; the older two are stale at every delivery."""
    world = rig.world
    _change(rig)
    events = []
    for disable in (True, False, True):
        call = world.customer_kms.disable_key if disable else world.customer_kms.enable_key
        call(KeyId=world.env.s3_key_arn)
        world.clock.advance(minutes=1)
        events += _change(rig)
    assert [e["detail"]["status"] for e in events] == ["KEY_UNUSABLE", "HEALTHY", "KEY_UNUSABLE"]
    results = [_deliver(rig, e) for e in reversed(events) for _ in range(3)]
    assert results[:3] == [["done", "done"], ["skipped"], ["skipped"]]
    assert all(r == ["stale"] for r in results[3:])
    assert world.store.writes_paused(world.env.environment_id) is True
    assert world.store.get_flag(world.env.environment_id).status is HealthStatus.KEY_UNUSABLE
    assert _severities(rig) == ["critical"]
