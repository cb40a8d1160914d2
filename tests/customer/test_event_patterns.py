"""The deployed rules' event patterns match the KMS events of the stack's two keys, and only those.

Matcher: moto's EventBridge pattern matcher (``moto.events.models.EventPattern.load(pattern)
.matches_event(event)``), run on the patterns read back from the deployed rules
(``describe_rule``). moto's ``test_event_pattern`` API returns no result, so it cannot be used.

One gap of moto's matcher is bridged explicitly: AWS (Event Ruler) matches a pattern field such as
``detail.resources.ARN`` against every object of the ``detail.resources`` array; moto's matcher
does not descend into arrays of objects. ``matches`` therefore also tries the event once per
element of ``detail.resources`` (that element in place of the array), which is exactly AWS's
any-element semantics for a pattern that names one field of the array's objects.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import kms_events as ev
import pytest
from customer_support import (
    BASE_PARAMETERS,
    CUSTOMER_ACCOUNT,
    PLATFORM_ACCOUNT,
    PLATFORM_BUS,
    REGION,
    TEMPLATE_PATH,
    Stack,
)
from moto import mock_aws
from moto.events.models import EventPattern

OTHER_KEY = f"arn:aws:kms:{REGION}:{CUSTOMER_ACCOUNT}:key/0f0f0f0f-1111-4222-8333-444455556666"

FORWARDED: dict[str, Callable[[str], dict[str, Any]]] = {
    "DisableKey": ev.disable_key,
    "PutKeyPolicy": ev.put_key_policy,
    "ScheduleKeyDeletion": ev.schedule_key_deletion,
    "KMS CMK Deletion": ev.native_deletion,
    "KMS CMK Rotation": ev.native_rotation,
    "RotateKey service event": ev.rotate_key_service_event,
}


def matches(pattern: str, event: dict[str, Any]) -> bool:
    """moto's matcher, plus AWS's any-element matching inside ``detail.resources``."""
    compiled = EventPattern.load(pattern)
    if compiled.matches_event(event):
        return True
    for element in (event.get("detail") or {}).get("resources") or []:
        projected = copy.deepcopy(event)
        projected["detail"]["resources"] = element
        if compiled.matches_event(projected):
            return True
    return False


@dataclass(frozen=True)
class Deployed:
    """What the pattern tests need from one deployment: the rules' patterns and the keys."""

    forward: str
    guard: str
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def stack() -> Iterator[Deployed]:
    """One deployment for the module (with forwarding and the guard); patterns are plain text,
    so the tests need no AWS afterwards."""
    with mock_aws():
        cf = boto3.client("cloudformation", region_name=REGION)
        parameters = {
            **BASE_PARAMETERS,
            "PlatformEventBusArn": PLATFORM_BUS,
            "EnableDeletionGuard": "true",
        }
        cf.create_stack(
            StackName="patterns",
            TemplateBody=TEMPLATE_PATH.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        outputs = cf.describe_stacks(StackName="patterns")["Stacks"][0]["Outputs"]
        events = boto3.client("events", region_name=REGION)
        patterns = {
            r["Name"].split("-")[1]: events.describe_rule(Name=r["Name"])["EventPattern"]
            for r in events.list_rules()["Rules"]
        }
        yield Deployed(
            patterns["forward"],
            patterns["guard"],
            {o["OutputKey"]: o["OutputValue"] for o in outputs},
        )


@pytest.mark.parametrize("name", list(FORWARDED))
def test_forwarding_rule_matches_events_of_both_keys(stack: Deployed, name: str) -> None:
    pattern = stack.forward
    for output in ("S3KeyArn", "AuroraKeyArn"):
        event = FORWARDED[name](stack.outputs[output])
        assert matches(pattern, event), f"{name} of {output} not matched"


@pytest.mark.parametrize("name", list(FORWARDED))
def test_forwarding_rule_ignores_the_same_events_of_another_key(stack: Deployed, name: str) -> None:
    pattern = stack.forward
    assert not matches(pattern, FORWARDED[name](OTHER_KEY))


@pytest.mark.parametrize("name", ["DisableKey", "PutKeyPolicy", "ScheduleKeyDeletion"])
def test_forwarding_rule_matches_by_detail_resources_alone(stack: Deployed, name: str) -> None:
    """CloudTrail always names the key in detail.resources, whatever the caller typed."""
    pattern = stack.forward
    event = ev.only_resources_identify_the_key(FORWARDED[name](stack.outputs["S3KeyArn"]))
    assert matches(pattern, event)
    other = ev.only_resources_identify_the_key(FORWARDED[name](OTHER_KEY))
    assert not matches(pattern, other)


def test_forwarding_rule_ignores_other_sources(stack: Deployed) -> None:
    pattern = stack.forward
    event = ev.disable_key(stack.outputs["S3KeyArn"])
    assert not matches(pattern, {**event, "source": "aws.s3"})


@pytest.mark.parametrize("name", ["DisableKey", "ScheduleKeyDeletion"])
def test_guard_rule_matches_disable_and_schedule_of_its_keys_only(
    stack: Deployed, name: str
) -> None:
    pattern = stack.guard
    for output in ("S3KeyArn", "AuroraKeyArn"):
        event = FORWARDED[name](stack.outputs[output])
        assert matches(pattern, event)
        assert matches(pattern, ev.only_resources_identify_the_key(event))
    assert not matches(pattern, FORWARDED[name](OTHER_KEY))


@pytest.mark.parametrize("name", ["PutKeyPolicy", "KMS CMK Deletion", "RotateKey service event"])
def test_guard_rule_ignores_other_events(stack: Deployed, name: str) -> None:
    pattern = stack.guard
    assert not matches(pattern, FORWARDED[name](stack.outputs["S3KeyArn"]))


def test_forwarded_end_to_end_to_the_platform_account_bus(deploy: Callable[..., Stack]) -> None:
    """moto delivers to a cross-account bus target: a ScheduleKeyDeletion of the stack's key put
    on the customer's default bus lands on the platform bus (read through an SQS target there);
    the same call on another key does not. (moto re-stamps ``account`` and drops ``resources``
    on cross-account delivery; AWS keeps the original envelope.)"""
    stack = deploy(PlatformEventBusArn=PLATFORM_BUS)
    creds = stack.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{PLATFORM_ACCOUNT}:role/admin", RoleSessionName="platform"
    )["Credentials"]
    platform = boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )
    sqs, bus_events = platform.client("sqs"), platform.client("events")
    bus_events.create_event_bus(Name=PLATFORM_BUS.rsplit("/", 1)[1])
    url = sqs.create_queue(QueueName="platform-inbox")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    bus_events.put_rule(
        Name="all-kms", EventBusName=PLATFORM_BUS, EventPattern='{"source": ["aws.kms"]}'
    )
    bus_events.put_targets(
        Rule="all-kms", EventBusName=PLATFORM_BUS, Targets=[{"Id": "q", "Arn": queue["QueueArn"]}]
    )

    customer_events = stack.client("events")
    for key in (stack.outputs["AuroraKeyArn"], OTHER_KEY):
        event = ev.schedule_key_deletion(key)
        customer_events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                }
            ]
        )

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    delivered = [json.loads(m["Body"]) for m in messages]
    assert [d["detail"]["responseElements"]["keyId"] for d in delivered] == [
        stack.outputs["AuroraKeyArn"]
    ]
    assert delivered[0]["detail-type"] == "AWS API Call via CloudTrail"
