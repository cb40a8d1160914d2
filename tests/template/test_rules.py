"""The EventBridge rules of template.yaml route every sample in ``events/`` to the right function.

Patterns are read from the SAM-transformed template (the ``AWS::Events::Rule`` resources
CloudFormation creates), their intrinsics resolved for given parameters, and matched with moto's
EventBridge pattern matcher (``moto.events.models.EventPattern``, the code moto's ``put_events``
uses), against the real-shaped samples of ``events/key_events``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from moto.events.models import EventPattern

from byok.events import KEY_HEALTH_API_CALLS, KEY_HEALTH_SERVICE_EVENTS, SHAPES
from byok_emulator import sam_template

ACCOUNTS = {
    "PlatformRoleArn": "arn:aws:iam::444455556666:role/byok-platform",
    "CustomerAccountIds": "111122223333",
}
ORGANIZATION = {**ACCOUNTS, "CustomerAccountIds": "", "OrganizationId": "o-abcdef1234"}
EVENTS = sam_template.ROOT / "events"

#: sample -> the one rule (logical id) that must match it; None: no rule may match
EXPECTED_RULE: dict[str, str | None] = {
    "cancel_key_deletion": "KeyEventsFunctionKmsApiCall",
    "create_grant": "KeyEventsFunctionKmsApiCall",
    "delete_key_service_event": "KeyEventsFunctionKmsServiceEvent",
    "disable_key": "KeyEventsFunctionKmsApiCall",
    "enable_key": "KeyEventsFunctionKmsApiCall",
    "failed_disable_key": None,  # errorCode present: dropped by the rule already
    "import_key_material": "KeyEventsFunctionKmsApiCall",
    "key_access_error": "KeyEventsFunctionKeyAccessError",
    "key_policy_report": "KeyEventsFunctionKeyPolicyReport",
    "kms_cmk_deletion": "KeyEventsFunctionKmsNativeEvent",
    "kms_cmk_rotation": "KeyEventsFunctionKmsNativeEvent",
    "kms_imported_key_material_expiration": "KeyEventsFunctionKmsNativeEvent",
    "put_key_policy": "KeyEventsFunctionKmsApiCall",
    "put_key_policy_alias_keyid": "KeyEventsFunctionKmsApiCall",
    "rds_cluster_event": "KeyEventsFunctionRdsClusterEvent",
    "rotate_key_service_event": "KeyEventsFunctionKmsServiceEvent",
    "schedule_key_deletion": "KeyEventsFunctionKmsApiCall",
}
#: rules on the byok bus (forwarded customer events); all others are on the default bus
BYOK_BUS_RULES = {
    "KeyEventsFunctionKmsApiCall",
    "KeyEventsFunctionKmsServiceEvent",
    "KeyEventsFunctionKmsNativeEvent",
    "KeyEventsFunctionKeyPolicyReport",
}


def _rules(parameters: dict[str, str]) -> dict[str, dict[str, Any]]:
    template = sam_template.transformed(parameters)
    resolver = sam_template.Resolver(template, parameters, lenient=True)
    return {
        name: resolver.resolve(res["Properties"])
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Events::Rule"
    }


def _matching(rules: dict[str, dict[str, Any]], event: dict[str, Any]) -> set[str]:
    return {
        name
        for name, props in rules.items()
        if "EventPattern" in props
        and EventPattern.load(json.dumps(props["EventPattern"])).matches_event(event)
    }


def _samples() -> list[Path]:
    return sorted((EVENTS / "key_events").glob("*.json"))


def test_every_sample_has_an_expected_rule() -> None:
    assert {p.stem for p in _samples()} == set(EXPECTED_RULE)


@pytest.mark.parametrize("path", _samples(), ids=lambda p: p.stem)
def test_sample_matches_exactly_its_rule(path: Path) -> None:
    event = json.loads(path.read_text())
    expected = EXPECTED_RULE[path.stem]
    assert _matching(_rules(ACCOUNTS), event) == ({expected} if expected else set())


@pytest.mark.parametrize(
    "path",
    [p for p in _samples() if EXPECTED_RULE.get(p.stem) in BYOK_BUS_RULES],
    ids=lambda p: p.stem,
)
def test_forwarded_events_of_other_accounts_match_nothing(path: Path) -> None:
    """With listed accounts, the byok bus rules filter on ``account``."""
    event = json.loads(path.read_text())
    other = copy.deepcopy(event)
    other["account"] = "999988887777"
    assert _matching(_rules(ACCOUNTS), other) == set()


def test_organization_mode_does_not_filter_on_account() -> None:
    """An organization's accounts cannot be listed: the bus policy is the gate then."""
    event = json.loads((EVENTS / "key_events" / "disable_key.json").read_text())
    event["account"] = "999988887777"
    assert _matching(_rules(ORGANIZATION), event) == {"KeyEventsFunctionKmsApiCall"}
    assert "account" not in _rules(ORGANIZATION)["KeyEventsFunctionKmsApiCall"]["EventPattern"]


def test_rules_sit_on_the_right_bus() -> None:
    for name, props in _rules(ACCOUNTS).items():
        if name in BYOK_BUS_RULES:
            assert props["EventBusName"] == "<Ref ByokEventBus>", name
        else:
            assert props.get("EventBusName", "default") == "default", name


def test_every_rule_target_has_a_dead_letter_queue_and_retry_policy() -> None:
    rules = _rules(ACCOUNTS)
    assert rules
    for name, props in rules.items():
        for target in props["Targets"]:
            assert target["DeadLetterConfig"]["Arn"] == "<EventsDeadLetterQueue.Arn>", name
            assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 3600, name


def test_events_dead_letter_queue_admits_exactly_these_rules() -> None:
    template = sam_template.load()
    condition = template["Resources"]["EventsDeadLetterQueuePolicy"]["Properties"][
        "PolicyDocument"
    ]["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    admitted = {ref["Fn::GetAtt"][0] for ref in condition}
    assert admitted == set(_rules(ACCOUNTS))


def test_sweep_schedule_defaults_to_five_minutes() -> None:
    rules = _rules(ACCOUNTS)
    assert rules["SweepFunctionSchedule"]["ScheduleExpression"] == "rate(5 minutes)"
    custom = _rules({**ACCOUNTS, "SweepSchedule": "rate(1 minute)"})
    assert custom["SweepFunctionSchedule"]["ScheduleExpression"] == "rate(1 minute)"


def test_rules_cover_everything_the_normaliser_acts_on() -> None:
    """Every API call / service event name ``byok.events`` treats as health-relevant, and every
    external event shape it accepts, reaches key_events through some rule."""
    rules = _rules(ACCOUNTS)
    api = rules["KeyEventsFunctionKmsApiCall"]["EventPattern"]["detail"]["eventName"]
    service = rules["KeyEventsFunctionKmsServiceEvent"]["EventPattern"]["detail"]["eventName"]
    assert set(api) == set(KEY_HEALTH_API_CALLS)
    assert set(service) == set(KEY_HEALTH_SERVICE_EVENTS)
    routed = {
        (src, dtype)
        for props in rules.values()
        if "EventPattern" in props
        for src in props["EventPattern"]["source"]
        for dtype in props["EventPattern"]["detail-type"]
    }
    internal = {("aws.events", "Scheduled Event"), ("byok.manual", "BYOK Manual Validation")}
    assert set(SHAPES) - internal <= routed
