"""One test per mutation of the rendered policy: removing one action or one condition changes the
verdict exactly as the contract says (docs/policy.md, "fail or warn").

Contract reminders the expectations below encode:
- required (fail when missing): s3 = kms:GenerateDataKey + kms:Decrypt via S3; aurora =
  kms:DescribeKey via RDS + kms:CreateGrant/ListGrants/RevokeGrant via RDS for AWS resources.
  The other rendered actions (Encrypt, ReEncrypt*, ...) are optional: removing them still passes.
- kms:ViaService missing: the role may call KMS directly and through any service (warn).
- kms:GrantIsForAWSResource missing: grants not restricted to AWS resources (warn).
- aws:PrincipalAccount is defence in depth next to a role-ARN principal: removing it alone
  changes nothing; it decides the outcome once the principal is wider (last tests).
Every mutation's fixes, applied, give back a passing policy.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from byok.contract import apply_fix, check_policy, render_policy

S3 = "BYOKPlatformS3ViaService"
AURORA = "BYOKPlatformAuroraViaService"
GRANTS = "BYOKPlatformAuroraGrants"
HEALTH = "BYOKPlatformHealthChecks"
FULL = pytest.mark.parametrize("full", [True, False], ids=["full", "statements-only"])


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in policy["Statement"] if s.get("Sid") == sid)


def without_action(policy: dict[str, Any], sid: str, action: str) -> dict[str, Any]:
    mutated = copy.deepcopy(policy)
    s = statement(mutated, sid)
    s["Action"] = [a for a in s["Action"] if a != action]
    return mutated


def without_condition(policy: dict[str, Any], sid: str, op: str, key: str) -> dict[str, Any]:
    mutated = copy.deepcopy(policy)
    condition = statement(mutated, sid)["Condition"]
    del condition[op][key]
    if not condition[op]:
        del condition[op]
    return mutated


def outcome(policy: dict[str, Any], purpose: str, ids) -> tuple[str, dict[str, str]]:
    """(verdict, {check id: status} of the non-pass checks); asserts the fixes repair it."""
    report = check_policy(policy, purpose, ids.key, ids.role)
    bad = {c.id: c.status.value for c in report.checks if c.status.value != "pass"}
    for c in report.checks:
        assert bool(c.fix) is (c.status.value != "pass"), c
    fixed = apply_fix(policy, [op for c in report.checks for op in c.fix])
    assert check_policy(fixed, purpose, ids.key, ids.role).verdict == "pass"
    return report.verdict, bad


REQUIRED_FAIL = ("fail", {"required-access": "fail"})
PASS: tuple[str, dict[str, str]] = ("pass", {})


@FULL
@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("kms:GenerateDataKey*", REQUIRED_FAIL),
        ("kms:Decrypt", REQUIRED_FAIL),
        ("kms:Encrypt", PASS),
        ("kms:ReEncrypt*", PASS),
        ("kms:DescribeKey", PASS),
    ],
)
def test_s3_remove_one_action(ids, full, action, expected) -> None:
    policy = render_policy("s3", ids.key, ids.role, full=full)
    assert outcome(without_action(policy, S3, action), "s3", ids) == expected


@FULL
@pytest.mark.parametrize(
    ("sid", "action", "expected"),
    [
        (GRANTS, "kms:CreateGrant", REQUIRED_FAIL),
        (GRANTS, "kms:ListGrants", REQUIRED_FAIL),
        (GRANTS, "kms:RevokeGrant", REQUIRED_FAIL),
        (AURORA, "kms:Encrypt", PASS),
        (AURORA, "kms:Decrypt", PASS),
        (AURORA, "kms:ReEncrypt*", PASS),
        (AURORA, "kms:GenerateDataKey*", PASS),
    ],
)
def test_aurora_remove_one_action(ids, full, sid, action, expected) -> None:
    policy = render_policy("aurora", ids.key, ids.role, full=full)
    assert outcome(without_action(policy, sid, action), "aurora", ids) == expected


@FULL
def test_aurora_remove_describe_key_fails_only_without_health_checks(ids, full) -> None:
    """The health-check statement allows DescribeKey directly, which also covers RDS's call."""
    with_health = render_policy("aurora", ids.key, ids.role, full=full)
    assert outcome(without_action(with_health, AURORA, "kms:DescribeKey"), "aurora", ids) == PASS
    bare = render_policy("aurora", ids.key, ids.role, full=full, health_checks=False)
    assert outcome(without_action(bare, AURORA, "kms:DescribeKey"), "aurora", ids) == REQUIRED_FAIL


