"""The scale paths on the emulated world: cached platform role, adaptive probing, KMS pacing."""

from __future__ import annotations

from datetime import timedelta

from byok_world import cloudtrail_event

from byok.aws.kms_limit import KmsRateLimiter
from byok.aws.sts import PlatformAccess
from byok.events import normalise
from byok.models import HealthStatus
from byok.probing import ProbeSettings
from byok.service import handle_trigger, schedule_trigger, validate_environment
from byok_emulator import faults


def _sweep_validation(world, deps):
    world.clock.advance(minutes=5)
    return validate_environment(world.env.environment_id, schedule_trigger(world.clock()), deps)


def test_a_warm_container_assumes_the_platform_role_once(world):
    access = PlatformAccess(world.platform, "arn:aws:iam::444455556666:role/byok-platform")
    deps = world.deps(platform=access)
    for _ in range(4):
        _sweep_validation(world, deps)
    assert access.assumed == 1


def test_credentials_near_expiry_are_refreshed_before_use(world):
    now = [world.clock()]
    access = PlatformAccess(
        world.platform,
        "arn:aws:iam::444455556666:role/byok-platform",
        duration_seconds=900,
        refresh_margin=timedelta(minutes=5),
        clock=lambda: now[0],
    )
    deps = world.deps(platform=access)
    validate_environment(world.env.environment_id, None, deps)
    now[0] += timedelta(minutes=9)  # 6 minutes left: still used
    validate_environment(world.env.environment_id, None, deps)
    assert access.assumed == 1
    now[0] += timedelta(minutes=2)  # 4 minutes left: inside the margin, assumed again
    validate_environment(world.env.environment_id, None, deps)
    assert access.assumed == 2


def test_a_failed_assume_role_is_not_cached(world):
    access = PlatformAccess(world.platform, "arn:aws:iam::444455556666:role/byok-platform")
    deps = world.deps(platform=access)
    validate_environment(world.env.environment_id, None, deps)  # HEALTHY first
    cold = world.deps(platform=PlatformAccess(world.platform, access.role_arn))
    with faults.throttle(service="sts", operations={"AssumeRole"}):
        outcome = _sweep_validation(world, cold)
    assert not outcome.changed and outcome.status is HealthStatus.HEALTHY
    outcome = _sweep_validation(world, cold)  # the next call assumes the role and validates
    assert outcome.status is HealthStatus.HEALTHY
    assert any(c.check_id == "s3-probe" and c.status.value == "pass" for c in outcome.report.checks)


def _statuses(outcome) -> dict[str, str]:
    return {f"{c.check_id}/{c.purpose}": c.status.value for c in outcome.report.checks}


def test_sweeps_of_a_healthy_environment_skip_the_canary_until_its_max_age(world):
    deps = world.deps(probe=ProbeSettings(max_age=timedelta(minutes=30)))
    first = validate_environment(world.env.environment_id, None, deps)  # registration: full
    assert _statuses(first)["s3-probe/s3"] == "pass"
    light = _sweep_validation(world, deps)
    assert _statuses(light)["s3-probe/s3"] == "skip"
    assert _statuses(light)["key-rotation/s3"] == "skip"
    assert _statuses(light)["key-state/s3"] == "pass"  # metadata on every sweep
    assert light.status is HealthStatus.HEALTHY and not light.changed
    assert light.flag.probed_at == first.flag.checked_at
    for _ in range(4):
        _sweep_validation(world, deps)  # 25 minutes after the canary
    due = _sweep_validation(world, deps)  # 30 minutes: due again
    assert _statuses(due)["s3-probe/s3"] == "pass"
    assert due.flag.probed_at == due.flag.checked_at


def test_a_metadata_change_runs_the_canary_in_the_same_sweep(world):
    deps = world.deps()
    validate_environment(world.env.environment_id, None, deps)
    assert _statuses(_sweep_validation(world, deps))["s3-probe/s3"] == "skip"
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)  # its event is lost
    outcome = _sweep_validation(world, deps)
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert _statuses(outcome)["s3-probe/s3"] == "fail"


def test_events_and_unhealthy_environments_always_get_the_canary(world):
    deps = world.deps()
    validate_environment(world.env.environment_id, None, deps)
    world.clock.advance(seconds=5)
    (event,) = handle_trigger(
        normalise(cloudtrail_event("TagResource", world.env.s3_key_arn)), deps
    )
    assert _statuses(event)["s3-probe/s3"] == "pass"
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(seconds=5)
    (broken,) = handle_trigger(
        normalise(cloudtrail_event("DisableKey", world.env.s3_key_arn)), deps
    )
    assert broken.status is HealthStatus.KEY_UNUSABLE
    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)  # EnableKey event lost
    recovered = _sweep_validation(world, deps)  # not HEALTHY before: the full set runs
    assert _statuses(recovered)["s3-probe/s3"] == "pass"
    assert recovered.status is HealthStatus.HEALTHY


