"""Incidents of an environment, rebuilt from its audit records (pure).

An incident opens when the health leaves HEALTHY (or a first flag is not HEALTHY) and closes when
it returns to HEALTHY. Deriving incidents from the audit trail, rather than storing them, keeps one
source of truth: the ``health_changed`` records ``byok.service`` writes on every change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from byok.models import HealthStatus
from byok.remediation.plan import format_duration
from byok.store.records import AuditKind
from byok.times import now as utc_now
from byok.times import parse_time, to_wire, to_wire_optional


@dataclass
class Incident:
    opened_at: datetime
    closed_at: datetime | None = None
    statuses: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def duration(self, now: datetime | None = None) -> str:
        end = self.closed_at or now or utc_now()
        return format_duration(end - self.opened_at)

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "opened_at": to_wire(self.opened_at),
            "closed_at": to_wire_optional(self.closed_at),
            "open": self.open,
            "duration": self.duration(now),
            "statuses": self.statuses,
            "reasons": self.reasons,
            "actions": self.actions,
        }


def incidents_from_audit(records: Iterable[Mapping[str, Any]]) -> list[Incident]:
    """Incidents, oldest first, from audit records in any order."""
    ordered = sorted(records, key=_order)
    incidents: list[Incident] = []
    current: Incident | None = None
    for record in ordered:
        kind = record.get("type")
        if kind == AuditKind.HEALTH_CHANGED:
            status = str(record.get("status"))
            at = parse_time(record.get("checked_at") or record.get("recorded_at"), "checked_at")
            if status == HealthStatus.HEALTHY:
                if current is not None:
                    current.closed_at = at
                    current = None
                continue
            if current is None:
                current = Incident(opened_at=at)
                incidents.append(current)
            current.statuses.append(status)
            for reason in record.get("reasons") or []:
                if reason not in current.reasons:
                    current.reasons.append(reason)
        elif kind == AuditKind.REMEDIATION and incidents:
            # steps taken on recovery come right after the closing record: same incident
            incidents[-1].actions.append(
                {k: record.get(k) for k in ("action", "result", "why", "recorded_at")}
            )
    return incidents


def _order(record: Mapping[str, Any]) -> tuple[str, int]:
    """Time order; at the same instant a health change precedes the steps it caused."""
    when = str(record.get("sk") or record.get("recorded_at") or "").split("#")[0]
    return when, 0 if record.get("type") == AuditKind.HEALTH_CHANGED else 1


def latest_incident_start(records: Iterable[Mapping[str, Any]]) -> datetime | None:
    """When the latest incident opened: the open one, or the one a HEALTHY change just closed."""
    found = incidents_from_audit(records)
    return found[-1].opened_at if found else None
