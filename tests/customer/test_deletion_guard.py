"""The deletion guard's inline code (taken from the template's ZipFile) run against moto.

The stack is deployed with the guard on; the guard module gets the environment the deployed
function has (read back from Lambda), and is invoked with the CloudTrail events EventBridge would
deliver. moto cannot run the Lambda itself (no Docker), so the handler is called directly.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable
from typing import Any

import kms_events as ev
import pytest
from customer_support import Stack


@pytest.fixture
def guarded(deploy: Callable[..., Stack], monkeypatch: pytest.MonkeyPatch) -> Stack:
    stack = deploy(EnableDeletionGuard="true", NotificationEmail="sec@example.com")
    lam = stack.client("lambda")
    (name,) = [
        f["FunctionName"]
        for f in lam.list_functions()["Functions"]
        if "DeletionGuard" in f["FunctionName"]
    ]
    env = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    return stack


@pytest.fixture
def inbox(guarded: Stack) -> Callable[[], list[dict[str, Any]]]:
    """An SQS queue subscribed to the guard's SNS topic: what the customer would be emailed."""
    sqs, sns = guarded.client("sqs"), guarded.client("sns")
    url = sqs.create_queue(QueueName="guard-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    topic = next(
        t["TopicArn"] for t in sns.list_topics()["Topics"] if "DeletionGuard" in t["TopicArn"]
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])

    def read() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


DECOMMISSION = [{"TagKey": "byok:decommission", "TagValue": "true"}]


def key_state(stack: Stack, key_arn: str) -> dict[str, Any]:
    return stack.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]


def key_id(key_arn: str) -> str:
    """moto's DisableKey / ScheduleKeyDeletion / TagResource want the key id, not the ARN."""
    return key_arn.rsplit("/", 1)[1]


@pytest.mark.parametrize("output", ["S3KeyArn", "AuroraKeyArn"])
def test_scheduled_deletion_is_cancelled_and_key_enabled(
    guarded: Stack, guard: types.ModuleType, inbox: Callable[[], list[dict[str, Any]]], output: str
) -> None:
    key = guarded.outputs[output]
    guarded.client("kms").schedule_key_deletion(KeyId=key_id(key), PendingWindowInDays=7)
    assert key_state(guarded, key)["KeyState"] == "PendingDeletion"

    result = guard.handler(ev.schedule_key_deletion(key))

    meta = key_state(guarded, key)
    assert meta["KeyState"] == "Enabled"
    assert "DeletionDate" not in meta
    assert result["action"] == "CancelKeyDeletion+EnableKey"
    (message,) = inbox()
    assert key in message["Message"] and "ScheduleKeyDeletion" in message["Subject"]


def test_disable_key_is_undone(
    guarded: Stack, guard: types.ModuleType, inbox: Callable[[], list[dict[str, Any]]]
) -> None:
    key = guarded.outputs["S3KeyArn"]
    guarded.client("kms").disable_key(KeyId=key_id(key))

    result = guard.handler(ev.disable_key(key))

    assert key_state(guarded, key)["KeyState"] == "Enabled"
    assert result["action"] == "EnableKey"
    assert len(inbox()) == 1


def test_decommissioned_key_is_left_alone(
    guarded: Stack, guard: types.ModuleType, inbox: Callable[[], list[dict[str, Any]]]
) -> None:
    kms = guarded.client("kms")
    key = guarded.outputs["AuroraKeyArn"]
    kms.tag_resource(KeyId=key_id(key), Tags=DECOMMISSION)
    kms.schedule_key_deletion(KeyId=key_id(key), PendingWindowInDays=7)

    result = guard.handler(ev.schedule_key_deletion(key))

    assert key_state(guarded, key)["KeyState"] == "PendingDeletion"
    assert result == {"action": "none", "reason": "decommission tag", "key": key}
    assert inbox() == []


def test_only_the_tagged_key_is_released(guarded: Stack, guard: types.ModuleType) -> None:
    kms = guarded.client("kms")
    tagged, other = guarded.outputs["AuroraKeyArn"], guarded.outputs["S3KeyArn"]
    kms.tag_resource(
        KeyId=key_id(tagged), Tags=[{"TagKey": "byok:decommission", "TagValue": "true"}]
    )
    kms.disable_key(KeyId=key_id(other))
    guard.handler(ev.disable_key(other))
    assert key_state(guarded, other)["KeyState"] == "Enabled"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda key: ev.api_call("DisableKey", key, error_code="AccessDenied"), id="failed-call"
        ),
        pytest.param(
            lambda key: ev.disable_key(key.replace(key[-12:], "000000000000")), id="other-key"
        ),
    ],
)
def test_failed_calls_and_other_keys_are_ignored(
    guarded: Stack, guard: types.ModuleType, event: Callable[[str], dict[str, Any]]
) -> None:
    key = guarded.outputs["S3KeyArn"]
    guarded.client("kms").disable_key(KeyId=key_id(key))
    assert guard.handler(event(key))["action"] == "none"
    assert key_state(guarded, key)["KeyState"] == "Disabled"


def test_key_found_by_detail_resources_alone(guarded: Stack, guard: types.ModuleType) -> None:
    key = guarded.outputs["S3KeyArn"]
    guarded.client("kms").disable_key(KeyId=key_id(key))
    guard.handler(ev.only_resources_identify_the_key(ev.disable_key(key)))
    assert key_state(guarded, key)["KeyState"] == "Enabled"


def test_already_enabled_key_is_a_no_op(guarded: Stack, guard: types.ModuleType) -> None:
    """Duplicate or late events are harmless: the guard acts on the key's state now."""
    key = guarded.outputs["S3KeyArn"]
    assert guard.handler(ev.disable_key(key)) == {"action": "none", "key": key, "state": "Enabled"}