def test_kms_reads_wait_for_the_containers_share_of_the_quota(world):
    slept: list[float] = []
    limiter = KmsRateLimiter(
        share=0.5,
        workers=1,
        quotas={"DescribeKey": 2.0, "GetKeyRotationStatus": 2.0},
        sleep=slept.append,
    )
    deps = world.deps(kms_limiter=limiter)
    validate_environment(world.env.environment_id, None, deps)  # 2 DescribeKey, 2 rotation
    validate_environment(world.env.environment_id, None, deps)
    assert slept and limiter.waited > 0


def test_a_warm_validation_of_an_unchanged_environment_makes_two_dynamodb_requests(world):
    calls: list[str] = []
    deps = world.deps()
    deps.store.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    validate_environment(world.env.environment_id, None, deps)  # first flag, first change
    calls.clear()
    outcome = _sweep_validation(world, deps)
    assert not outcome.changed
    assert calls == ["Query", "PutItem"]  # state in one consistent read, the conditional write
    assert deps.platform_access().assumed == 1  # assumed by the first validation only


def _queued(world) -> list[str]:
    import json as _json

    sqs = world.platform.client("sqs")
    out = []
    while got := sqs.receive_message(QueueUrl=world.validate_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in got:
            out.append(_json.loads(m["Body"])["environment_id"])
            sqs.delete_message(QueueUrl=world.validate_queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_a_sweep_split_by_its_deadline_enqueues_everyone_once_in_full_batches(world, monkeypatch):
    from byok.service import sweep_from

    ids = sorted([world.env.environment_id, *world.register_registry_only(22)])
    deps = world.deps("sweep")
    pages = deps.store.environment_page
    monkeypatch.setattr(deps.store, "environment_page", lambda after=None: pages(after, limit=7))
    calls = []
    deps.sqs.meta.events.register(
        "before-call.sqs.SendMessageBatch", lambda **kw: calls.append(1), unique_id="count-sends"
    )
    budget = iter([60.0, 5.0] * 10)  # every second batch finds the invocation nearly out of time
    trigger = schedule_trigger(world.clock())
    invocations, after = 0, None
    while True:
        invocations += 1
        progress = sweep_from(deps, trigger, after, time_left=lambda: next(budget))
        after = progress.after
        if after is None:
            break
        assert set(after) >= {"environment_id"}
    assert invocations > 1
    assert sorted(_queued(world)) == ids  # everyone, once
    assert len(calls) == 3  # ceil(23 / 10), however the sweep was split


def test_the_sweep_lists_the_sparse_index_not_the_table(world):
    from byok.service import run_sweep

    world.register_registry_only(3)
    validate_environment(world.env.environment_id, None, world.deps())  # more items
    deps = world.deps("sweep")
    calls = []
    deps.store.client.meta.events.register(
        "before-parameter-build.dynamodb.*",
        lambda params, model, **_: calls.append((model.name, params)),
        unique_id="c",
    )
    assert run_sweep(deps) == 4
    reads = [(name, p.get("IndexName")) for name, p in calls if name != "UpdateItem"]
    assert reads == [("Scan", "environments")]
    # the writes are the markers on the flag items, one per environment (only acme has a flag)
    assert [p["Key"]["sk"]["S"] for name, p in calls if name == "UpdateItem"] == ["HEALTH"] * 4


def test_continuation_events_are_checked_like_any_input():
    import pytest

    from byok.errors import EventError
    from byok.sweep_continuation import continuation_event, parse_continuation

    trigger = schedule_trigger(
        __import__("datetime").datetime(2026, 12, 1, tzinfo=__import__("datetime").UTC)
    )
    after = {
        "environment_id": "acme",
        "pk": "ENV#acme",
        "sk": "META",
        "customer_account": "111122223333",
    }
    assert parse_continuation({"id": "x", "source": "aws.events"}) is None
    got_trigger, got_after = parse_continuation(continuation_event(trigger, after))
    assert got_trigger == trigger and got_after == after
    for bad in (
        {"byok_sweep_continuation": "x"},
        {"byok_sweep_continuation": {"trigger": trigger.to_dict()}},
        {"byok_sweep_continuation": {"trigger": trigger.to_dict(), "after": {"pk": "ENV#acme"}}},
        continuation_event(trigger, {**after, "pk": "ENV#other"}),
        continuation_event(trigger, {**after, "sk": "HEALTH"}),
        continuation_event(trigger, {**after, "environment_id": "../x"}),
        continuation_event(trigger, {**after, "customer_account": "12"}),
        continuation_event(trigger, {**after, "Limit": "5"}),
    ):
        with pytest.raises(EventError, match="byok_sweep_continuation"):
            parse_continuation(bad)
