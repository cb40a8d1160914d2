"""Least privilege in template.yaml, checked on the template as written and after the SAM transform.

Fails on any IAM statement with ``Action: "*"`` or ``service:*``, on ``Resource: "*"`` unless every
action of the statement is one AWS offers no resource-level permission for (allow-list below, with
the reason), on ``NotAction``/``NotResource`` allows, on a ``Principal: "*"`` without a condition
and on AWS managed policies (their statements cannot be reviewed here: SAM's defaults grant
``logs:*``-style access on ``*``). The transformed template is checked too, so a function that lets
SAM generate its role (and its policies) is caught as well.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from byok_emulator import sam_template

#: actions AWS requires ``Resource: "*"`` for (no resource-level permissions), with the reason
STAR_RESOURCE_ALLOWED: dict[str, str] = {
    "xray:puttracesegments": "X-Ray supports no resource-level permissions for trace segments",
    "xray:puttelemetryrecords": "X-Ray supports no resource-level permissions for telemetry",
    "cloudwatch:putmetricdata": "CloudWatch metrics have no ARN; scope with cloudwatch:namespace",
}

ACCOUNTS = {
    "PlatformRoleArn": "arn:aws:iam::444455556666:role/byok-platform",
    "CustomerAccountIds": "111122223333,222233334444",
}
ORGANIZATION = {**ACCOUNTS, "CustomerAccountIds": "", "OrganizationId": "o-abcdef1234"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(where, kind, statement) for every statement; kind is identity|trust|resource."""
    for name, res in template.get("Resources", {}).items():
        rtype, props = res.get("Type"), res.get("Properties") or {}
        docs: list[tuple[str, str, Any]] = []
        if rtype == "AWS::IAM::Role":
            docs.append(
                (f"{name}.AssumeRolePolicyDocument", "trust", props.get("AssumeRolePolicyDocument"))
            )
            for i, pol in enumerate(props.get("Policies", [])):
                docs.append((f"{name}.Policies[{i}]", "identity", pol.get("PolicyDocument")))
        elif rtype in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            docs.append((name, "identity", props.get("PolicyDocument")))
        elif rtype in ("AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
            docs.append((name, "resource", props.get("PolicyDocument")))
        elif rtype == "AWS::Events::EventBusPolicy" and "Statement" in props:
            docs.append((name, "resource", {"Statement": props["Statement"]}))
        elif rtype == "AWS::Serverless::Function":
            for i, pol in enumerate(_as_list(props.get("Policies", []))):
                if isinstance(pol, Mapping) and "Statement" in pol:
                    docs.append((f"{name}.Policies[{i}]", "identity", pol))
        for where, kind, doc in docs:
            for j, statement in enumerate(_as_list((doc or {}).get("Statement", []))):
                yield f"{where}.Statement[{j}]", kind, statement


def iam_findings(template: Mapping[str, Any]) -> list[str]:
    """Every least-privilege violation, one line each (empty list: clean)."""
    found: list[str] = []
    for where, kind, st in policy_documents(template):
        allow = st.get("Effect") == "Allow"
        for neg in ("NotAction", "NotResource", "NotPrincipal"):
            if allow and neg in st:
                found.append(f"{where}: Allow with {neg} grants everything else")
        actions = [a for a in _as_list(st.get("Action", [])) if isinstance(a, str)]
        for action in actions:
            if action == "*" or action.endswith(":*"):
                found.append(f"{where}: wildcard action {action!r}")
        if kind != "trust" and "*" in _as_list(st.get("Resource", [])):
            unexplained = [a for a in actions if a.lower() not in STAR_RESOURCE_ALLOWED]
            if unexplained or not actions:
                found.append(
                    f"{where}: Resource '*' for {unexplained or actions} (not allow-listed)"
                )
        principal = st.get("Principal")
        stars = principal == "*" or (
            isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS", []))
        )
        if allow and stars and not st.get("Condition"):
            found.append(f"{where}: Principal '*' without a Condition")
    for name, res in template.get("Resources", {}).items():
        if res.get("Type") == "AWS::IAM::Role":
            for arn in (res.get("Properties") or {}).get("ManagedPolicyArns", []):
                found.append(f"{name}: managed policy {arn} (write the statements out instead)")
    return found


def test_template_as_written_is_least_privilege() -> None:
    assert iam_findings(sam_template.load()) == []


@pytest.mark.parametrize("parameters", [ACCOUNTS, ORGANIZATION], ids=["accounts", "organization"])
def test_transformed_template_is_least_privilege(parameters: dict[str, str]) -> None:
    """After the SAM transform: no generated role, no managed policy, nothing SAM added."""
    assert iam_findings(sam_template.transformed(parameters)) == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}, "wildcard action '*'"),
        ({"Effect": "Allow", "Action": ["kms:*"], "Resource": "arn:x"}, "wildcard action 'kms:*'"),
        ({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}, "Resource '*'"),
        (
            {
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "s3:GetObject"],
                "Resource": "*",
            },
            "['s3:GetObject']",
        ),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:x"}, "NotAction"),
    ],
)
def test_checker_catches_violations(statement: dict[str, Any], expected: str) -> None:
    template = {
        "Resources": {
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {"Policies": [{"PolicyDocument": {"Statement": [statement]}}]},
            }
        }
    }
    findings = iam_findings(template)
    assert len(findings) == 1 and expected in findings[0], findings


