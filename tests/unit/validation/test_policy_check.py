"""The key-policy check over byok.contract (pure: policy texts as facts)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from validation_facts import AURORA_KEY, NOW, ROLE, S3_KEY, environment, healthy_facts, with_key

from byok.contract import render_policy
from byok.models import CheckStatus, HealthStatus, Purpose
from byok.validation import FactError, validate

ARNS = {Purpose.S3: S3_KEY, Purpose.AURORA: AURORA_KEY}


def policy_check(purpose, policy, source="GetKeyPolicy", **over):
    facts = with_key(healthy_facts(), purpose, policy=policy, policy_source=source, **over)
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    return [c for c in report.checks if c.check_id == "key-policy" and c.purpose is purpose]


def without_platform(purpose):
    full = render_policy(purpose, ARNS[purpose], ROLE, full=True)
    root = [s for s in full["Statement"] if s["Principal"]["AWS"].endswith(":root")]
    return json.dumps({"Version": "2012-10-17", "Statement": root})


@pytest.mark.parametrize("purpose", list(Purpose))
def test_contract_policy_passes(purpose):
    policy = json.dumps(render_policy(purpose, ARNS[purpose], ROLE, full=True))
    (check,) = policy_check(purpose, policy)
    assert (check.status, check.impact) == (CheckStatus.PASS, HealthStatus.HEALTHY)
    assert check.evidence["policy_source"] == "GetKeyPolicy"


@pytest.mark.parametrize(
    ("purpose", "impact"),
    [(Purpose.S3, HealthStatus.KEY_UNUSABLE), (Purpose.AURORA, HealthStatus.AT_RISK)],
)
def test_policy_denying_the_platform(purpose, impact):
    # read live (GetKeyPolicy): no probe overrules it (a remembered one: test_evidence_over_memory)
    (check,) = policy_check(purpose, without_platform(purpose), source="GetKeyPolicy")
    assert check.reason == "POLICY_DENIES_PLATFORM"
    assert check.impact is impact


@pytest.mark.parametrize(
    ("purpose", "impact"),
    [(Purpose.S3, HealthStatus.KEY_UNUSABLE), (Purpose.AURORA, HealthStatus.AT_RISK)],
)
def test_policy_from_an_event_denying_the_platform(purpose, impact):
    refused = FactError("AccessDenied", "not authorized to perform: kms:GenerateDataKey", False)
    facts = with_key(
        healthy_facts(),
        purpose,
        policy=without_platform(purpose),
        policy_source="PutKeyPolicy event e1",
    )
    if purpose is Purpose.S3:  # the world is consistent: the canary is refused too
        facts = replace(
            facts, s3_probe=replace(facts.s3_probe, ok=False, failed_step="put", error=refused)
        )
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    (check,) = [c for c in report.checks if c.check_id == "key-policy" and c.purpose is purpose]
    assert check.reason == "POLICY_DENIES_PLATFORM"
    assert check.impact is impact
    assert check.evidence["policy_source"] == "PutKeyPolicy event e1"
    assert ROLE in check.fix and ARNS[purpose] in check.fix  # the exact statements to add


def test_policy_granting_too_much_is_a_warning():
    policy = render_policy(Purpose.S3, S3_KEY, ROLE, full=True)
    policy["Statement"].append(
        {
            "Sid": "Direct",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    checks = policy_check(Purpose.S3, json.dumps(policy))
    assert [c.reason for c in checks] == ["POLICY_TOO_BROAD"]
    assert (checks[0].status, checks[0].impact) == (CheckStatus.WARN, HealthStatus.HEALTHY)
    assert "no-direct-access" in checks[0].message


def test_unparseable_policy_proves_nothing():
    (check,) = policy_check(Purpose.S3, "{not json")
    assert (check.reason, check.status, check.impact) == (
        "POLICY_UNPARSEABLE",
        CheckStatus.WARN,
        None,
    )


def test_unreadable_policy_skips_and_transient_errors():
    denied = FactError("NotFoundException", "cross-account GetKeyPolicy", transient=False)
    (check,) = policy_check(Purpose.S3, None, source=None, policy_error=denied)
    assert (check.reason, check.status) == ("POLICY_UNREADABLE", CheckStatus.SKIP)
    slow = FactError("ThrottlingException", "Rate exceeded", transient=True)
    (check,) = policy_check(Purpose.S3, None, source=None, policy_error=slow)
    assert (check.reason, check.status, check.impact) == (
        "TRANSIENT_ERROR",
        CheckStatus.ERROR,
        None,
    )


def test_metadata_unreadable_suggests_the_health_check_statement():
    denied = FactError("AccessDeniedException", "not authorized to perform: kms:DescribeKey", False)
    facts = with_key(healthy_facts(), Purpose.S3, metadata=None, metadata_error=denied)
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    (check,) = [c for c in report.checks if c.check_id == "key-state" and c.purpose is Purpose.S3]
    assert (check.reason, check.status, check.impact) == (
        "KEY_METADATA_UNREADABLE",
        CheckStatus.SKIP,
        None,
    )
    assert "kms:DescribeKey" in check.fix
