"""Carry out remediation actions: each once, audited (who / what / why / result), safe to repeat.

Why a once-marker per action (``Store.claim_once``): EventBridge may deliver the same health event
more than once and the sweep repeats itself every few minutes; a claimed marker makes every
repeat a no-op. A step that fails transiently gives its marker back and raises, so the Lambda
retry (or the next sweep) runs it again; a definitive failure is audited and not retried.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from byok.errors import ByokError, InputError, NotFoundError, TransientError
from byok.health import HealthFlag
from byok.models import ClusterStatus, Environment, HealthStatus
from byok.notify import Notifier
from byok.remediation.incidents import incidents_from_audit, latest_incident_start
from byok.remediation.messages import render
from byok.remediation.model import (
    Action,
    ActionKind,
    HealthChange,
    RemediationContext,
    StepOutcome,
)
from byok.remediation.plan import (
    DEFAULT_REMINDER_DAYS,
    incident_key,
    is_current,
    plan,
    plan_reminders,
)
from byok.store import AuditEntry, Storage
from byok.store.records import EnvironmentState, RemediationRecord
from byok.times import to_wire

logger = logging.getLogger("byok.remediation")

WHO = "byok-guard/remediate"
EVENT_SOURCE = "byok.guard"
WRITES_PAUSED = "BYOK Writes Paused"
WRITES_RESUMED = "BYOK Writes Resumed"


@dataclass
class RemediationDeps:
    store: Storage
    notifier: Notifier
    events: Any  # EventBridge client
    rds_for: Callable[[str], Any]  # region -> RDS client (platform account)
    event_bus: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    _last_stamp: datetime | None = field(default=None, repr=False)

    def stamp(self) -> datetime:
        """Audit time: the clock, made strictly increasing so records keep the order of steps
        taken within one instant (an injected clock in tests, or a coarse one, repeats)."""
        now = self.clock()
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(microseconds=1)
        self._last_stamp = now
        return now

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RemediationDeps:
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            if not env.get(name):
                raise InputError(f"{name}: required environment variable is not set")
            return env[name]

        from byok.aws.errors import CLIENT_CONFIG
        from byok.aws.sessions import default_session
        from byok.store import Store

        session = default_session()
        return cls(
            store=Store(
                required("ENVIRONMENTS_TABLE"),
                required("AUDIT_TABLE"),
                client=session.client("dynamodb", config=CLIENT_CONFIG),
            ),
            notifier=Notifier(
                session.client("sns", config=CLIENT_CONFIG), required("NOTIFICATION_TOPIC_ARN")
            ),
            events=session.client("events", config=CLIENT_CONFIG),
            rds_for=lambda region: session.client("rds", region_name=region, config=CLIENT_CONFIG),
            event_bus=env.get("HEALTH_EVENT_BUS") or None,
            reminder_days=parse_reminder_days(env.get("REMINDER_DAYS", "")),
        )


def parse_reminder_days(raw: str) -> tuple[int, ...]:
    if not raw.strip():
        return DEFAULT_REMINDER_DAYS
    try:
        days = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}, reverse=True))
    except ValueError:
        raise InputError(
            f"REMINDER_DAYS: expected comma-separated whole days, got {raw!r}"
        ) from None
    if not days or any(d < 1 or d > 30 for d in days):
        raise InputError(f"REMINDER_DAYS: expected days between 1 and 30, got {raw!r}")
    return days


@dataclass(frozen=True, slots=True)
class StepResult:
    action: str
    once_key: str
    result: StepOutcome
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        return {
            "action": self.action,
            "once_key": self.once_key,
            "result": self.result.value,
            "detail": self.detail,
        }


def remediate(change: HealthChange, deps: RemediationDeps) -> list[StepResult]:
    """Handle one "BYOK Environment Health Changed" event, unless a newer change superseded it
    (one ``stale`` result, nothing done: ``plan.is_current``)."""
    stored = deps.store.get_flag(change.environment_id)
    if not is_current(change, stored):
        assert stored is not None
        detail = (
            f"{change.status.value} checked at {to_wire(change.checked_at)} is older than the "
            f"stored {stored.status.value} (changed at "
            f"{to_wire(stored.changed_at or stored.checked_at)})"
        )
        logger.info("stale health change ignored", extra={"detail": detail})
        key = f"{to_wire(change.checked_at)}:stale"
        return [StepResult("ignore", key, StepOutcome.STALE, detail)]
    ctx = _context(change, deps)
    return [_run(action, change, ctx, deps) for action in plan(change, ctx)]


def scheduled(deps: RemediationDeps, environment_ids: list[str] | None = None) -> list[StepResult]:
    """The scheduled share of remediation: the current flag's plan (a no-op unless its health
    event was never acted on), deletion reminders and following cluster starts.

    Only environments that need it are visited (``Storage.needing_attention``: a flag that is
    not HEALTHY, a recovery whose plan was not replayed yet, or a cluster start still
    followed), so the run's requests do not grow with the healthy ones; each visit is one state
    Query, one DescribeDBClusters and the audit records of the latest incident only
    (``_incident_records``), whatever the environment's history. A recovery leaves the index
    only once its plan ran here without an error (``end_recovery``), so a lost health event
    never loses the resume, the all-clear or the cluster start.
    """
    results: list[StepResult] = []
    ids = environment_ids if environment_ids is not None else deps.store.needing_attention()
    for env_id in ids:
        try:
            state = deps.store.load_environment_state(env_id)
        except NotFoundError:
            continue  # deregistered since it was listed
        if state.flag is None:
            continue
        env = state.environment
        change = change_from_flag(state.flag, _recovered_from(state))
        records = _incident_records(deps, env_id)
        ctx = RemediationContext(
            environment=env,
            now=deps.clock(),
            cluster_status=_cluster_status(env, deps),
            writes_paused=state.writes_paused,
            incident_opened_at=latest_incident_start(records),
        )
        # the current flag's own plan: every step is once-keyed like the health event's, so
        # this is a no-op when the event was acted on, and acts when its delivery was lost
        # (every flag change is acted on at least once: docs/health.md)
        for action in plan(change, ctx):
            results.append(_run(action, change, ctx, deps))
        for action in plan_reminders(change, ctx, deps.reminder_days):
            results.append(_run(action, change, ctx, deps))
        results.extend(_follow_cluster_start(env, ctx, deps, records, state.once_keys))
        if state.recovery is not None:  # replayed without an error (or superseded): done
            deps.store.end_recovery(env_id, state.recovery.checked_at)
    return results


def _recovered_from(state: EnvironmentState) -> HealthStatus | None:
    """The status a HEALTHY flag recovered from, while its recovery is pending (so the replayed
    plan includes the all-clear notice); None otherwise."""
    flag, recovery = state.flag, state.recovery
    if flag is None or recovery is None or flag.status is not HealthStatus.HEALTHY:
        return None
    if recovery.checked_at != (flag.changed_at or flag.checked_at):
        return None  # an older recovery, superseded by the flag's later changes
    return recovery.previous_status


#: audit records read per try by ``_incident_records`` (then four times more, then all)
_INCIDENT_READS = (20, 80, 320, None)


def _incident_records(deps: RemediationDeps, env_id: str) -> list[AuditEntry]:
    """The newest audit records back to the one that opened the latest incident (bounded by
    that incident's length, not by the environment's history)."""
    records: list[AuditEntry] = []
    for limit in _INCIDENT_READS:
        records = deps.store.list_audit(env_id, limit)
        if any(_opens_incident(r) for r in records) or limit is None or len(records) < limit:
            break
    return records


def _opens_incident(record: Mapping[str, Any]) -> bool:
    return (
        record.get("type") == "health_changed"
        and record.get("status") != "HEALTHY"
        and record.get("previous_status") in (None, "HEALTHY")
    )


def change_from_flag(flag: HealthFlag, previous_status: HealthStatus | None = None) -> HealthChange:
    """The health change a stored flag stands for (``previous_status``: what it changed from,
    when known)."""
    detail = {
        **flag.to_dict(),
        "previous_status": previous_status.value if previous_status else None,
    }
    return HealthChange.from_detail(detail)


def _context(
    change: HealthChange, deps: RemediationDeps, env: Environment | None = None
) -> RemediationContext:
    env = env or deps.store.get_environment(change.environment_id)
    return RemediationContext(
        environment=env,
        now=deps.clock(),
        cluster_status=_cluster_status(env, deps),
        writes_paused=deps.store.writes_paused(env.environment_id),
        incident_opened_at=latest_incident_start(deps.store.list_audit(env.environment_id)),
    )


def _cluster_status(env: Environment, deps: RemediationDeps) -> str | None:
    try:
        answer = deps.rds_for(env.region).describe_db_clusters(DBClusterIdentifier=env.cluster_id)
    except Exception as exc:
        from byok.aws.errors import classify

        fact = classify(exc, "DescribeDBClusters")
        if fact.transient:
            raise TransientError(f"describe cluster {env.cluster_id}: {fact.context}") from exc
        logger.warning("cluster status unavailable", extra={"error": fact.context})
        return None
    clusters = answer.get("DBClusters") or []
    return str(clusters[0].get("Status")) if clusters else None


def _run(
    action: Action, change: HealthChange, ctx: RemediationContext, deps: RemediationDeps
) -> StepResult:
    env_id = change.environment_id
    record = {"action": action.kind.value, "why": action.why, "who": WHO}
    follow = action.kind is ActionKind.START_CLUSTER  # the scheduled run follows it
    try:
        claimed = deps.store.claim_once(env_id, action.once_key, record, follow_up=follow)
    except ByokError as exc:
        if exc.retryable:  # the claim may have landed (answer lost): give it back for the retry
            with contextlib.suppress(ByokError):
                deps.store.release_once(env_id, action.once_key)
        raise
    if not claimed:
        return StepResult(action.kind.value, action.once_key, StepOutcome.SKIPPED, "already done")
    try:
        detail = _perform(action, change, ctx, deps)
    except TransientError as exc:
        deps.store.release_once(env_id, action.once_key)
        _audit(deps, env_id, action, StepOutcome.RETRY, exc.message)
        raise
    except ByokError as exc:
        _finish(deps, env_id, action, StepOutcome.FAILED, exc.message)
        return StepResult(action.kind.value, action.once_key, StepOutcome.FAILED, exc.message)
    _finish(deps, env_id, action, StepOutcome.DONE, detail)
    return StepResult(action.kind.value, action.once_key, StepOutcome.DONE, detail)


def _finish(
    deps: RemediationDeps, env_id: str, action: Action, result: StepOutcome, detail: str
) -> None:
    """Audit the step and complete its claim. The step has happened: even if the audit write
    fails (raised, so the invocation is retried) the claim is completed, so no retry and no
    scheduled run repeats the step (a second urgent notice); that one record is what is lost."""
    try:
        _audit(deps, env_id, action, result, detail)
    finally:
        deps.store.complete_once(env_id, action.once_key)


def _perform(
    action: Action, change: HealthChange, ctx: RemediationContext, deps: RemediationDeps
) -> str:
    env = ctx.environment
    now = ctx.now
    if action.kind is ActionKind.NOTIFY:
        assert action.notice is not None
        message_id = deps.notifier.publish(render(action.notice, change, ctx, action.params))
        return f"{action.notice.value} notification published ({message_id})"
    if action.kind in (ActionKind.PAUSE_WRITES, ActionKind.RESUME_WRITES):
        paused = action.kind is ActionKind.PAUSE_WRITES
        changed = _set_writes_paused(deps, env.environment_id, paused, action.why, now)
        if changed:
            _put_event(
                deps,
                WRITES_PAUSED if paused else WRITES_RESUMED,
                {
                    "environment_id": env.environment_id,
                    "writes_paused": paused,
                    "reason": action.why,
                    "status": change.status.value,
                    "at": to_wire(now),
                },
            )
        return f"writes_paused={paused}" + ("" if changed else " (already)")
    if action.kind is ActionKind.START_CLUSTER:
        return _start_cluster(env, deps)
    raise InputError(f"action: unknown remediation action {action.kind!r}")


def _set_writes_paused(
    deps: RemediationDeps, environment_id: str, paused: bool, why: str, at: datetime
) -> bool:
    """``set_writes_paused``; when its answer is lost (a transient error after DynamoDB may have
    applied it) the attribute is read back: already ``paused`` means the update landed, so the
    step is done and its event still goes out (a retry would plan no pause any more)."""
    try:
        return deps.store.set_writes_paused(environment_id, paused, why, at)
    except TransientError:
        try:
            landed = deps.store.writes_paused(environment_id) is paused
        except ByokError:
            landed = False
        if not landed:
            raise
        return True


def _start_cluster(env: Environment, deps: RemediationDeps) -> str:
    try:
        deps.rds_for(env.region).start_db_cluster(DBClusterIdentifier=env.cluster_id)
    except Exception as exc:
        from byok.aws.errors import classify

        fact = classify(exc, "StartDBCluster")
        if fact.transient:
            raise TransientError(f"start cluster {env.cluster_id}: {fact.context}") from exc
        raise ByokError(f"start cluster {env.cluster_id}: {fact.context}") from exc
    return f"StartDBCluster {env.cluster_id} requested; the sweep follows it until available"


def _follow_cluster_start(
    env: Environment,
    ctx: RemediationContext,
    deps: RemediationDeps,
    records: list[AuditEntry],
    once_keys: frozenset[str],
) -> list[StepResult]:
    """After a StartDBCluster, record (once) when the cluster is available again; then the
    environment leaves the attention index (``end_follow_up``)."""
    incidents = incidents_from_audit(records)
    if not incidents:
        return []
    incident = incident_key(incidents[-1].opened_at)
    started = f"{incident}:start_cluster"
    done = f"{incident}:cluster_available"
    if started not in once_keys:
        return []
    if ctx.cluster_status != ClusterStatus.AVAILABLE:
        return [
            StepResult("follow_cluster", done, StepOutcome.SKIPPED, f"cluster {ctx.cluster_status}")
        ]
    record = {"action": "follow_cluster", "why": "cluster start requested", "who": WHO}
    if not deps.store.claim_once(env.environment_id, done, record):
        deps.store.end_follow_up(env.environment_id, started)  # done earlier, never ended
        return []
    deps.store.complete_once(env.environment_id, done)
    deps.store.end_follow_up(env.environment_id, started)
    deps.store.append_audit(
        env.environment_id,
        RemediationRecord(
            action="cluster_available",
            result=StepOutcome.DONE,
            who=WHO,
            why="cluster start requested",
            detail=f"{env.cluster_id} available",
        ),
        at=deps.stamp(),
    )
    return [StepResult("follow_cluster", done, StepOutcome.DONE, f"{env.cluster_id} available")]


def _audit(
    deps: RemediationDeps, env_id: str, action: Action, result: StepOutcome, detail: str
) -> None:
    deps.store.append_audit(
        env_id,
        RemediationRecord(
            action=action.kind.value,
            result=result,
            who=WHO,
            why=action.why,
            detail=detail,
            notice=action.notice.value if action.notice else None,
            once_key=action.once_key,
        ),
        at=deps.stamp(),
    )


def _put_event(deps: RemediationDeps, detail_type: str, detail: Mapping[str, Any]) -> None:
    entry: dict[str, Any] = {
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": json.dumps(dict(detail), sort_keys=True),
        "Resources": [],
    }
    if deps.event_bus:
        entry["EventBusName"] = deps.event_bus
    from byok.aws.publisher import EventPublisher  # retries failed entries, classifies errors

    EventPublisher(deps.events, deps.event_bus).publish(entry)


def incident_report(store: Storage, environment_id: str, now: datetime | None = None) -> list[dict]:
    """Open and past incidents of an environment with durations (``byok env incidents``)."""
    try:
        records = store.list_audit(environment_id)
    except NotFoundError:
        records = []
    return [i.to_dict(now) for i in incidents_from_audit(records)]


from byok.permissions import Resource, declare  # noqa: E402  (declarations beside __all__)

#: the clusters it starts (in the platform account, by its own role); notices and writes-paused
#: events go through byok.notify and byok.aws.publisher
PERMISSIONS = declare(
    ("rds:DescribeDBClusters", "rds:StartDBCluster"), Resource.ENVIRONMENT_CLUSTER
)

__all__ = [
    "PERMISSIONS",
    "RemediationDeps",
    "StepResult",
    "change_from_flag",
    "incident_report",
    "parse_reminder_days",
    "remediate",
    "scheduled",
]
