"""Incidents rebuilt from the audit trail, on the in-memory store (no AWS, milliseconds)."""

from __future__ import annotations

from datetime import UTC, datetime

from byok.models import HealthStatus
from byok.remediation.executor import incident_report
from byok.remediation.incidents import incidents_from_audit, latest_incident_start
from byok.store import HealthChangedRecord, MemoryStore, RemediationRecord
from byok.times import parse_time

ENV = "acme-prod"


def _change(store: MemoryStore, at: str, status: HealthStatus, *reasons: str) -> None:
    store.append_audit(
        ENV, HealthChangedRecord(status=status, reasons=reasons, checked_at=at), at=at
    )


def test_incidents_open_close_and_collect_the_steps_taken() -> None:
    store = MemoryStore()
    _change(store, "2026-11-25T04:00:00Z", HealthStatus.KEY_UNUSABLE, "KEY_DISABLED")
    store.append_audit(
        ENV,
        RemediationRecord(action="pause_writes", result="done", who="w", why="key unusable"),
        at="2026-11-25T04:00:01Z",
    )
    _change(store, "2026-11-25T04:10:00Z", HealthStatus.AT_RISK, "POLICY_DENIES_PLATFORM")
    _change(store, "2026-11-25T04:30:00Z", HealthStatus.HEALTHY)
    _change(store, "2026-11-25T05:00:00Z", HealthStatus.AT_RISK, "KEY_MATERIAL_EXPIRING")

    found = incidents_from_audit(store.list_audit(ENV))  # newest first: order does not matter
    assert [(i.opened_at, i.closed_at) for i in found] == [
        (parse_time("2026-11-25T04:00:00Z"), parse_time("2026-11-25T04:30:00Z")),
        (parse_time("2026-11-25T05:00:00Z"), None),
    ]
    assert found[0].to_dict()["opened_at"] == "2026-11-25T04:00:00+00:00"  # wire: to_wire
    assert found[0].statuses == ["KEY_UNUSABLE", "AT_RISK"]
    assert found[0].reasons == ["KEY_DISABLED", "POLICY_DENIES_PLATFORM"]
    assert [a["action"] for a in found[0].actions] == ["pause_writes"]
    assert latest_incident_start(store.list_audit(ENV)) == parse_time("2026-11-25T05:00:00Z")

    report = incident_report(store, ENV, now=datetime(2026, 11, 25, 6, tzinfo=UTC))
    assert [(r["open"], r["duration"]) for r in report] == [(False, "30m 0s"), (True, "1h 0m")]
    assert incident_report(store, "quiet-env") == []
