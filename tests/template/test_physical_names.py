"""Two stacks of template.yaml fit in one account and region: no physical name repeats.

CloudFormation uses some properties as the resource's physical id (an event bus ``Name``, an
``EventBusPolicy``'s ``StatementId``, a ``LayerName``...). A fixed value there makes a second stack
in the same account and region fail (or, for a layer, silently share one). Proved statically on
the SAM-transformed template (what CloudFormation creates): every resource type in it is
classified below, each naming property is resolved for two stack names, and no name may repeat
within a stack or between the two. A resource type that is not classified fails the test, so a
new one must be looked at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from byok_emulator import sam_template

#: resource type -> properties CloudFormation uses as (part of) its physical id; empty: none
#: (CloudFormation generates the name from the stack name and logical id when it is absent)
NAMING_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::CloudWatch::Alarm": ("AlarmName",),
    "AWS::DynamoDB::Table": ("TableName",),
    "AWS::Events::EventBus": ("Name",),
    "AWS::Events::EventBusPolicy": ("StatementId",),
    "AWS::Events::Rule": ("Name",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
    "AWS::IAM::Policy": (),  # PolicyName names an inline policy within its role only
    "AWS::IAM::Role": ("RoleName",),
    "AWS::Lambda::EventInvokeConfig": (),
    "AWS::Lambda::EventSourceMapping": (),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::Lambda::LayerVersion": ("LayerName",),
    "AWS::Lambda::Permission": (),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SNS::Subscription": (),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::SQS::QueuePolicy": (),
}

PARAMETERS = {
    "PlatformRoleArn": "arn:aws:iam::444455556666:role/byok-platform",
    "CustomerAccountIds": "111122223333",
    "OrganizationId": "o-abcdef1234",  # both bus policies exist
    "AlarmEmail": "ops@example.com",  # the subscription exists
}


def physical_names(template: Mapping[str, Any], stack_name: str) -> dict[str, str]:
    """``"<logical id>.<property>" -> name`` for every fixed name the stack would create."""
    resolver = sam_template.Resolver(template, PARAMETERS, stack_name=stack_name, lenient=True)
    names: dict[str, str] = {}
    for logical, resource in template["Resources"].items():
        rtype = resource["Type"]
        if rtype not in NAMING_PROPERTIES:
            raise AssertionError(f"{logical}: classify {rtype} in NAMING_PROPERTIES")
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        for prop in NAMING_PROPERTIES[rtype]:
            value = (resource.get("Properties") or {}).get(prop)
            if value is not None:
                names[f"{logical}.{prop}"] = f"{rtype}:{resolver.resolve(value)}"
    return names


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return sam_template.transformed(PARAMETERS)


def test_no_physical_name_repeats_between_two_stacks(transformed: dict[str, Any]) -> None:
    first = physical_names(transformed, "byok-guard")
    second = physical_names(transformed, "byok-guard-staging")
    assert first, "no named resource found: the classification is wrong"
    shared = {where: name for where, name in first.items() if second[where] == name}
    assert shared == {}, "names that do not derive from AWS::StackName"


def test_no_physical_name_repeats_within_a_stack(transformed: dict[str, Any]) -> None:
    names = list(physical_names(transformed, "byok-guard").values())
    assert len(names) == len(set(names)), names


def test_default_bus_name_is_the_stack_name_and_an_explicit_one_is_kept(
    transformed: dict[str, Any],
) -> None:
    """The bus customers forward to keeps its documented name for the stack ``byok-guard``."""
    bus = transformed["Resources"]["ByokEventBus"]["Properties"]["Name"]
    default = sam_template.Resolver(transformed, PARAMETERS, stack_name="byok-guard")
    assert default.resolve(bus) == "byok-guard"
    named = sam_template.Resolver(transformed, {**PARAMETERS, "EventBusName": "byok-bus"})
    assert named.resolve(bus) == "byok-bus"


def test_checker_catches_a_fixed_name() -> None:
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "fixed"}},
        }
    }
    assert physical_names(template, "a") == physical_names(template, "b")
    with pytest.raises(AssertionError, match="classify AWS::EC2::VPC"):
        physical_names({"Resources": {"V": {"Type": "AWS::EC2::VPC"}}}, "a")
