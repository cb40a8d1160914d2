"""platform/platform-role.yaml: the role every customer key policy names, least privilege.

Evaluated with ``byok.policy`` on the template as CloudFormation would deploy it: the identity
policy allows exactly the platform's side of the BYOK contract (``byok.contract.expectations``)
on keys of the registered customer accounts, through S3 / RDS, plus the direct metadata reads,
the S3 canary prefix and DescribeDBClusters on the environments' clusters; nothing else. The
trust policy admits only template.yaml's probing functions (key_events, validate) of the named
stack. moto's authoriser (tests/harness, tests/integration) exercises the same documents.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from byok.contract import expectations, parties
from byok.models import Purpose
from byok.policy import Request, evaluate, parse_policy
from byok.policy.handshake import identity_decision, identity_from_texts
from byok_emulator import sam_template
from byok_emulator.platform_side import PLATFORM_TEMPLATE, platform_role_documents

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_iam import iam_findings

PLATFORM, CUSTOMER, OTHER = "444455556666", "111122223333", "999988887777"
ROLE = f"arn:aws:iam::{PLATFORM}:role/byok-guard-platform"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRUST, POLICIES = platform_role_documents(
    "byok-guard-platform", PLATFORM, [CUSTOMER, "222233334444"], region="eu-west-1"
)
IDENTITY = identity_from_texts([(n, json.dumps(d)) for n, d in POLICIES.items()], ROLE)


def allowed(action: str, resource: str, **context: object) -> bool:
    request = Request(principal=ROLE, action=action, resource=resource, context=context)
    return identity_decision(IDENTITY, request).value == "allow"


def test_template_is_least_privilege_by_the_shared_checker() -> None:
    assert iam_findings(sam_template.load(PLATFORM_TEMPLATE)) == []


@pytest.mark.parametrize("purpose", list(Purpose))
def test_every_required_contract_request_is_allowed(purpose: Purpose) -> None:
    p = parties(purpose, KEY, ROLE)
    for e in expectations(p):
        if e.must_allow:
            assert allowed(e.action, KEY, **dict(e.context)), e.describe()


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("kms:Decrypt", KEY, {}),  # directly, not through S3
        ("kms:GenerateDataKey", KEY, {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}),
        (
            "kms:Decrypt",
            KEY.replace(CUSTOMER, OTHER),
            {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
        ),
        (
            "kms:CreateGrant",
            KEY,
            {"kms:ViaService": "rds.eu-west-1.amazonaws.com", "kms:GrantIsForAWSResource": False},
        ),
        ("kms:PutKeyPolicy", KEY, {}),
        ("kms:ScheduleKeyDeletion", KEY, {}),
        ("s3:GetObject", "arn:aws:s3:::data-bucket/customers/acme.parquet", {}),
        ("s3:PutObject", "arn:aws:s3:::data-bucket/byok-guard/canary-not/x", {}),
        ("rds:DescribeDBClusters", f"arn:aws:rds:eu-west-1:{PLATFORM}:cluster:other-db", {}),
        ("rds:StartDBCluster", f"arn:aws:rds:eu-west-1:{PLATFORM}:cluster:byok-acme", {}),
        ("iam:PassRole", ROLE, {}),
    ],
)
def test_nothing_beyond_the_contract(action: str, resource: str, context: dict) -> None:
    assert not allowed(action, resource, **context)


def test_health_reads_canary_and_cluster_are_allowed() -> None:
    assert allowed("kms:DescribeKey", KEY) and allowed("kms:GetKeyRotationStatus", KEY)
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert allowed(action, "arn:aws:s3:::data-bucket/byok-guard/canary/acme.txt")
    assert allowed("rds:DescribeDBClusters", f"arn:aws:rds:eu-west-1:{PLATFORM}:cluster:byok-acme")


def _probe_roles(stack: str) -> dict[str, str]:
    """Role ARNs of template.yaml's functions in stack ``stack`` (paths resolved)."""
    template = sam_template.load()
    resolver = sam_template.Resolver(
        template, {"PlatformRoleArn": ROLE}, stack_name=stack, lenient=True
    )
    out = {}
    for name in ("KeyEventsRole", "ValidateRole", "SweepRole", "RemediateRole"):
        path = resolver.resolve(template["Resources"][name]["Properties"].get("Path", "/"))
        out[name] = f"arn:aws:iam::{PLATFORM}:role{path}{name}-AbCdEf123456"
    return out


def test_trust_admits_only_the_probing_functions_of_the_named_stack() -> None:
    # a trust policy applies to its role: it names no Resource, the parser wants one
    statements = [{**st, "Resource": ROLE} for st in TRUST["Statement"]]
    trust = parse_policy(json.dumps({**TRUST, "Statement": statements}))

    def may_assume(principal: str) -> bool:
        request = Request(principal=principal, action="sts:AssumeRole", resource=ROLE, context={})
        return evaluate(trust, request).allowed

    roles = _probe_roles("byok-guard")
    assert may_assume(roles["KeyEventsRole"]) and may_assume(roles["ValidateRole"])
    assert not may_assume(roles["SweepRole"]) and not may_assume(roles["RemediateRole"])
    staging = _probe_roles("byok-guard-staging")
    assert not may_assume(staging["ValidateRole"])  # another stack's functions
    assert not may_assume(f"arn:aws:iam::{OTHER}:role/byok-guard/platform-probe/ValidateRole-x")
