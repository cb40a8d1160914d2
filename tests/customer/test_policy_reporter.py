"""The opt-in policy reporter of the customer stack: deployed only with EnablePolicyReporter and
a platform bus, least privilege, and its reports are what the platform's normaliser accepts
(a "BYOK Key Policy Report" the validation uses like a PutKeyPolicy event).

moto does not route a PutEvents to another account's bus ARN (it looks the bus name up in the
caller's account), so the test gives the customer account a bus of the same name with a capture
queue: the event read back is the one the platform's bus would receive.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from customer_support import (
    PLATFORM_ACCOUNT,
    REGION,
    Stack,
    load_module,
    load_template,
    policy_document,
)

from byok.aws.gather import event_policy
from byok.errors import EventError
from byok.events import normalise

BUS = f"arn:aws:events:{REGION}:{PLATFORM_ACCOUNT}:event-bus/byok-guard"


def _resources(stack: Stack, kind: str) -> list[str]:
    return [r for r, v in stack.resources.items() if v["ResourceType"] == kind]


def test_the_reporter_is_opt_in_and_needs_the_platform_bus(deploy: Callable[..., Stack]) -> None:
    plain = deploy(PlatformEventBusArn=BUS)
    assert "PolicyReporterFunction" not in plain.resources
    no_bus = deploy(EnablePolicyReporter="true")
    assert "PolicyReporterFunction" not in no_bus.resources


def test_reporter_role_reads_only_the_two_key_policies(template: dict[str, Any]) -> None:
    role = template["Resources"]["PolicyReporterRole"]["Properties"]
    (policy,) = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["ReadTheTwoKeyPolicies"]["Action"] == "kms:GetKeyPolicy"
    assert statements["ReadTheTwoKeyPolicies"]["Resource"] == [
        {"Fn::GetAtt": ["S3Key", "Arn"]},
        {"Fn::GetAtt": ["AuroraKey", "Arn"]},
    ]
    assert statements["SendToThePlatformBus"] == {
        "Sid": "SendToThePlatformBus",
        "Effect": "Allow",
        "Action": "events:PutEvents",
        "Resource": {"Ref": "PlatformEventBusArn"},
    }
    target = template["Resources"]["PolicyReporterSchedule"]["Properties"]["Targets"][0]
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}
    guard = template["Resources"]["DeletionGuardRule"]["Properties"]["Targets"][0]
    assert guard["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}


@pytest.fixture
def reporter(
    deploy: Callable[..., Stack], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Stack, Any, Callable[[], list[dict[str, Any]]]]:
    stack = deploy(EnablePolicyReporter="true", PlatformEventBusArn=BUS)
    lam = stack.client("lambda")
    (name,) = [
        f["FunctionName"]
        for f in lam.list_functions()["Functions"]
        if "PolicyReporter" in f["FunctionName"]
    ]
    config = lam.get_function_configuration(FunctionName=name)
    for var, value in config["Environment"]["Variables"].items():
        monkeypatch.setenv(var, value)
    role = config["Role"].rsplit("/", 1)[1]
    iam = stack.client("iam")
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = policy_document(
        iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    )
    actions = {
        s["Action"] if isinstance(s["Action"], str) else tuple(s["Action"])
        for s in document["Statement"]
    }
    assert actions == {
        "kms:GetKeyPolicy",
        "events:PutEvents",
        ("logs:CreateLogStream", "logs:PutLogEvents"),
    }
    events, sqs = stack.client("events"), stack.client("sqs")
    events.create_event_bus(Name="byok-guard")  # the platform bus's twin (see the docstring)
    url = sqs.create_queue(QueueName="reports")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    pattern = json.dumps({"source": ["byok.customer"]})
    events.put_rule(Name="capture", EventBusName="byok-guard", EventPattern=pattern)
    events.put_targets(
        Rule="capture", EventBusName="byok-guard", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}]
    )
    source = tmp_path / "index.py"
    function = load_template()["Resources"]["PolicyReporterFunction"]["Properties"]
    source.write_text(function["Code"]["ZipFile"])
    module = load_module("byok_inline_policy_reporter", source)

    def read() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    return stack, module, read


def test_a_report_is_what_the_platform_normalises_and_validates_with(reporter) -> None:
    stack, module, read = reporter
    kms = stack.client("kms")
    aurora = stack.outputs["AuroraKeyArn"]
    # the customer edits the Aurora key's policy; the PutKeyPolicy event is lost
    edited = policy_document(kms.get_key_policy(KeyId=aurora, PolicyName="default")["Policy"])
    edited["Statement"] = [s for s in edited["Statement"] if "Aurora" not in s.get("Sid", "")]
    kms.put_key_policy(KeyId=aurora, PolicyName="default", Policy=json.dumps(edited))
    assert module.handler({}, None) == {"reported": 2}
    events = {e["detail"]["key_arn"]: e for e in read()}
    assert set(events) == {stack.outputs["S3KeyArn"], aurora}
    event = events[aurora]
    assert event.setdefault("account", aurora.split(":")[4])  # moto's SQS target drops it
    trigger = normalise(event)
    assert (trigger.kind.value, trigger.event_name, trigger.key_arn) == (
        "policy_report",
        "KeyPolicyReport",
        aurora,
    )
    policy, source = event_policy(trigger, aurora)
    assert json.loads(policy) == edited and source.startswith("KeyPolicyReport event ")
    # a report naming another account's key is refused: a customer speaks for its own keys
    forged = json.loads(json.dumps(event))
    forged["account"] = PLATFORM_ACCOUNT
    with pytest.raises(EventError, match="own keys only"):
        normalise(forged)
