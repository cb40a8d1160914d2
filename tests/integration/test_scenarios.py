"""Scenario tests of issue 4's Acceptance: real events -> byok.service -> flag, on moto + emulator.

Every scenario goes through the ONE code path (``byok.events.normalise`` -> ``handle_trigger`` /
``run_sweep`` + ``process_validate_message`` -> gather as the platform role -> validate ->
decide -> conditional write -> publish), against the two-account ``world``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from byok_world import HEALTH_BUS, ROLE_ARN, cloudtrail_event, rds_cluster_event

from byok.contract import render_policy
from byok.errors import ConflictError
from byok.events import normalise
from byok.models import Environment, HealthStatus, Purpose
from byok.service import handle_trigger, process_validate_message, run_sweep, validate_environment
from byok_emulator import faults, set_imported_key_material


def baseline(world, deps):
    """Register-time validation: the fresh world is HEALTHY (and that change is published)."""
    outcome = validate_environment(world.env.environment_id, None, deps)
    assert outcome.status is HealthStatus.HEALTHY, outcome.to_dict()
    world.published()  # drain
    return outcome


def deliver(world, deps, event):
    world.clock.advance(seconds=5)
    outcomes = handle_trigger(normalise(event), deps)
    assert len(outcomes) == 1
    return outcomes[0]


def sweep(world, deps):
    """run_sweep, then process every queued validate message as the validate function would."""
    world.clock.advance(seconds=5)
    sent = run_sweep(world.deps("sweep", clock=deps.clock, settings=deps.settings))
    sqs = deps.sqs
    outcomes = []
    while True:
        got = sqs.receive_message(QueueUrl=world.validate_queue_url, MaxNumberOfMessages=10)
        messages = got.get("Messages", [])
        if not messages:
            break
        for message in messages:
            outcomes.append(process_validate_message(message["Body"], deps))
            sqs.delete_message(
                QueueUrl=world.validate_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )
    assert len(outcomes) == sent
    return outcomes


def test_fresh_world_is_healthy(world):
    outcome = baseline(world, world.deps())
    checks = {(c.check_id, c.purpose): c for c in outcome.report.checks}
    assert checks[("s3-probe", Purpose.S3)].status == "pass"
    assert checks[("aurora-cluster", Purpose.AURORA)].status == "pass"
    assert checks[("key-state", Purpose.S3)].status == "pass"  # DescribeKey across accounts
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.status is HealthStatus.HEALTHY


def test_disable_s3_key_is_key_unusable_with_enable_fix(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    world.customer_kms.disable_key(KeyId=arn)
    outcome = deliver(world, deps, cloudtrail_event("DisableKey", arn))

    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert outcome.changed and outcome.published
    assert "KEY_DISABLED" in outcome.flag.reasons
    assert f"aws kms enable-key --key-id {arn}" in outcome.flag.fixes
    assert f"DisabledException: {arn} is disabled." in outcome.flag.errors
    probe = next(c for c in outcome.report.checks if c.check_id == "s3-probe")
    assert probe.reason == "KEY_DISABLED"  # the canary itself was refused by KMS
    (event,) = world.published()
    assert event["source"] == "byok.guard"
    assert event["detail-type"] == "BYOK Environment Health Changed"
    assert event["detail"]["status"] == "KEY_UNUSABLE"
    assert event["detail"]["previous_status"] == "HEALTHY"
    audit = world.store.list_audit(world.env.environment_id)
    assert audit[0]["status"] == "KEY_UNUSABLE"
    assert audit[0]["trigger"]["event_name"] == "DisableKey"


def test_schedule_deletion_then_cancel_and_enable(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    kms = world.customer_kms
    answer = kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7)
    deletion_date = answer["DeletionDate"].astimezone(UTC)
    outcome = deliver(
        world,
        deps,
        cloudtrail_event(
            "ScheduleKeyDeletion",
            arn,
            request={"pendingWindowInDays": 7},
            response={
                "deletionDate": deletion_date.strftime("%b %d, %Y, %I:%M:%S %p"),
                "keyState": "PendingDeletion",
            },
        ),
    )
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert "KEY_PENDING_DELETION" in outcome.flag.reasons
    assert (
        f"aws kms cancel-key-deletion --key-id {arn} && aws kms enable-key --key-id {arn}"
        in outcome.flag.fixes
    )
    state = next(d for d in outcome.flag.details if d["id"] == "key-state" and d["purpose"] == "s3")
    assert state["evidence"]["deletion_date"][:16] == deletion_date.isoformat()[:16]
    assert deletion_date.isoformat()[:10] in state["message"]

    kms.cancel_key_deletion(KeyId=arn)
    outcome = deliver(world, deps, cloudtrail_event("CancelKeyDeletion", arn))
    # CancelKeyDeletion leaves the key Disabled: still unusable, now for that reason
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert outcome.flag.reasons[0] == "KEY_DISABLED"

    kms.enable_key(KeyId=arn)
    outcome = deliver(world, deps, cloudtrail_event("EnableKey", arn))
    assert outcome.status is HealthStatus.HEALTHY
    assert [e["detail"]["status"] for e in world.published()] == [
        "KEY_UNUSABLE",
        "KEY_UNUSABLE",  # same status, new reasons: a change worth publishing
        "HEALTHY",
    ]


def _policy_without_platform(purpose, arn):
    full = render_policy(purpose, arn, ROLE_ARN, full=True)
    root = [s for s in full["Statement"] if s["Principal"]["AWS"].endswith(":root")]
    return json.dumps({"Version": full["Version"], "Statement": root})


def remove_platform(world, deps, purpose, *, deliver_event=True):
    """The customer puts a key policy without the platform statements (event optional)."""
    arn = world.env.key_arn(purpose)
    policy = _policy_without_platform(purpose, arn)
    world.customer_kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=policy)
    if not deliver_event:
        return None
    return deliver(world, deps, cloudtrail_event("PutKeyPolicy", arn, request={"policy": policy}))


def test_put_key_policy_removing_platform_from_s3_key_is_key_unusable(world):
    deps = world.deps()
    baseline(world, deps)
    outcome = remove_platform(world, deps, Purpose.S3)
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert "POLICY_DENIES_PLATFORM" in outcome.flag.reasons
    checks = {c.check_id: c for c in outcome.report.checks if c.purpose is Purpose.S3}
    assert checks["key-policy"].reason == "POLICY_DENIES_PLATFORM"
    assert checks["key-policy"].evidence["policy_source"].startswith("PutKeyPolicy event")
    assert checks["s3-probe"].reason == "POLICY_DENIES_PLATFORM"  # the canary is refused too
    assert "AccessDenied" in checks["s3-probe"].error
    fix = checks["key-policy"].fix
    assert "kms:GenerateDataKey" in fix and ROLE_ARN in fix


def test_put_key_policy_removing_platform_from_aurora_key_is_at_risk_and_stays(world):
    deps = world.deps()
    baseline(world, deps)
    outcome = remove_platform(world, deps, Purpose.AURORA)
    # the running cluster keeps its grant: at risk (new clusters/restores blocked), not down
    assert outcome.status is HealthStatus.AT_RISK
    assert outcome.flag.reasons == ("POLICY_DENIES_PLATFORM",)
    assert "kms:CreateGrant" in outcome.flag.fixes[0]
    # GetKeyPolicy does not work across accounts: the sweep judges the remembered policy
    (swept,) = sweep(world, deps)
    assert swept.status is HealthStatus.AT_RISK
    assert not swept.changed


def test_lost_put_key_policy_event_is_caught_by_the_sweep_probe(world):
    deps = world.deps()
    baseline(world, deps)
    remove_platform(world, deps, Purpose.S3, deliver_event=False)
    (outcome,) = sweep(world, deps)
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert outcome.flag.reasons == ("POLICY_DENIES_PLATFORM",)


def test_platform_key_access_error_report_revalidates_the_key(world):
    from byok_world import key_access_error_event

    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    world.customer_kms.disable_key(KeyId=arn)
    outcome = deliver(world, deps, key_access_error_event(arn, "KMS.DisabledException"))
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert outcome.report.trigger.kind == "key_access_error"
    # a report alone is not the truth: once the key is fine, the same report heals nothing wrong
    world.customer_kms.enable_key(KeyId=arn)
    again = deliver(world, deps, key_access_error_event(arn, "KMS.DisabledException"))
    assert again.status is HealthStatus.HEALTHY


def test_late_older_put_key_policy_does_not_replace_the_newer_policy(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.aurora_key_arn
    bad = _policy_without_platform(Purpose.AURORA, arn)
    good = json.dumps(render_policy(Purpose.AURORA, arn, ROLE_ARN, full=True))
    t0 = datetime.now(UTC)
    world.customer_kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=good)
    newer = cloudtrail_event("PutKeyPolicy", arn, request={"policy": good}, at=t0)
    older = cloudtrail_event(
        "PutKeyPolicy", arn, request={"policy": bad}, at=t0 - timedelta(minutes=5)
    )
    assert deliver(world, deps, newer).status is HealthStatus.HEALTHY
    assert deliver(world, deps, older).status is HealthStatus.HEALTHY


def test_imported_material_expiring_within_30_days_is_at_risk(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.aurora_key_arn
    valid_to = world.clock.now + timedelta(days=10)
    # moto cannot import key material: the emulator sets Origin EXTERNAL + ValidTo on the key
    set_imported_key_material(arn, valid_to)
    (outcome,) = sweep(world, deps)
    assert outcome.status is HealthStatus.AT_RISK
    assert outcome.flag.reasons == ("KEY_MATERIAL_EXPIRING",)
    detail = outcome.flag.details[0]
    assert detail["evidence"]["valid_to"][:19] == valid_to.isoformat()[:19]


def test_throttling_on_every_kms_call_for_a_whole_sweep_leaves_flag_unchanged(world):
    deps = world.deps()
    before = baseline(world, deps).flag
    with faults.throttle(service="kms") as fault:
        outcomes = sweep(world, deps)
    assert fault.hits > 0
    (outcome,) = outcomes
    assert outcome.status is HealthStatus.HEALTHY
    assert not outcome.changed
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.status is before.status and flag.since == before.since
    assert flag.transient_failures == 1
    assert "ThrottlingException" in flag.last_transient_error
    assert world.published() == []


def test_throttling_never_gives_a_false_all_clear(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    world.customer_kms.disable_key(KeyId=arn)
    assert deliver(world, deps, cloudtrail_event("DisableKey", arn)).status == "KEY_UNUSABLE"
    world.published()
    world.customer_kms.enable_key(KeyId=arn)  # the EnableKey event is lost
    with faults.throttle(service="kms"):
        (outcome,) = sweep(world, deps)
    assert outcome.status is HealthStatus.KEY_UNUSABLE  # held: DescribeKey could not confirm
    (outcome,) = sweep(world, deps)  # throttling over: the sweep heals it
    assert outcome.status is HealthStatus.HEALTHY


def test_sustained_transient_failure_becomes_unknown(world):
    from byok.health import HealthSettings

    deps = world.deps(health=HealthSettings(unknown_after_failures=2, unknown_after_minutes=1))
    baseline(world, deps)
    with faults.throttle(service="kms"):
        first = sweep(world, deps)[0]
        world.clock.advance(minutes=2)
        second = sweep(world, deps)[0]
    assert first.status is HealthStatus.HEALTHY
    assert second.status is HealthStatus.UNKNOWN and second.changed


def test_same_event_twice_changes_the_flag_once(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    world.customer_kms.disable_key(KeyId=arn)
    event = cloudtrail_event("DisableKey", arn)
    first = deliver(world, deps, event)
    second = deliver(world, deps, event)
    assert first.changed and not second.changed
    assert first.status is second.status is HealthStatus.KEY_UNUSABLE
    assert len(world.published()) == 1
    assert len(world.store.list_audit(world.env.environment_id)) == 2  # baseline + disable


def test_enable_delivered_before_the_disable_that_preceded_it(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    t0 = datetime.now(UTC)
    disable = cloudtrail_event("DisableKey", arn, at=t0)
    enable = cloudtrail_event("EnableKey", arn, at=t0 + timedelta(seconds=30))
    world.customer_kms.disable_key(KeyId=arn)
    world.customer_kms.enable_key(KeyId=arn)
    assert deliver(world, deps, enable).status is HealthStatus.HEALTHY
    late = deliver(world, deps, disable)  # arrives last, but the key is Enabled now
    assert late.status is HealthStatus.HEALTHY
    assert world.store.get_flag(world.env.environment_id).status is HealthStatus.HEALTHY


def test_out_of_order_flag_writes_keep_the_newer_result(world):
    deps = world.deps()
    baseline(world, deps)
    arn = world.env.s3_key_arn
    world.clock.advance(seconds=60)
    newer = validate_environment(world.env.environment_id, None, deps)  # HEALTHY at t+60
    world.customer_kms.disable_key(KeyId=arn)
    world.clock.advance(seconds=-30)  # a slower validation that started earlier finishes last
    older = validate_environment(world.env.environment_id, None, deps)
    assert older.stale and not older.changed
    stored = world.store.get_flag(world.env.environment_id)
    assert stored.checked_at == newer.flag.checked_at


def test_aurora_cluster_losing_its_key_is_key_unusable(world):
    deps = world.deps()
    baseline(world, deps)
    world.customer_kms.disable_key(KeyId=world.env.aurora_key_arn)
    world.set_cluster_status("inaccessible-encryption-credentials-recoverable")
    event = rds_cluster_event(world.env.cluster_id, "DB cluster is inaccessible")
    outcome = deliver(world, deps, event)
    assert outcome.status is HealthStatus.KEY_UNUSABLE
    assert {"KEY_DISABLED", "CLUSTER_INACCESSIBLE_RECOVERABLE"} <= set(outcome.flag.reasons)
    assert any("aws rds start-db-cluster" in f for f in outcome.flag.fixes)


def test_key_no_environment_uses_gives_no_outcome(world):
    other = world.customer_kms.create_key()["KeyMetadata"]["Arn"]
    assert handle_trigger(normalise(cloudtrail_event("DisableKey", other)), world.deps()) == []


def test_key_registered_twice_is_refused(world):
    twin = Environment.create(**{**world.env.to_dict(), "environment_id": "globex"})
    with pytest.raises(ConflictError):
        world.store.register(twin)
    assert [e.environment_id for e in world.store.list_environments()] == ["acme"]


def test_sweep_enqueues_one_message_per_environment(world):
    deps = world.deps("sweep")
    kms = world.customer_kms
    second = Environment.create(
        environment_id="globex",
        customer_account=world.env.customer_account,
        region=world.env.region,
        s3_key_arn=kms.create_key()["KeyMetadata"]["Arn"],
        aurora_key_arn=kms.create_key()["KeyMetadata"]["Arn"],
        bucket="platform-data-globex",
        cluster_id="globex-db",
    )
    world.store.register(second)
    assert run_sweep(deps) == 2
    got = world.deps("validate").sqs.receive_message(
        QueueUrl=world.validate_queue_url, MaxNumberOfMessages=10
    )
    bodies = sorted((json.loads(m["Body"]) for m in got["Messages"]), key=str)
    assert {b["environment_id"] for b in bodies} == {"acme", "globex"}
    assert all(b["trigger"]["kind"] == "schedule" for b in bodies)


def test_platform_role_throttled_leaves_flag_unchanged(world):
    before = baseline(world, world.deps()).flag
    deps = world.deps()  # a cold container: it must assume the role first
    with faults.throttle(service="sts", operations={"AssumeRole"}):
        (outcome,) = sweep(world, deps)
    assert {c.reason for c in outcome.report.checks} == {"TRANSIENT_ERROR"}
    assert outcome.status is before.status and not outcome.changed


def test_health_change_is_published_despite_a_throttled_put_events(world):
    from byok.aws.publisher import EventPublisher

    deps = world.deps(
        publisher=EventPublisher(
            world.function_session("validate").client("events"), HEALTH_BUS, sleep=lambda s: None
        )
    )
    with faults.throttle(service="events", operations={"PutEvents"}, times=2):
        outcome = baseline(world, deps)
    assert outcome.published


def test_health_change_publish_failure_is_transient(world):
    from byok.aws.publisher import EventPublisher
    from byok.errors import TransientError

    deps = world.deps(
        publisher=EventPublisher(
            world.function_session("validate").client("events"), HEALTH_BUS, sleep=lambda s: None
        )
    )
    with faults.throttle(service="events", operations={"PutEvents"}), pytest.raises(TransientError):
        validate_environment(world.env.environment_id, None, deps)
    # the flag and the audit record are written before the event goes out
    assert world.store.get_flag(world.env.environment_id).status is HealthStatus.HEALTHY
    assert world.published() == []
    # while EventBridge still throttles, a validation without a change succeeds all the same
    with faults.throttle(service="events", operations={"PutEvents"}):
        world.clock.advance(seconds=5)
        assert not validate_environment(world.env.environment_id, None, deps).published
    # the retry finds no change, but publishes the change whose event was lost, once
    world.clock.advance(seconds=5)
    retry = validate_environment(world.env.environment_id, None, deps)
    assert not retry.changed and retry.published
    (event,) = world.published()
    assert event["detail"]["status"] == "HEALTHY"
    world.clock.advance(seconds=5)
    assert not validate_environment(world.env.environment_id, None, deps).published
    assert world.published() == []
