"""Property: however EventBridge orders, duplicates or retries health events, remediation acts
on the newest change only, so writes end as the stored flag says (pure: ``plan`` and
``is_current``; the same rule on moto: tests/remediation/test_stale_events.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from remediation_data import NOW, detail, disabled, make_env
from soak import examples

from byok.health import HealthFlag
from byok.models import HealthStatus
from byok.remediation import ActionKind, HealthChange, RemediationContext, plan
from byok.remediation.plan import is_current

STATUSES = (HealthStatus.HEALTHY, HealthStatus.KEY_UNUSABLE, HealthStatus.AT_RISK)


def _change(status: HealthStatus, previous: HealthStatus | None, minute: int) -> HealthChange:
    at = (NOW + timedelta(minutes=minute)).isoformat()
    problems = [disabled()] if status is HealthStatus.KEY_UNUSABLE else []
    if status is HealthStatus.AT_RISK:
        problems = [{**disabled(), "reason": "KEY_SHARED", "status": "fail"}]
    prev = previous.value if previous else None
    return HealthChange.from_detail(detail(status.value, prev, *problems, since=at, checked_at=at))


@st.composite
def histories(draw):
    """A flag's changes (each status differs from the one before) and a delivery schedule:
    any order, each event any number of times (0 = its delivery is still being retried)."""
    statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=6))
    changes: list[HealthChange] = []
    previous = None
    minute = 0
    for status in statuses:
        if status is previous:
            continue
        minute += draw(st.integers(1, 30))
        changes.append(_change(status, previous, minute))
        previous = status
    copies = draw(st.lists(st.integers(0, 3), min_size=len(changes), max_size=len(changes)))
    copies[-1] = max(copies[-1], 1)  # every change is published at least once (the invariant)
    schedule = [i for i, n in enumerate(copies) for _ in range(n)]
    order = draw(st.permutations(schedule))
    held = draw(st.integers(0, 20))  # later validations that changed nothing
    return changes, order, held


@pytest.mark.property
@settings(max_examples=examples(500, 10000), deadline=None)
@given(histories())
def test_only_the_newest_change_acts_and_writes_end_as_the_flag_says(history) -> None:
    changes, order, held = history
    newest = changes[-1]
    stored = HealthFlag(
        environment_id=newest.environment_id,
        status=newest.status,
        reasons=newest.reasons,
        since=newest.since,
        checked_at=(NOW + timedelta(days=1, minutes=held)).isoformat(),
        changed_at=newest.checked_at,
    )
    env = make_env()
    paused = False
    for index in order:
        change = changes[index]
        acts = is_current(change, stored)
        assert acts is (change is newest)
        if not acts:
            continue
        ctx = RemediationContext(environment=env, now=NOW, writes_paused=paused)
        for action in plan(change, ctx):
            if action.kind is ActionKind.PAUSE_WRITES:
                paused = True
            elif action.kind is ActionKind.RESUME_WRITES:
                paused = False
    assert paused is (stored.status is HealthStatus.KEY_UNUSABLE)


def test_a_flag_from_before_changed_at_compares_content_and_time() -> None:
    old = _change(HealthStatus.KEY_UNUSABLE, HealthStatus.HEALTHY, 1)
    legacy = HealthFlag(
        environment_id=old.environment_id,
        status=HealthStatus.HEALTHY,
        since=(NOW + timedelta(minutes=5)).isoformat(),
        checked_at=(NOW + timedelta(minutes=5)).isoformat(),
    )
    assert not is_current(old, legacy)
    same = HealthFlag(
        environment_id=old.environment_id,
        status=old.status,
        reasons=old.reasons,
        since=old.since,
        checked_at=(NOW + timedelta(minutes=9)).isoformat(),
    )
    assert is_current(old, same)
    assert is_current(old, None)
