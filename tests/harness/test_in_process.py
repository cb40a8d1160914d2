"""The handlers imported in this process (``local_invoke.load_handler_module``) on moto: the fast
tier for what a handler itself decides (which events cost a validation, the metrics it emits,
which failures drop and which retry). Environment from template.yaml, as in the RIE harness."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import byok_world as bw
import pytest
from byok_world import World
from harness_world import EVENTS
from in_process import emf_metrics, in_process_world, run

from byok.health import HealthFlag
from byok.models import HealthStatus


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with in_process_world(monkeypatch) as world:
        yield world


def _run(function: str, event: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    return run(function, event, monkeypatch)


_metrics = emf_metrics


def _sample(name: str, world: World) -> Any:
    text = (EVENTS / "key_events" / f"{name}.json").read_text()
    text = text.replace("1111aaaa-1111-4111-8111-111111111111", world.env.s3_key_arn.split("/")[1])
    return json.loads(text)


def _idempotency_items(world: World) -> int:
    return world.platform.client("dynamodb").scan(TableName=bw.IDEMPOTENCY_TABLE)["Count"]


def test_key_no_environment_uses_is_counted_and_costs_no_validation(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = json.loads((EVENTS / "key_events" / "disable_key.json").read_text())
    other = "1111aaaa-1111-4111-8111-111111111111"  # the sample's key: not one of this world's
    result = _run("key_events", event, monkeypatch)
    assert result["status"] == "unknown_key"
    assert result["key_arn"].endswith(other)
    assert _metrics(capsys.readouterr().out) == {"UnknownKeyEvents": 1.0}
    assert world.store.get_flag(world.env.environment_id) is None
    assert _idempotency_items(world) == 0


def test_failed_call_is_ignored_with_a_metric(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = _run("key_events", _sample("failed_disable_key", world), monkeypatch)
    assert result == {
        "status": "ignored",
        "event_id": "48a0f719-7b32-4ccd-a950-fa1b2c9daeb5",
        "reason": "failed API call (AccessDenied)",
    }
    assert _metrics(capsys.readouterr().out) == {"IgnoredEvents": 1.0}


def test_validated_event_is_recorded_for_idempotency(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    result = _run("key_events", _sample("disable_key", world), monkeypatch)
    assert result["status"] == "validated"
    assert [o["status"] for o in result["outcomes"]] == ["KEY_UNUSABLE"]
    assert _metrics(capsys.readouterr().out) == {"ValidatedEvents": 1.0}
    assert _idempotency_items(world) == 1


def test_key_event_that_finds_the_platform_bucket_missing_raises_the_operators_metric(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The platform's own set-up is wrong (its bucket is gone): key_events counts it in the
    operator's ``PlatformConfigurationErrors`` (alarmed in template.yaml), as validate does; the
    flag is no verdict on the customer's key."""
    s3 = world.platform.client("s3")
    for item in s3.list_objects_v2(Bucket=world.env.bucket).get("Contents", []):
        s3.delete_object(Bucket=world.env.bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=world.env.bucket)
    result = _run("key_events", _sample("disable_key", world), monkeypatch)
    assert result["status"] == "validated"
    [outcome] = result["outcomes"]
    assert outcome["operator_reasons"] == ["PLATFORM_BUCKET_MISSING"]
    assert outcome["status"] != "KEY_UNUSABLE"
    counted = _metrics(capsys.readouterr().out)
    assert counted == {"ValidatedEvents": 1.0, "PlatformConfigurationErrors": 1.0}


