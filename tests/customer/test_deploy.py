"""Deploy the customer template into moto's CloudFormation and read back what it created."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from customer_support import CUSTOMER_ACCOUNT, PLATFORM_BUS, REGION, Stack, policy_document

from byok.cli import main as cli_main
from byok.contract import check_policy, render_policy
from byok.identifiers import KeyArn

KEYS = (("s3", "S3KeyArn", "S3KeyAlias"), ("aurora", "AuroraKeyArn", "AuroraKeyAlias"))


@pytest.mark.parametrize("health_checks", [True, False], ids=["health-on", "health-off"])
@pytest.mark.parametrize("forwarding", [True, False], ids=["forwarding-on", "forwarding-off"])
def test_keys_carry_the_contract_policy(
    deploy: Callable[..., Stack], health_checks: bool, forwarding: bool
) -> None:
    stack = deploy(
        AllowHealthChecks=str(health_checks).lower(),
        PlatformEventBusArn=PLATFORM_BUS if forwarding else "",
    )
    kms = stack.client("kms")
    for purpose, arn_output, alias_output in KEYS:
        key_arn = stack.outputs[arn_output]
        key = KeyArn.parse(key_arn)
        assert (key.account, key.region) == (CUSTOMER_ACCOUNT, REGION)
        policy = stack.key_policy(arn_output)
        expected = render_policy(
            purpose, key_arn, stack.platform_role_arn, full=True, health_checks=health_checks
        )
        assert policy == expected
        report = check_policy(policy, purpose, key_arn, stack.platform_role_arn)
        assert report.verdict == "pass", report.to_dict()
        sids = {s["Sid"] for s in policy["Statement"]}
        assert ("BYOKPlatformHealthChecks" in sids) is health_checks

        meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
        assert meta["KeySpec"] == "SYMMETRIC_DEFAULT"
        assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
        assert meta["KeyState"] == "Enabled"
        aliases = kms.list_aliases(KeyId=key_arn)["Aliases"]
        assert [a["AliasName"] for a in aliases] == [f"alias/byok/acme-prod/{purpose}"]
        assert stack.outputs[alias_output] == f"alias/byok/acme-prod/{purpose}"
    assert stack.outputs["S3KeyArn"] != stack.outputs["AuroraKeyArn"]
    assert stack.outputs["EnvironmentId"] == "acme-prod"

    rules = stack.client("events").list_rules()["Rules"]
    forwarders = [r for r in rules if r["Name"].startswith("byok-forward-")]
    assert len(forwarders) == (1 if forwarding else 0)
    assert ("KeyEventsForwardingRole" in stack.resources) is forwarding
    assert ("KeyEventsForwardingRuleArn" in stack.outputs) is forwarding


@pytest.mark.parametrize("count", [1, 2])
def test_key_administrators_render_as_the_contract_does(
    deploy: Callable[..., Stack], count: int
) -> None:
    admins = [f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/key-admin-{i}" for i in range(count)]
    stack = deploy(KeyAdministratorArns=",".join(admins))
    for purpose, arn_output, _ in KEYS:
        key_arn = stack.outputs[arn_output]
        policy = stack.key_policy(arn_output)
        assert policy == render_policy(
            purpose, key_arn, stack.platform_role_arn, full=True, administrators=admins
        )
        assert check_policy(policy, purpose, key_arn, stack.platform_role_arn).verdict == "pass"


def test_forwarding_targets_only_the_platform_bus_with_a_scoped_role(
    deploy: Callable[..., Stack],
) -> None:
    stack = deploy(PlatformEventBusArn=PLATFORM_BUS)
    events = stack.client("events")
    rule_arn = stack.outputs["KeyEventsForwardingRuleArn"]
    rule_name = rule_arn.rsplit("/", 1)[1]
    rule = events.describe_rule(Name=rule_name)
    assert rule["State"] == "ENABLED"
    assert rule.get("EventBusName", "default") == "default"
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == PLATFORM_BUS

    iam = stack.client("iam")
    role_name = target["RoleArn"].rsplit("/", 1)[1]
    role = iam.get_role(RoleName=role_name)["Role"]
    trust = policy_document(role["AssumeRolePolicyDocument"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": CUSTOMER_ACCOUNT}
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": rule_arn}

    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = policy_document(
        iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    )
    assert document["Statement"] == [
        {"Effect": "Allow", "Action": "events:PutEvents", "Resource": PLATFORM_BUS}
    ]


def test_deletion_guard_is_deployed_only_when_asked(deploy: Callable[..., Stack]) -> None:
    without = deploy(EnvironmentId="no-guard")
    assert not any(r.startswith("DeletionGuard") for r in without.resources)

    stack = deploy(
        EnvironmentId="guarded", EnableDeletionGuard="true", NotificationEmail="sec@example.com"
    )
    functions = stack.client("lambda").list_functions()["Functions"]
    (function,) = [f for f in functions if "DeletionGuard" in f["FunctionName"]]
    assert function["Runtime"] == "python3.13"
    env = function["Environment"]["Variables"]
    assert env["KEY_ARNS"].split(",") == [stack.outputs["S3KeyArn"], stack.outputs["AuroraKeyArn"]]
    assert env["TOPIC_ARN"].startswith(f"arn:aws:sns:{REGION}:{CUSTOMER_ACCOUNT}:")

    iam = stack.client("iam")
    role_name = function["Role"].rsplit("/", 1)[1]
    (policy_name,) = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    document = policy_document(
        iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
    )
    kms_statements = [s for s in document["Statement"] if s["Sid"] == "UndoDeletionAndDisable"]
    assert kms_statements[0]["Resource"] == [
        stack.outputs["S3KeyArn"],
        stack.outputs["AuroraKeyArn"],
    ]
    for statement in document["Statement"]:
        assert statement["Resource"] != "*"


@pytest.mark.filterwarnings("ignore:Tried to parse AWS::")
def test_create_trail_adds_the_trail_resources(deploy: Callable[..., Stack]) -> None:
    """moto's CloudFormation creates the bucket but skips AWS::CloudTrail::Trail and
    AWS::S3::BucketPolicy (unsupported types) and the bucket's public access block: their
    settings are checked on the template below."""
    assert not any(r.startswith("Trail") for r in deploy(EnvironmentId="no-trail").resources)
    stack = deploy(EnvironmentId="with-trail", CreateTrail="true")
    assert "TrailBucket" in stack.resources
    stack.client("s3").head_bucket(Bucket=stack.resources["TrailBucket"]["PhysicalResourceId"])


def test_trail_bucket_policy_admits_only_this_stacks_trail(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    trail_name = resources["Trail"]["Properties"]["TrailName"]["Fn::Sub"]
    statements = resources["TrailBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    for statement in statements:
        if statement["Effect"] == "Allow":
            assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
            source_arn = statement["Condition"]["StringEquals"]["aws:SourceArn"]["Fn::Sub"]
            assert source_arn[0].endswith(":trail/" + trail_name[0])
            assert source_arn[1] == trail_name[1]
    assert resources["Trail"]["Properties"]["IsLogging"] is True
    bucket = resources["TrailBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert resources["TrailBucket"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize("health_checks", [True, False], ids=["health-on", "health-off"])
def test_deployed_policy_is_what_byok_policy_render_full_prints(
    deploy: Callable[..., Stack], capsys: pytest.CaptureFixture[str], health_checks: bool
) -> None:
    """The CLI a customer would use to paste a policy prints exactly what the stack installs."""
    admin = f"arn:aws:iam::{CUSTOMER_ACCOUNT}:role/key-admin"
    stack = deploy(AllowHealthChecks=str(health_checks).lower(), KeyAdministratorArns=admin)
    for purpose, arn_output, _ in KEYS:
        argv = [
            "policy", "render", "--full", "--format", "json", "--purpose", purpose,
            "--key-arn", stack.outputs[arn_output],
            "--platform-role-arn", stack.platform_role_arn, "--administrator", admin,
        ]  # fmt: skip
        if not health_checks:
            argv.append("--no-health-checks")
        capsys.readouterr()
        assert cli_main(argv) == 0
        assert json.loads(capsys.readouterr().out) == stack.key_policy(arn_output)


def test_platform_role_with_a_path(deploy: Callable[..., Stack]) -> None:
    stack = deploy(PlatformRoleName="service/byok-platform")
    assert stack.platform_role_arn.endswith(":role/service/byok-platform")
    for purpose, arn_output, _ in KEYS:
        key_arn = stack.outputs[arn_output]
        policy = stack.key_policy(arn_output)
        assert policy == render_policy(purpose, key_arn, stack.platform_role_arn, full=True)
        assert check_policy(policy, purpose, key_arn, stack.platform_role_arn).verdict == "pass"
