"""Decide remediation actions for a health change (pure: no AWS, no clock).

Every action carries a ``once_key`` built from the incident and the state it answers, so a health
event delivered three times, or twenty validations of the same broken key, yield one action each.
An incident is identified by the time it opened (the first non-HEALTHY status).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from byok.health import HealthFlag
from byok.models import ClusterStatus, HealthStatus
from byok.reasons import ReasonCode
from byok.reasons import operator_only as reasons_for_operator
from byok.remediation.model import (
    Action,
    ActionKind,
    HealthChange,
    NoticeKind,
    Problem,
    RemediationContext,
)
from byok.times import parse_optional, to_wire

DEFAULT_REMINDER_DAYS: tuple[int, ...] = (7, 3, 1)


def incident_id(change: HealthChange, ctx: RemediationContext) -> str:
    """The incident's name in once-keys (``<opened at>:pause``): when it opened, as stored."""
    return incident_key(incident_start(change, ctx))


def incident_start(change: HealthChange, ctx: RemediationContext) -> datetime:
    return ctx.incident_opened_at or change.since


def incident_key(opened_at: datetime) -> str:
    """The wire text of an incident's start: once-keys stay the text they were (``to_wire`` of
    a stored time is that time's stored text)."""
    return to_wire(opened_at)


def is_current(change: HealthChange, stored: HealthFlag | None) -> bool:
    """May remediation act on ``change``? Only if it is at least as new as the stored flag.

    Why: EventBridge retries a failed delivery for up to hours and Lambda retries an async
    invocation, so an old KEY_UNUSABLE event can arrive after a newer HEALTHY one; acting on it
    would pause writes and alarm the customer about a key that works. The stored flag's
    ``changed_at`` is the ``checked_at`` of the last change (every change is published at least
    once, so skipping a superseded one loses nothing: the newer event acts). A flag stored before
    ``changed_at`` existed: the event is current if newer than the flag's validation or if it
    says what the flag says. No stored flag (never validated, or deregistered): nothing newer
    contradicts it.
    """
    if stored is None:
        return True
    at = change.checked_at
    if stored.changed_at is not None:
        return at >= stored.changed_at
    same = change.status is stored.status and set(change.reasons) == set(stored.reasons)
    return same or at >= stored.checked_at


def plan(change: HealthChange, ctx: RemediationContext) -> list[Action]:
    """Actions for one health change, in the order they should run."""
    incident = incident_id(change, ctx)
    status = change.status
    reasons = "+".join(sorted(change.reasons)) or "-"
    actions: list[Action] = []

    # a problem only the platform operator can fix (its own role's policy) is never the
    # customer's to hear about: the operator's metric and alarm report it
    operator_only = reasons_for_operator(change.reasons)

    def notify(kind: NoticeKind, key: str, why: str, **params: object) -> None:
        if operator_only:
            return
        actions.append(
            Action(ActionKind.NOTIFY, f"{incident}:notify:{key}", why, notice=kind, params=params)
        )

    terminal = (
        ctx.cluster_status == ClusterStatus.TERMINAL
        or ReasonCode.CLUSTER_INACCESSIBLE_TERMINAL in change.reasons
    )
    if terminal:
        # Terminal loss of the cluster: never start it again, only a restore from backup helps.
        notify(NoticeKind.CLUSTER_TERMINAL, "cluster_terminal", "cluster lost its key for good")

    if status is HealthStatus.KEY_UNUSABLE:
        if not ctx.writes_paused:
            actions.append(
                Action(ActionKind.PAUSE_WRITES, f"{incident}:pause", f"key unusable: {reasons}")
            )
        if ReasonCode.KEY_PENDING_DELETION in change.reasons:
            notify(NoticeKind.PENDING_DELETION, "pending_deletion", "key scheduled for deletion")
        else:
            notify(NoticeKind.KEY_UNUSABLE, f"KEY_UNUSABLE:{reasons}", f"key unusable: {reasons}")
    elif status is HealthStatus.AT_RISK:
        if ctx.writes_paused:
            actions.append(
                Action(
                    ActionKind.RESUME_WRITES,
                    f"{incident}:resume:AT_RISK",
                    "key usable again (still at risk)",
                )
            )
        notify(NoticeKind.AT_RISK, f"AT_RISK:{reasons}", f"at risk: {reasons}")
    elif status is HealthStatus.HEALTHY:
        if ctx.cluster_status == ClusterStatus.RECOVERABLE:
            actions.append(
                Action(
                    ActionKind.START_CLUSTER,
                    f"{incident}:start_cluster",
                    "key usable again; the cluster stopped when it lost the key",
                    params={"cluster_id": ctx.environment.cluster_id},
                )
            )
        if ctx.writes_paused:
            actions.append(Action(ActionKind.RESUME_WRITES, f"{incident}:resume", "key healthy"))
        if change.previous_status not in (None, HealthStatus.HEALTHY):
            notify(
                NoticeKind.RESOLVED,
                "resolved",
                "incident resolved",
                duration=_duration(incident_start(change, ctx), change.checked_at),
            )
    # UNKNOWN: the platform cannot tell; nothing is said to the customer and nothing is undone.
    return actions


def plan_reminders(
    change: HealthChange,
    ctx: RemediationContext,
    days: Iterable[int] = DEFAULT_REMINDER_DAYS,
) -> list[Action]:
    """The deletion reminder due now, if any (called from the sweep, time injected).

    Only the tightest threshold crossed is due, and only thresholds crossed after the incident
    opened: a key scheduled with a 7-day window gets the urgent notice, not also a "7 days" one.
    """
    if (
        change.status is not HealthStatus.KEY_UNUSABLE
        or ReasonCode.KEY_PENDING_DELETION not in change.reasons
    ):
        return []
    deletion = deletion_date(change)
    if deletion is None:
        return []
    incident = incident_id(change, ctx)
    remaining = deletion - ctx.now
    if remaining <= timedelta(0):
        return []
    window = deletion - incident_start(change, ctx)
    due = [
        d
        for d in sorted(set(days))
        if remaining <= timedelta(days=d) and window > timedelta(days=d)
    ]
    if not due:
        return []
    threshold = due[0]
    return [
        Action(
            ActionKind.NOTIFY,
            f"{incident}:reminder:{threshold}",
            f"deletion in under {threshold} day(s)",
            notice=NoticeKind.DELETION_REMINDER,
            params={"threshold_days": threshold},
        )
    ]


def deletion_date(change: HealthChange) -> datetime | None:
    return deletion_date_of(change.problem(ReasonCode.KEY_PENDING_DELETION))


def deletion_date_of(problem: Problem | None) -> datetime | None:
    if problem is None:
        return None
    return parse_optional(problem.evidence.get("deletion_date"))


def _duration(start: datetime, end: datetime) -> str:
    return "unknown" if end < start else format_duration(end - start)


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, secs = divmod(rem, 60)
    parts = [f"{days}d"] if days else []
    if hours or days:
        parts.append(f"{hours}h")
    parts.append(f"{minutes}m")
    if not days and not hours:
        parts.append(f"{secs}s")
    return " ".join(parts)