def test_a_second_cold_container_still_sees_the_duplicate(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Idempotency lives in DynamoDB, not in the container: another instance drops it too."""
    first = _run("key_events", _sample("enable_key", world), monkeypatch)
    second = _run("key_events", _sample("enable_key", world), monkeypatch)
    assert (first["duplicate"], second["duplicate"]) == (False, True)
    assert _metrics(capsys.readouterr().out) == {"ValidatedEvents": 1.0, "DuplicateEvents": 1.0}
    assert len(world.store.list_audit(world.env.environment_id)) == 1


def test_sweep_enqueues_one_message_per_environment_stamped_with_the_schedule(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = json.loads((EVENTS / "sweep" / "scheduled_event.json").read_text())
    assert _run("sweep", event, monkeypatch)["enqueued"] == 1
    sqs = world.platform.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=world.validate_queue_url)["Messages"]
    body = json.loads(message["Body"])
    assert body["environment_id"] == world.env.environment_id
    assert body["trigger"]["kind"] == "schedule"
    assert body["trigger"]["event_id"] == event["id"]


def test_validate_drops_a_malformed_message_and_validates_the_rest(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = json.loads((EVENTS / "validate" / "sqs_batch.json").read_text())
    batch = json.loads(json.dumps(batch).replace("acme-prod", world.env.environment_id))
    batch["Records"][0]["body"] = "{not json"
    result = _run("validate", batch, monkeypatch)
    assert result == {"batchItemFailures": []}
    assert _metrics(capsys.readouterr().out) == {"DroppedMessages": 1.0, "Validations": 1.0}
    flag = world.store.get_flag(world.env.environment_id)
    assert flag is not None and flag.status.value == "HEALTHY"


# --- remediate ----------------------------------------------------------------------------------
def _remediate_sample(name: str, world: World) -> Any:
    """A sample of ``events/remediate`` with this world's environment, keys and cluster."""
    text = (EVENTS / "remediate" / f"{name}.json").read_text()
    for old, new in (
        ("1111aaaa-1111-4111-8111-111111111111", world.env.s3_key_arn.split("/")[1]),
        ("2222bbbb-2222-4222-8222-222222222222", world.env.aurora_key_arn.split("/")[1]),
        ('"acme-prod"', json.dumps(world.env.environment_id)),
    ):
        text = text.replace(old, new)
    return json.loads(text)


def _remediation_audit(world: World) -> list[tuple[str, str]]:
    records = world.store.list_audit(world.env.environment_id, newest_first=False)
    return [(r["action"], r["result"]) for r in records if r.get("type") == "remediation"]


def test_remediate_acts_once_however_often_the_event_is_delivered(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """EventBridge is at-least-once: three deliveries (each in a cold container) pause writes
    once, notify once, audit each step once; a repeat finds writes paused already (no pause
    planned) and its notification marked done (skipped)."""
    event = _remediate_sample("key_disabled", world)
    results = [_run("remediate", event, monkeypatch) for _ in range(3)]
    assert [[s["result"] for s in r["steps"]] for r in results] == [
        ["done", "done"],
        ["skipped"],
        ["skipped"],
    ]
    assert world.store.writes_paused(world.env.environment_id) is True
    assert _remediation_audit(world) == [("pause_writes", "done"), ("notify", "done")]
    metrics = _metrics(capsys.readouterr().out)  # the last value of each metric
    assert metrics == {
        "HealthChangeRemediationRuns": 1.0,
        "RemediationSteps": 2.0,
        "SkippedRemediationSteps": 1.0,
    }


def test_remediate_raises_on_a_transient_failure_and_the_retry_finishes(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SNS throttled: the invocation fails (Lambda retries it), the notify step gives its
    marker back; the retry finds writes paused already and sends the notification."""
    from byok.errors import TransientError
    from byok_emulator import faults

    event = _remediate_sample("key_disabled", world)
    with (
        faults.throttle(service="sns", operations={"Publish"}, times=None),
        pytest.raises(TransientError),
    ):
        _run("remediate", event, monkeypatch)
    retry = _run("remediate", event, monkeypatch)
    assert [(s["action"], s["result"]) for s in retry["steps"]] == [("notify", "done")]
    assert _remediation_audit(world) == [
        ("pause_writes", "done"),
        ("notify", "retry"),
        ("notify", "done"),
    ]


def test_scheduled_run_follows_the_cluster_start_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Back to HEALTHY with a recoverable cluster: StartDBCluster once; the next scheduled run
    (the function's own schedule) records the cluster available, and only once."""
    world.set_cluster_status("inaccessible-encryption-credentials-recoverable")
    for previous, status, at in (
        (None, "KEY_UNUSABLE", "2026-11-24T09:20:04+00:00"),
        ("KEY_UNUSABLE", "HEALTHY", "2026-11-24T10:05:04+00:00"),
    ):  # the service's audit of the two changes (incidents are rebuilt from it)
        record = {"type": "health_changed", "previous_status": previous, "status": status}
        world.store.append_audit(world.env.environment_id, {**record, "checked_at": at}, at=at)
    healthy = _run("remediate", _remediate_sample("back_to_healthy", world), monkeypatch)
    assert [(s["action"], s["result"]) for s in healthy["steps"]] == [
        ("start_cluster", "done"),
        ("notify", "done"),
    ]
    schedule = json.loads((EVENTS / "remediate" / "scheduled_event.json").read_text())
    world.store.put_flag(
        HealthFlag(
            environment_id=world.env.environment_id,
            status=HealthStatus.HEALTHY,
            since="2026-11-24T10:05:04+00:00",
            checked_at="2026-11-24T10:05:04+00:00",
        )
    )
    first = _run("remediate", schedule, monkeypatch)
    second = _run("remediate", schedule, monkeypatch)
    assert [(s["action"], s["result"]) for s in first["steps"]] == [("follow_cluster", "done")]
    assert second == {**first, "steps": []}


def test_scheduled_run_sends_a_deletion_reminder_once(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key pending deletion for 12 days, 2 left: the 3-day reminder goes out once (the next
    run, minutes later, sends nothing). The flag was stored without its health event ever
    being acted on, so the scheduled run also carries out the flag's own plan once (writes
    paused, the urgent notice): every flag change is acted on at least once."""
    now = datetime.now(UTC)
    key = world.env.aurora_key_arn
    world.store.put_flag(
        HealthFlag(
            environment_id=world.env.environment_id,
            status=HealthStatus.KEY_UNUSABLE,
            reasons=("KEY_PENDING_DELETION",),
            since=(now - timedelta(days=10)).isoformat(),
            checked_at=(now - timedelta(minutes=5)).isoformat(),
            details=[
                {
                    "id": "key-state",
                    "status": "fail",
                    "reason": "KEY_PENDING_DELETION",
                    "purpose": "aurora",
                    "message": "key pending deletion",
                    "fix": f"aws kms cancel-key-deletion --key-id {key}",
                    "evidence": {
                        "key_arn": key,
                        "deletion_date": (now + timedelta(days=2)).isoformat(),
                    },
                }
            ],
        )
    )
    schedule = json.loads((EVENTS / "remediate" / "scheduled_event.json").read_text())
    first = _run("remediate", schedule, monkeypatch)
    second = _run("remediate", schedule, monkeypatch)
    assert [(s["action"], s["once_key"].rsplit(":", 1)[1]) for s in first["steps"]] == [
        ("pause_writes", "pause"),
        ("notify", "pending_deletion"),
        ("notify", "3"),
    ]
    assert second["steps"] == []
    metrics = _metrics(capsys.readouterr().out)
    assert metrics == {
        "ScheduledRemediationRuns": 1.0,
        "RemediationSteps": 3.0,
        "SkippedRemediationSteps": 2.0,  # the second run: the notice and the reminder, done
    }


def test_remediate_without_its_topic_fails_loudly(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A misconfigured function is an invocation error (retried, then the failure queue and
    its alarm), never a health change silently dropped; nothing was done."""
    from byok.errors import InputError

    monkeypatch.delenv("NOTIFICATION_TOPIC_ARN")
    with pytest.raises(InputError, match="NOTIFICATION_TOPIC_ARN"):
        _run("remediate", _remediate_sample("key_disabled", world), monkeypatch)
    assert world.store.writes_paused(world.env.environment_id) is False
    assert _remediation_audit(world) == []
