"""Typed inputs and outputs of remediation planning (pure Python)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from byok.errors import EventError, InputError, quote
from byok.identifiers import validate_environment_id
from byok.models import Environment, HealthStatus
from byok.times import parse_optional_time, parse_time


class ActionKind(StrEnum):
    PAUSE_WRITES = "pause_writes"
    RESUME_WRITES = "resume_writes"
    START_CLUSTER = "start_cluster"
    NOTIFY = "notify"


class StepOutcome(StrEnum):
    """What came of one remediation step (``StepResult.result`` and the audit ``result``)."""

    DONE = "done"
    SKIPPED = "skipped"  # already done (its once-marker was claimed), or not due yet
    FAILED = "failed"  # definitive: audited, not retried
    RETRY = "retry"  # transient: the marker is given back and the Lambda retries (audit only)
    STALE = "stale"  # the whole event: older than the stored flag's last change, ignored


class NoticeKind(StrEnum):
    """What a notification is about; each kind has its own message template and severity."""

    KEY_UNUSABLE = "key_unusable"
    PENDING_DELETION = "pending_deletion"
    DELETION_REMINDER = "deletion_reminder"
    AT_RISK = "at_risk"
    RESOLVED = "resolved"
    CLUSTER_TERMINAL = "cluster_terminal"


SEVERITY: dict[NoticeKind, str] = {
    NoticeKind.KEY_UNUSABLE: "critical",
    NoticeKind.PENDING_DELETION: "critical",
    NoticeKind.DELETION_REMINDER: "critical",
    NoticeKind.CLUSTER_TERMINAL: "critical",
    NoticeKind.AT_RISK: "warning",
    NoticeKind.RESOLVED: "info",
}


@dataclass(frozen=True, slots=True)
class Problem:
    """One failing check as carried by the health-changed event (a CheckResult dict)."""

    reason: str
    purpose: str | None
    message: str
    fix: str | None
    error: str | None
    evidence: Mapping[str, Any]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Problem:
        evidence = d.get("evidence") or {}
        return cls(
            reason=str(d.get("reason") or ""),
            purpose=d.get("purpose"),
            message=str(d.get("message") or ""),
            fix=d.get("fix"),
            error=d.get("error"),
            evidence=evidence if isinstance(evidence, Mapping) else {},
        )


@dataclass(frozen=True, slots=True)
class HealthChange:
    """The ``detail`` of a "BYOK Environment Health Changed" event, validated."""

    environment_id: str
    previous_status: HealthStatus | None
    status: HealthStatus
    reasons: tuple[str, ...]
    fixes: tuple[str, ...]
    errors: tuple[str, ...]
    since: datetime
    checked_at: datetime
    problems: tuple[Problem, ...] = ()

    @classmethod
    def from_detail(cls, detail: object) -> HealthChange:
        if not isinstance(detail, Mapping):
            raise EventError("detail: expected an object")
        try:
            env_id = validate_environment_id(detail.get("environment_id"), "detail.environment_id")
        except InputError as exc:
            raise EventError(exc.message) from None
        status = _status(detail.get("status"), "detail.status")
        prev_raw = detail.get("previous_status")
        previous = None if prev_raw in (None, "") else _status(prev_raw, "detail.previous_status")
        times = {}
        for name in ("since", "checked_at"):
            value = detail.get(name)
            try:
                if not isinstance(value, str):
                    raise InputError(name)
                times[name] = parse_time(value, name)
            except InputError:
                raise EventError(f"detail.{name}: expected an ISO 8601 time string") from None
        details = detail.get("details") or []
        if not isinstance(details, list) or not all(isinstance(d, Mapping) for d in details):
            raise EventError("detail.details: expected a list of check objects")
        return cls(
            environment_id=env_id,
            previous_status=previous,
            status=status,
            reasons=_strings(detail.get("reasons"), "detail.reasons"),
            fixes=_strings(detail.get("fixes"), "detail.fixes"),
            errors=_strings(detail.get("errors"), "detail.errors"),
            since=times["since"],
            checked_at=times["checked_at"],
            problems=tuple(Problem.from_dict(d) for d in details if d.get("reason")),
        )

    def problem(self, reason: str) -> Problem | None:
        return next((p for p in self.problems if p.reason == reason), None)


def _status(value: object, field_name: str) -> HealthStatus:
    try:
        return HealthStatus(str(value))
    except ValueError:
        allowed = ", ".join(s.value for s in HealthStatus)
        raise EventError(f"{field_name}: expected one of {allowed}, got {quote(value)}") from None


def _strings(value: object, field_name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise EventError(f"{field_name}: expected a list of strings")
    return tuple(value)


@dataclass(frozen=True, slots=True)
class RemediationContext:
    """Facts read just before planning (never trusted from the event alone)."""

    environment: Environment
    now: datetime
    cluster_status: str | None = None
    writes_paused: bool = False
    #: when the open incident began (the first non-HEALTHY status), for "resolved after ..."
    incident_opened_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "now", parse_time(self.now, "now"))
        opened = parse_optional_time(self.incident_opened_at, "incident_opened_at")
        object.__setattr__(self, "incident_opened_at", opened)


@dataclass(frozen=True, slots=True)
class Action:
    """One idempotent step. ``once_key`` names it so the executor runs it at most once."""

    kind: ActionKind
    once_key: str
    why: str
    notice: NoticeKind | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