@FULL
@pytest.mark.parametrize(("purpose", "sid"), [("s3", S3), ("aurora", AURORA)])
def test_remove_via_service_allows_direct_and_other_services(ids, full, purpose, sid) -> None:
    policy = render_policy(purpose, ids.key, ids.role, full=full)
    mutated = without_condition(policy, sid, "StringEquals", "kms:ViaService")
    assert outcome(mutated, purpose, ids) == (
        "warn",
        {"no-direct-access": "warn", "no-other-service": "warn"},
    )


@FULL
def test_remove_via_service_from_grants_allows_grants_through_other_services(ids, full) -> None:
    """Direct grant calls stay denied by kms:GrantIsForAWSResource; other services do not."""
    policy = render_policy("aurora", ids.key, ids.role, full=full)
    mutated = without_condition(policy, GRANTS, "StringEquals", "kms:ViaService")
    assert outcome(mutated, "aurora", ids) == ("warn", {"no-other-service": "warn"})


@FULL
def test_remove_grant_is_for_aws_resource(ids, full) -> None:
    policy = render_policy("aurora", ids.key, ids.role, full=full)
    mutated = without_condition(policy, GRANTS, "Bool", "kms:GrantIsForAWSResource")
    report = check_policy(mutated, "aurora", ids.key, ids.role)
    assert outcome(mutated, "aurora", ids) == ("warn", {"grants-for-aws-resources-only": "warn"})
    (op,) = report.check("grants-for-aws-resources-only").fix
    assert op["op"] == "replace"
    assert op["with"] == statement(policy, GRANTS)


@FULL
@pytest.mark.parametrize(
    ("purpose", "sid"), [("s3", S3), ("aurora", AURORA), ("aurora", GRANTS), ("s3", HEALTH)]
)
def test_remove_principal_account_next_to_a_role_principal_changes_nothing(
    ids, full, purpose, sid
) -> None:
    policy = render_policy(purpose, ids.key, ids.role, full=full)
    mutated = without_condition(policy, sid, "StringEquals", "aws:PrincipalAccount")
    assert outcome(mutated, purpose, ids) == PASS


@pytest.mark.parametrize(("purpose", "sid"), [("s3", S3), ("aurora", GRANTS)])
def test_principal_account_keeps_a_star_principal_inside_the_platform_account(
    ids, purpose, sid
) -> None:
    policy = render_policy(purpose, ids.key, ids.role, full=True)
    statement(policy, sid)["Principal"] = "*"
    assert outcome(policy, purpose, ids) == ("warn", {"principal-scope": "warn"})
    mutated = without_condition(policy, sid, "StringEquals", "aws:PrincipalAccount")
    assert outcome(mutated, purpose, ids) == (
        "fail",
        {"no-public-access": "fail", "principal-scope": "fail"},
    )


@FULL
def test_s3_remove_all_conditions(ids, full) -> None:
    policy = render_policy("s3", ids.key, ids.role, full=full)
    del statement(policy, S3)["Condition"]
    assert outcome(policy, "s3", ids) == (
        "warn",
        {"no-direct-access": "warn", "no-other-service": "warn"},
    )


@FULL
def test_health_statement_removed_is_still_a_pass_but_reported(ids, full) -> None:
    policy = render_policy("s3", ids.key, ids.role, full=full)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != HEALTH]
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.verdict == "pass"
    assert report.health_checks is False
