"""Remediation planning: which idempotent actions follow each health change (issue 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from remediation_data import (
    NOW,
    detail,
    disabled,
    pending_deletion,
)

from byok.errors import EventError
from byok.models import ClusterStatus
from byok.remediation import ActionKind, HealthChange, NoticeKind, RemediationContext, plan
from byok.remediation.plan import plan_reminders


def ctx(env, **kw) -> RemediationContext:
    return RemediationContext(environment=env, now=kw.pop("now", NOW), **kw)


def kinds(actions) -> list[tuple[str, str | None]]:
    return [(a.kind.value, a.notice.value if a.notice else None) for a in actions]


def test_to_key_unusable_pauses_writes_and_notifies(env) -> None:
    change = HealthChange.from_detail(detail("KEY_UNUSABLE", "HEALTHY", disabled()))
    assert kinds(plan(change, ctx(env))) == [("pause_writes", None), ("notify", "key_unusable")]


def test_already_paused_is_not_paused_again(env) -> None:
    change = HealthChange.from_detail(detail("KEY_UNUSABLE", "HEALTHY", disabled()))
    assert kinds(plan(change, ctx(env, writes_paused=True))) == [("notify", "key_unusable")]


def test_pending_deletion_is_urgent(env) -> None:
    change = HealthChange.from_detail(detail("KEY_UNUSABLE", "HEALTHY", pending_deletion()))
    assert (ActionKind.NOTIFY, NoticeKind.PENDING_DELETION) in [
        (a.kind, a.notice) for a in plan(change, ctx(env))
    ]


def test_healthy_after_recoverable_starts_cluster_and_resumes(env) -> None:
    change = HealthChange.from_detail(detail("HEALTHY", "KEY_UNUSABLE"))
    actions = plan(
        change,
        ctx(
            env,
            cluster_status=ClusterStatus.RECOVERABLE,
            writes_paused=True,
            incident_opened_at="2026-11-25T11:00:00+00:00",
        ),
    )
    assert kinds(actions) == [
        ("start_cluster", None),
        ("resume_writes", None),
        ("notify", "resolved"),
    ]
    assert actions[0].params["cluster_id"] == "byok-demo-aurora"
    assert actions[2].params["duration"] == "1h 0m"


def test_terminal_cluster_is_never_started(env) -> None:
    change = HealthChange.from_detail(detail("HEALTHY", "KEY_UNUSABLE"))
    actions = plan(change, ctx(env, cluster_status=ClusterStatus.TERMINAL))
    assert ActionKind.START_CLUSTER not in [a.kind for a in actions]
    assert ("notify", "cluster_terminal") in kinds(actions)


def test_unknown_does_nothing(env) -> None:
    change = HealthChange.from_detail(detail("UNKNOWN", "HEALTHY"))
    assert plan(change, ctx(env, writes_paused=False)) == []


def test_repeated_change_yields_the_same_once_keys(env) -> None:
    """Idempotency rests on once-keys: the same incident state always maps to the same keys."""
    change = HealthChange.from_detail(detail("KEY_UNUSABLE", "HEALTHY", disabled()))
    first = [a.once_key for a in plan(change, ctx(env))]
    again = [a.once_key for a in plan(change, ctx(env))]
    assert first == again and len(set(first)) == len(first)


@pytest.mark.parametrize(
    ("days_left", "expected"),
    [(10, None), (7, 7), (6.5, 7), (3, 3), (2, 3), (1, 1), (0.5, 1), (-1, None)],
)
def test_deletion_reminders_at_7_3_1_days(env, days_left: float, expected: int | None) -> None:
    deletion = NOW + timedelta(days=days_left)
    change = HealthChange.from_detail(
        detail(
            "KEY_UNUSABLE",
            "HEALTHY",
            pending_deletion(deletion=deletion.isoformat()),
            since=(NOW - timedelta(days=30 - days_left)).isoformat(),
        )
    )
    due = plan_reminders(change, ctx(env, incident_opened_at=change.since))
    assert [a.params["threshold_days"] for a in due] == ([expected] if expected else [])


def test_no_reminder_for_a_threshold_already_inside_the_window(env) -> None:
    """A 7-day window gets the urgent notice at scheduling, not also a '7 days left' reminder."""
    opened = NOW - timedelta(hours=1)
    deletion = opened + timedelta(days=7)
    change = HealthChange.from_detail(
        detail(
            "KEY_UNUSABLE",
            "HEALTHY",
            pending_deletion(deletion=deletion.isoformat()),
            since=opened.isoformat(),
        )
    )
    assert plan_reminders(change, ctx(env, incident_opened_at=change.since)) == []
    later = ctx(env, now=deletion - timedelta(days=2), incident_opened_at=change.since)
    assert [a.params["threshold_days"] for a in plan_reminders(change, later)] == [3]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"status": "HEALTHY"}, "detail.environment_id"),
        ({**detail("HEALTHY", None), "status": "GREEN"}, "detail.status: expected one of"),
        ({**detail("HEALTHY", None), "since": 5}, "detail.since"),
        ({**detail("HEALTHY", None), "details": "x"}, "detail.details"),
    ],
)
def test_bad_detail_is_a_clear_event_error(bad: dict, message: str) -> None:
    with pytest.raises(EventError, match=message):
        HealthChange.from_detail(bad)