def test_checker_catches_open_principal_and_managed_policies() -> None:
    template = {
        "Resources": {
            "Q": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": "*",
                                "Action": "sqs:SendMessage",
                                "Resource": "arn:aws:sqs:eu-west-1:1:q",
                            }
                        ]
                    }
                },
            },
            "R": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "ManagedPolicyArns": [
                        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                    ]
                },
            },
        }
    }
    findings = iam_findings(template)
    assert any("Principal '*' without a Condition" in f for f in findings)
    assert any("managed policy" in f for f in findings)


def test_only_xray_has_star_resource_and_every_one_has_a_reason_comment() -> None:
    """The allow-list is used (so it is not stale) and the template says why next to each use."""
    text = sam_template.TEMPLATE.read_text()
    uses = [
        (where, st)
        for where, kind, st in policy_documents(sam_template.load())
        if kind != "trust" and "*" in _as_list(st.get("Resource", []))
    ]
    assert uses, "no Resource '*' at all: shrink STAR_RESOURCE_ALLOWED"
    for where, st in uses:
        assert {a.lower() for a in _as_list(st["Action"])} <= set(STAR_RESOURCE_ALLOWED), where
    assert text.count('AWS requires "*"') >= len(uses)


def _function_roles(template: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, res in template["Resources"].items():
        if res.get("Type") == "AWS::Serverless::Function":
            role = res["Properties"].get("Role")
            assert isinstance(role, Mapping) and "Fn::GetAtt" in role, f"{name}: needs its own Role"
            out[name] = role["Fn::GetAtt"][0]
    return out


def test_each_function_has_its_own_role() -> None:
    roles = _function_roles(sam_template.load())
    assert len(set(roles.values())) == len(roles), roles


def test_assume_role_only_on_the_platform_role_parameter() -> None:
    for where, kind, st in policy_documents(sam_template.load()):
        actions = [a.lower() for a in _as_list(st.get("Action", []))]
        if kind == "identity" and "sts:assumerole" in actions:
            assert actions == ["sts:assumerole"], where
            assert st["Resource"] == {"Ref": "PlatformRoleArn"}, where


def test_put_events_only_to_the_default_bus_as_byok_guard() -> None:
    template = sam_template.load()
    resolver = sam_template.Resolver(template, ACCOUNTS)
    seen = 0
    for where, kind, st in policy_documents(template):
        actions = [a.lower() for a in _as_list(st.get("Action", []))]
        if kind == "identity" and "events:putevents" in actions:
            seen += 1
            assert resolver.resolve(st["Resource"]) == (
                "arn:aws:events:eu-west-1:444455556666:event-bus/default"
            ), where
            assert st["Condition"] == {"StringEquals": {"events:source": "byok.guard"}}, where
    assert seen >= 1


def test_bus_policy_admits_only_the_configured_accounts_or_organization() -> None:
    template = sam_template.load()
    accounts = sam_template.Resolver(template, ACCOUNTS, lenient=True)
    org = sam_template.Resolver(template, ORGANIZATION, lenient=True)
    res = template["Resources"]
    acc_policy = res["ByokEventBusAccountsPolicy"]
    org_policy = res["ByokEventBusOrganizationPolicy"]

    assert accounts.condition(acc_policy["Condition"]) is True
    assert accounts.condition(org_policy["Condition"]) is False
    statement = accounts.resolve(acc_policy["Properties"]["Statement"])
    assert statement["Principal"] == {"AWS": ["111122223333", "222233334444"]}
    assert statement["Action"] == "events:PutEvents"

    assert org.condition(acc_policy["Condition"]) is False
    assert org.condition(org_policy["Condition"]) is True
    statement = org.resolve(org_policy["Properties"]["Statement"])
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}


def test_a_stack_admitting_nobody_is_refused() -> None:
    """The template's Rules section fails a stack with neither accounts nor organization."""
    template = sam_template.load()
    nobody = {**ACCOUNTS, "CustomerAccountIds": "", "OrganizationId": ""}
    for parameters, ok in ((ACCOUNTS, True), (ORGANIZATION, True), (nobody, False)):
        resolver = sam_template.Resolver(template, parameters)
        asserts = [
            resolver.resolve(a["Assert"])
            for rule in template["Rules"].values()
            for a in rule["Assertions"]
        ]
        assert all(asserts) is ok, parameters
