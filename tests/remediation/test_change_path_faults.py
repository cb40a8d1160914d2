"""The invariant of docs/health.md: every flag change is published at least once and acted on
at least once, whichever step of the change path fails, however it fails.

Each case disables the S3 key and fails ONE step once: the flag read, the change transaction
(flag + audit + outbox), ``put_events`` (or one of its entries), the outbox's published mark,
remediation's step claim, its writes-paused update, its audit record, its notification; with
throttling, a 5xx, a timeout before the request was processed, or a timeout after it (the
answer lost). Clients do not retry (``total_max_attempts`` 1), so the failure reaches byok-guard
itself; a retryable ``ByokError`` is retried the way Lambda / SQS would (another invocation),
anything else fails the test. After the faults: the flag is KEY_UNUSABLE, its event went out and
nothing is left pending, writes are paused, the customer got the urgent notice, and the change
is audited exactly once.

A second set lets botocore retry (2 attempts) a conditional write whose first answer was lost,
so the retry meets the write's own effect: that must count as success, not as "already done" or
"a newer result stands".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest
from botocore.config import Config
from byok_world import AUDIT_TABLE, ENVIRONMENTS_TABLE, HEALTH_BUS

from byok.aws.publisher import EventPublisher
from byok.errors import ByokError
from byok.models import HealthStatus
from byok.notify import Notifier
from byok.remediation import HealthChange
from byok.remediation.executor import remediate
from byok.service import validate_environment
from byok.store import AuditKind, DynamoDBStore
from byok_emulator import faults

T = TypeVar("T")
HEALTH_CHANGED = "BYOK Environment Health Changed"


def _once_claim(request: faults.Request) -> bool:
    return any(str(i.get("sk", "")).startswith("ONCE#") for i in request.items)


#: step -> how to choose its requests (faults.inject keywords)
STEPS: dict[str, dict[str, Any]] = {
    "flag read": {"service": "dynamodb", "operations": {"GetItem"}, "item": {"sk": "HEALTH"}},
    # the validation's state (environment, flag, outbox, remembered policies): one Query
    "state read": {
        "service": "dynamodb",
        "operations": {"Query"},
        "tables": {ENVIRONMENTS_TABLE},
    },
    "change transaction": {"service": "dynamodb", "operations": {"TransactWriteItems"}},
    "put_events": {"service": "events", "operations": {"PutEvents"}},
    "outbox mark": {"service": "dynamodb", "operations": {"UpdateItem"}, "item": {"sk": "OUTBOX"}},
    "step claim": {"service": "dynamodb", "operations": {"PutItem"}, "where": _once_claim},
    "writes paused": {"service": "dynamodb", "operations": {"UpdateItem"}, "item": {"sk": "META"}},
    "remediation audit": {
        "service": "dynamodb",
        "operations": {"PutItem"},
        "tables": {AUDIT_TABLE},
    },
    "notification": {"service": "sns", "operations": {"Publish"}},
}

KINDS: dict[str, Callable[..., faults.Fault]] = {
    "throttle": faults.throttle,
    "5xx": faults.internal_error,
    "timeout before processing": lambda service, **c: faults.timeout(
        service, after_processing=False, **c
    ),
    "answer lost": lambda service, **c: faults.timeout(service, after_processing=True, **c),
}


def _retried(call: Callable[[], T], attempts: int = 5) -> T:
    """What Lambda's async retries / SQS redelivery do with a retryable failure."""
    for _ in range(attempts - 1):
        try:
            return call()
        except ByokError as exc:
            assert exc.retryable, f"the change path failed for good: {exc.to_dict()}"
    return call()


_WIRED: dict[tuple[int, int], tuple[Any, Any]] = {}


def _wired(rig, attempts: int) -> tuple[Any, Any]:
    """The rig's service and remediation deps, on clients retrying ``attempts`` times in all
    (built once per rig: a client costs tens of milliseconds)."""
    if (id(rig), attempts) not in _WIRED:
        _WIRED[(id(rig), attempts)] = _wire(rig, attempts)
    return _WIRED[(id(rig), attempts)]


def _wire(rig, attempts: int) -> tuple[Any, Any]:
    config = Config(retries={"total_max_attempts": attempts, "mode": "standard"})
    platform = rig.world.platform
    store = DynamoDBStore(
        ENVIRONMENTS_TABLE, AUDIT_TABLE, client=platform.client("dynamodb", config=config)
    )
    events = platform.client("events", config=config)
    deps = rig.world.deps(
        store=store, publisher=EventPublisher(events, HEALTH_BUS, attempts=1, sleep=lambda _: None)
    )
    notifier = Notifier(platform.client("sns", config=config), rig.deps.notifier.topic_arn)
    return deps, replace(rig.deps, store=store, notifier=notifier, events=events)


def _break_the_key_with(rig, deps: Any, rdeps: Any, fault: faults.Fault) -> None:
    world = rig.world
    env_id = world.env.environment_id
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    try:
        _retried(lambda: validate_environment(env_id, None, deps))
        for event in world.published():
            if event["detail-type"] == HEALTH_CHANGED:
                change = HealthChange.from_detail(event["detail"])
                _retried(lambda change=change: remediate(change, rdeps))
    finally:
        fault.remove()


