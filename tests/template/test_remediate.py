"""The remediate function's permissions, routing and settings in template.yaml (issue 5).

Acceptance: the remediation role can call ``rds:StartDBCluster`` only on clusters with the
platform's name prefix and ``sns:Publish`` only to its topic. The role's policy is resolved for
given parameters and evaluated with ``byok.policy`` (AWS semantics: wildcards, conditions,
implicit deny), so a widened resource or a new statement fails here, not in production.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from byok.health import EVENT_DETAIL_TYPE, EVENT_SOURCE
from byok.policy import Request, evaluate, parse_policy
from byok.remediation.executor import (
    EVENT_SOURCE as REMEDIATION_SOURCE,
)
from byok.remediation.executor import (
    WRITES_PAUSED,
    WRITES_RESUMED,
    parse_reminder_days,
)
from byok_emulator import sam_template

TEMPLATE = sam_template.load()
RES = TEMPLATE["Resources"]
PARAMETERS = {
    "PlatformRoleArn": "arn:aws:iam::444455556666:role/byok-platform",
    "CustomerAccountIds": "111122223333",
}
ROLE = "arn:aws:iam::444455556666:role/byok-guard-RemediateRole"
TOPIC = "arn:aws:sns:eu-west-1:444455556666:byok-guard-NotificationTopic"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:444455556666:byok-guard-AlarmTopic"
CLUSTER = "arn:aws:rds:eu-west-1:444455556666:cluster:{}"
DEFAULT_BUS = "arn:aws:events:eu-west-1:444455556666:event-bus/default"


def _statements(role: str, parameters: dict[str, str] | None = None) -> list[dict[str, Any]]:
    resolver = sam_template.Resolver(
        TEMPLATE,
        parameters or PARAMETERS,
        refs={"NotificationTopic": TOPIC, "AlarmTopic": OTHER_TOPIC},
        lenient=True,
    )
    policies = resolver.resolve(RES[role]["Properties"]["Policies"])
    return [st for policy in policies for st in policy["PolicyDocument"]["Statement"]]


def _policy(role: str, parameters: dict[str, str] | None = None) -> Any:
    """The role's identity policy as one document ``byok.policy`` evaluates: each statement
    applies to the role itself (an identity policy has no Principal; the evaluator needs one)."""
    statements = [{**st, "Principal": {"AWS": ROLE}} for st in _statements(role, parameters)]
    return parse_policy({"Version": "2012-10-17", "Statement": statements})


def _decision(policy: Any, action: str, resource: str, **context: str) -> str:
    request = Request(principal=ROLE, action=action, resource=resource, context=context)
    return str(evaluate(policy, request).decision)


@pytest.fixture(scope="module")
def remediate() -> Any:
    return _policy("RemediateRole")


@pytest.mark.parametrize("action", ["rds:StartDBCluster", "rds:DescribeDBClusters"])
def test_clusters_with_the_platform_prefix_only(remediate: Any, action: str) -> None:
    assert _decision(remediate, action, CLUSTER.format("byok-acme-prod")) == "allow"
    for outside in (
        CLUSTER.format("acme-db"),  # no prefix
        CLUSTER.format("xbyok-acme"),  # prefix not at the start
        CLUSTER.format("byok-acme").replace("eu-west-1", "us-east-1"),  # another region
        CLUSTER.format("byok-acme").replace("444455556666", "111122223333"),  # another account
        "arn:aws:rds:eu-west-1:444455556666:db:byok-acme-1",  # an instance, not a cluster
    ):
        assert _decision(remediate, action, outside) == "implicit_deny", outside


def test_no_other_rds_action(remediate: Any) -> None:
    cluster = CLUSTER.format("byok-acme")
    for action in (
        "rds:StopDBCluster",
        "rds:DeleteDBCluster",
        "rds:ModifyDBCluster",
        "rds:RestoreDBClusterToPointInTime",
        "rds:AddTagsToResource",
    ):
        assert _decision(remediate, action, cluster) == "implicit_deny", action


def test_cluster_prefix_is_the_parameter() -> None:
    custom = _policy("RemediateRole", {**PARAMETERS, "ClusterNamePrefix": "platform-"})
    assert _decision(custom, "rds:StartDBCluster", CLUSTER.format("platform-db")) == "allow"
    assert _decision(custom, "rds:StartDBCluster", CLUSTER.format("byok-db")) == "implicit_deny"


def test_publish_only_to_the_notification_topic(remediate: Any) -> None:
    assert _decision(remediate, "sns:Publish", TOPIC) == "allow"
    assert _decision(remediate, "sns:Publish", OTHER_TOPIC) == "implicit_deny"
    assert _decision(remediate, "sns:Subscribe", TOPIC) == "implicit_deny"
    assert _decision(remediate, "sns:SetTopicAttributes", TOPIC) == "implicit_deny"


def test_put_events_only_as_byok_guard_on_the_default_bus(remediate: Any) -> None:
    assert (
        _decision(remediate, "events:PutEvents", DEFAULT_BUS, **{"events:source": "byok.guard"})
        == "allow"
    )
    assert (
        _decision(remediate, "events:PutEvents", DEFAULT_BUS, **{"events:source": "aws.kms"})
        == "implicit_deny"
    )


def test_no_kms_and_no_platform_role(remediate: Any) -> None:
    """Remediation never touches customer keys: no KMS action, no sts:AssumeRole."""
    key = "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-1111-4111-8111-111111111111"
    for action in ("kms:EnableKey", "kms:CancelKeyDeletion", "kms:Decrypt"):
        assert _decision(remediate, action, key) == "implicit_deny", action
    platform_role = PARAMETERS["PlatformRoleArn"]
    assert _decision(remediate, "sts:AssumeRole", platform_role) == "implicit_deny"


def test_dynamodb_actions_are_exactly_what_the_executor_uses() -> None:
    """byok.store calls made by byok.remediation.executor (and the scheduled run's listing)."""
    granted: dict[str, set[str]] = {}
    for st in _statements("RemediateRole"):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in actions:
            if action.startswith("dynamodb:"):
                for resource in (
                    st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                ):
                    granted.setdefault(resource, set()).add(action)
    assert granted == {
        "<EnvironmentsTable.Arn>": {
            "dynamodb:GetItem",  # environment, flag, ONCE# markers, writes_paused
            "dynamodb:PutItem",  # claim_once (conditional)
            "dynamodb:DeleteItem",  # release_once after a transient failure
            "dynamodb:UpdateItem",  # set_writes_paused, end_follow_up (conditional)
            "dynamodb:Query",  # load_environment_state (scheduled run)
            "dynamodb:Scan",  # the attention index as moto's authoriser checks it (table ARN)
        },
        "<EnvironmentsTable.Arn>/index/attention": {"dynamodb:Scan"},  # needing_attention
        "<AuditTable.Arn>": {"dynamodb:PutItem", "dynamodb:Query"},
    }


def test_only_the_remediate_role_may_notify_or_touch_clusters() -> None:
    for name, res in RES.items():
        if res["Type"] != "AWS::IAM::Role" or name == "RemediateRole":
            continue
        for st in _statements(name):
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            assert not [a for a in actions if a.startswith(("sns:", "rds:"))], (name, st)


def test_notification_topic_is_encrypted_and_its_arn_is_given_to_the_function() -> None:
    topic = RES["NotificationTopic"]
    assert topic["Type"] == "AWS::SNS::Topic"
    assert topic["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    spec = sam_template.function_spec(TEMPLATE, "RemediateFunction")
    assert spec.environment["NOTIFICATION_TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    assert spec.environment["REMINDER_DAYS"] == {"Ref": "ReminderDays"}
    assert TEMPLATE["Outputs"]["NotificationTopicArn"]["Value"] == {"Ref": "NotificationTopic"}
    assert not [r for r in RES.values() if r["Type"] == "AWS::SNS::TopicPolicy"], (
        "customers must not subscribe themselves (an unfiltered subscription sees everyone)"
    )


def test_reminder_days_default_is_what_the_executor_parses() -> None:
    default = TEMPLATE["Parameters"]["ReminderDays"]["Default"]
    assert parse_reminder_days(default) == (7, 3, 1)


def _rules() -> dict[str, dict[str, Any]]:
    template = sam_template.transformed(PARAMETERS)
    resolver = sam_template.Resolver(template, PARAMETERS, lenient=True)
    return {
        name: resolver.resolve(res["Properties"])
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Events::Rule"
    }


def _matching(event: dict[str, Any]) -> set[str]:
    return {
        name
        for name, props in _rules().items()
        if "EventPattern" in props
        and EventPattern.load(json.dumps(props["EventPattern"])).matches_event(event)
    }


def _samples() -> list[Any]:
    return sorted((sam_template.ROOT / "events" / "remediate").glob("*.json"))


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.stem)
def test_remediate_samples_match_only_the_health_changed_rule(path: Any) -> None:
    event = json.loads(path.read_text())
    expected = set() if path.stem == "scheduled_event" else {"RemediateFunctionHealthChanged"}
    assert _matching(event) == expected


def test_rule_matches_what_the_service_publishes_and_not_remediations_own_events() -> None:
    """The rule's source/detail-type are byok.health's constants; the writes paused/resumed
    events remediation puts on the same bus must not route back to it (no loop)."""
    base = json.loads((sam_template.ROOT / "events/remediate/key_disabled.json").read_text())
    assert (base["source"], base["detail-type"]) == (EVENT_SOURCE, EVENT_DETAIL_TYPE)
    assert REMEDIATION_SOURCE == EVENT_SOURCE
    for detail_type in (WRITES_PAUSED, WRITES_RESUMED):
        assert _matching({**base, "detail-type": detail_type}) == set(), detail_type


def test_health_changed_rule_sits_on_the_default_bus_with_dlq_and_schedule() -> None:
    rules = _rules()
    health = rules["RemediateFunctionHealthChanged"]
    assert health.get("EventBusName", "default") == "default"
    assert health["EventPattern"] == {
        "source": ["byok.guard"],
        "detail-type": ["BYOK Environment Health Changed"],
    }
    schedule = rules["RemediateFunctionSchedule"]
    assert schedule["ScheduleExpression"] == rules["SweepFunctionSchedule"]["ScheduleExpression"]
    for rule in (health, schedule):
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"]["Arn"] == "<EventsDeadLetterQueue.Arn>"
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1