def _assert_published_and_acted_on(
    rig, *, events_seen: list[str], audit_lost: bool = False
) -> None:
    store, env_id = rig.world.store, rig.world.env.environment_id
    assert store.get_flag(env_id).status is HealthStatus.KEY_UNUSABLE
    assert "KEY_UNUSABLE" in events_seen  # published at least once
    assert store.pending_event(env_id) is None  # and marked so
    assert store.writes_paused(env_id) is True  # acted on
    severities = [n["MessageAttributes"]["severity"]["Value"] for n in rig.notifications()]
    assert "critical" in severities
    changes = [
        a
        for a in store.list_audit(env_id)
        if a.kind is AuditKind.HEALTH_CHANGED and a["status"] == "KEY_UNUSABLE"
    ]
    assert len(changes) == 1  # audited exactly once, whatever was retried
    done = {(r["action"], r["result"]) for r in rig.audit()}
    rig.world.published()  # the remediation's own events (a pause announces itself)
    assert "BYOK Writes Paused" in events_seen
    if audit_lost:  # the failed write was a step's own audit record: that record is lost
        assert len(done & {("pause_writes", "done"), ("notify", "done")}) >= 1
    else:
        assert {("pause_writes", "done"), ("notify", "done")} <= done


@pytest.fixture
def fresh(module_rig, monkeypatch: pytest.MonkeyPatch):
    """The module's rig with the environment as registered: key enabled, no flag, outbox,
    markers or audit, writes on, queues drained, no fault."""
    world = module_rig.world
    env_id = world.env.environment_id
    faults.reset()
    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)
    client = world.store.client
    for table in (ENVIRONMENTS_TABLE, AUDIT_TABLE):
        rows = client.query(
            TableName=table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ENV#{env_id}"}},
            ConsistentRead=True,
        )["Items"]
        for row in rows:
            if row["sk"]["S"] != "META":
                client.delete_item(TableName=table, Key={"pk": row["pk"], "sk": row["sk"]})
    world.store.set_writes_paused(env_id, False, "test reset", world.clock().isoformat())
    world.published()
    module_rig.notifications()
    monkeypatch.setattr(world, "published", world.published)  # restored after the test
    yield module_rig
    faults.reset()


def _statuses(rig, seen: list[str]) -> None:
    """Wrap world.published to remember every event that went out: the health status of a
    health change, else the detail-type ("BYOK Writes Paused")."""
    original = type(rig.world).published.__get__(rig.world)

    def published() -> list[dict[str, Any]]:
        got = original()
        for e in got:
            changed = e["detail-type"] == HEALTH_CHANGED
            seen.append(e["detail"]["status"] if changed else e["detail-type"])
        return got

    rig.world.published = published


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("step", list(STEPS))
def test_every_step_failed_once_still_publishes_and_acts(fresh, step: str, kind: str) -> None:
    rig = fresh
    deps, rdeps = _wired(rig, attempts=1)
    seen: list[str] = []
    _statuses(rig, seen)
    choose = dict(STEPS[step])
    fault = KINDS[kind](choose.pop("service"), times=1, **choose)
    _break_the_key_with(rig, deps, rdeps, fault)
    assert fault.hits == 1, f"{step} was never called"
    # a step's own audit write refused (not an answer lost: that one was written) loses it
    lost = step == "remediation audit" and kind != "answer lost"
    _assert_published_and_acted_on(rig, events_seen=seen, audit_lost=lost)


def test_a_failed_put_events_entry_is_published_by_the_retry(fresh) -> None:
    rig = fresh
    deps, rdeps = _wired(rig, attempts=1)
    seen: list[str] = []
    _statuses(rig, seen)
    fault = faults.failed_entries(times=1, detail_types={HEALTH_CHANGED})
    _break_the_key_with(rig, deps, rdeps, fault)
    assert fault.hits == 1
    _assert_published_and_acted_on(rig, events_seen=seen)


@pytest.mark.parametrize(
    "step", ["change transaction", "step claim", "writes paused", "remediation audit"]
)
def test_a_retried_write_that_finds_its_own_result_is_success(fresh, step: str) -> None:
    """botocore retries the write whose answer was lost; DynamoDB already applied it, so the
    retry fails its condition on our own row: success, and the change is acted on in the SAME
    invocation (no retry of the validation or of the remediation needed)."""
    rig = fresh
    deps, rdeps = _wired(rig, attempts=2)
    seen: list[str] = []
    _statuses(rig, seen)
    choose = dict(STEPS[step])
    fault = faults.answer_lost(choose.pop("service"), times=1, **choose)
    world = rig.world
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    outcome = validate_environment(world.env.environment_id, None, deps)  # no retry
    assert outcome.changed and not outcome.stale and outcome.published
    for event in world.published():
        if event["detail-type"] == HEALTH_CHANGED:
            steps = remediate(HealthChange.from_detail(event["detail"]), rdeps)  # no retry
            assert [s.result for s in steps] == ["done", "done"]
    fault.remove()
    assert fault.hits == 1
    _assert_published_and_acted_on(rig, events_seen=seen)
    assert seen.count("BYOK Writes Paused") == 1
