"""Hand-written policies customers really write, and what the contract says about each.

Every case also checks that the report's fixes, applied, give a passing policy: the fix is the
exact statement to add, change or remove.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from byok.contract import apply_fix, check_policy, render_policy
from byok.errors import PolicyError

VIA_S3 = "s3.eu-west-1.amazonaws.com"


def allow(principal: Any, actions: Any, condition: dict | None = None, sid: str | None = None):
    s: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": actions}
    s["Resource"] = "*"
    if condition:
        s["Condition"] = condition
    if sid:
        s["Sid"] = sid
    return s


def with_statements(ids, purpose: str, *extra: dict[str, Any]) -> dict[str, Any]:
    policy = render_policy(purpose, ids.key, ids.role, full=True)
    policy["Statement"] += list(extra)
    return policy


def checked(policy: dict[str, Any], purpose: str, ids):
    report = check_policy(policy, purpose, ids.key, ids.role)
    fixed = apply_fix(policy, [op for c in report.checks for op in c.fix])
    after = check_policy(fixed, purpose, ids.key, ids.role)
    assert after.verdict == "pass", after.to_text()
    assert apply_fix(policy, report.fix) == fixed  # the merged fix does the same
    return report


def statuses(report) -> dict[str, str]:
    return {c.id: c.status.value for c in report.checks if c.status.value != "pass"}


def test_principal_star_without_conditions_is_open_to_outsiders(ids, purpose) -> None:
    policy = with_statements(ids, purpose, allow("*", "kms:*", sid="Everyone"))
    report = checked(policy, purpose, ids)
    assert report.verdict == "fail"
    assert statuses(report)["no-public-access"] == "fail"
    assert statuses(report)["principal-scope"] == "fail"
    public = report.check("no-public-access")
    assert public.statements == ("Everyone",)
    assert public.fix[0]["op"] == "remove"
    assert public.fix[0]["sid"] == "Everyone"


def test_principal_star_limited_to_the_two_accounts_is_not_public_but_too_wide(ids) -> None:
    """The AWS-managed-key pattern: "*" with kms:CallerAccount. No outsider gets in, but every
    platform principal does, directly and through any service."""
    cond = {"StringEquals": {"kms:CallerAccount": [ids.customer, ids.platform]}}
    policy = with_statements(ids, "s3", allow("*", ["kms:Decrypt", "kms:GenerateDataKey"], cond))
    report = checked(policy, "s3", ids)
    assert statuses(report) == {
        "no-direct-access": "warn",
        "no-other-service": "warn",
        "principal-scope": "warn",
    }
    assert report.verdict == "warn"


def test_platform_account_root_is_delegated_and_wider_than_the_contract(ids, purpose) -> None:
    policy = render_policy(purpose, ids.key, ids.role, full=True)
    for s in policy["Statement"][1:]:
        s["Principal"] = {"AWS": f"arn:aws:iam::{ids.platform}:root"}
    report = checked(policy, purpose, ids)
    assert statuses(report) == {"principal-scope": "warn"}
    scope = report.check("principal-scope")
    assert "delegates to a whole account" in scope.message
    assert "required-access" not in statuses(report)  # the platform can still work


def test_same_role_name_in_another_account_fails(ids) -> None:
    stranger = "arn:aws:iam::123456789012:role/byok-platform"
    cond = {"StringEquals": {"kms:ViaService": VIA_S3}}
    policy = with_statements(ids, "s3", allow({"AWS": stranger}, "kms:Decrypt", cond, "Copy"))
    report = checked(policy, "s3", ids)
    assert report.verdict == "fail"
    # the named role is probed as an outsider too: both checks name the statement
    assert statuses(report) == {"principal-scope": "fail", "no-public-access": "fail"}
    assert report.check("principal-scope").statements == ("Copy",)
    assert report.check("no-public-access").statements == ("Copy",)


def test_role_name_with_any_account_via_principal_arn_condition_fails(ids) -> None:
    cond = {
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/byok-platform"},
        "StringEquals": {"kms:ViaService": VIA_S3},
    }
    policy = with_statements(ids, "s3", allow("*", ["kms:Decrypt", "kms:GenerateDataKey*"], cond))
    report = checked(policy, "s3", ids)
    assert statuses(report)["principal-scope"] == "fail"


def test_partner_account_named_in_the_policy_is_an_outsider(ids, purpose) -> None:
    partner = allow({"AWS": "arn:aws:iam::123456789012:root"}, ["kms:Decrypt"], sid="Partner")
    report = checked(with_statements(ids, purpose, partner), purpose, ids)
    assert report.verdict == "fail"
    assert statuses(report)["no-public-access"] == "fail"
    assert report.check("no-public-access").statements == ("Partner",)


def test_shared_statement_is_narrowed_to_the_customer_principals(ids) -> None:
    shared = allow(
        {"AWS": [f"arn:aws:iam::{ids.customer}:role/app", "arn:aws:iam::123456789012:root"]},
        "kms:Decrypt",
        sid="Shared",
    )
    report = checked(with_statements(ids, "s3", shared), "s3", ids)
    (op,) = report.check("no-public-access").fix
    assert op["op"] == "replace"
    assert op["with"]["Principal"] == {"AWS": f"arn:aws:iam::{ids.customer}:role/app"}


def test_deny_guard_for_other_accounts_keeps_a_star_allow_closed(ids) -> None:
    guard = {
        "Sid": "DenyOutsiders",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [ids.customer, ids.platform]}},
    }
    policy = with_statements(ids, "s3", allow("*", "kms:Decrypt", sid="Anyone"), guard)
    report = checked(policy, "s3", ids)
    assert "no-public-access" not in statuses(report)
    assert statuses(report)["principal-scope"] == "warn"


def test_deny_that_blocks_the_platform_fails_and_the_fix_removes_it(ids, purpose) -> None:
    guard = {
        "Sid": "OnlyMyAccount",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:*",
        "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:PrincipalAccount": ids.customer}},
    }
    policy = with_statements(ids, purpose, guard)
    report = checked(policy, purpose, ids)
    assert statuses(report) == {"required-access": "fail"}
    required = report.check("required-access")
    assert required.statements == ("OnlyMyAccount",)
    assert [op["op"] for op in required.fix] == ["remove"]
    assert all(e["decision"] == "explicit_deny" for e in required.evidence)


def test_via_service_with_if_exists_allows_direct_calls(ids) -> None:
    """StringEqualsIfExists is true when kms:ViaService is absent (a direct call)."""
    policy = render_policy("s3", ids.key, ids.role)
    cond = policy["Statement"][0]["Condition"]
    cond["StringEqualsIfExists"] = {"kms:ViaService": cond["StringEquals"].pop("kms:ViaService")}
    report = checked(policy, "s3", ids)
    assert statuses(report) == {"no-direct-access": "warn"}


def test_via_service_wildcard_allows_every_service_of_the_region(ids) -> None:
    policy = render_policy("s3", ids.key, ids.role)
    cond = policy["Statement"][0]["Condition"]
    del cond["StringEquals"]["kms:ViaService"]
    cond["StringLike"] = {"kms:ViaService": "*.eu-west-1.amazonaws.com"}
    report = checked(policy, "s3", ids)
    assert statuses(report) == {"no-other-service": "warn"}


def test_via_service_of_another_region_breaks_the_platform(ids) -> None:
    policy = render_policy("s3", ids.key, ids.role)
    policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"] = (
        "s3.us-east-1.amazonaws.com"
    )
    report = checked(policy, "s3", ids)
    assert report.verdict == "fail"
    assert statuses(report) == {"required-access": "fail", "no-other-service": "warn"}


def test_deleted_and_recreated_role_unique_id_matches_nothing(ids) -> None:
    policy = render_policy("s3", ids.key, ids.role)
    policy["Statement"][0]["Principal"] = {"AWS": "AROAEXAMPLEUNIQUEID12"}
    report = checked(policy, "s3", ids)
    assert statuses(report) == {"required-access": "fail"}


def test_resource_of_another_key_does_not_apply(ids) -> None:
    policy = render_policy("s3", ids.key, ids.role)
    other = ids.key.replace("1234abcd", "9999abcd")
    policy["Statement"][0]["Resource"] = other
    report = checked(policy, "s3", ids)
    assert statuses(report) == {"required-access": "fail"}


def test_aurora_grants_without_grant_is_for_aws_resource_in_a_custom_statement(ids) -> None:
    custom = allow(
        {"AWS": ids.role},
        ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
        {"StringEquals": {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}},
        "MyGrants",
    )
    policy = render_policy("aurora", ids.key, ids.role, full=True)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "BYOKPlatformAuroraGrants"]
    policy["Statement"].append(custom)
    report = checked(policy, "aurora", ids)
    assert statuses(report) == {"grants-for-aws-resources-only": "warn"}
    ops = report.check("grants-for-aws-resources-only").fix
    assert [op["op"] for op in ops] == ["remove", "add"]
    assert ops[1]["statement"]["Sid"] == "BYOKPlatformAuroraGrants"


def test_empty_policy_fails_required_access_and_the_fix_adds_the_statements(ids, purpose) -> None:
    report = checked({"Version": "2012-10-17", "Statement": []}, purpose, ids)
    assert statuses(report) == {"required-access": "fail"}
    added = [op["statement"]["Sid"] for op in report.check("required-access").fix]
    expected = (
        ["BYOKPlatformS3ViaService"]
        if purpose == "s3"
        else [
            "BYOKPlatformAuroraViaService",
            "BYOKPlatformAuroraGrants",
        ]
    )
    assert added == expected


def test_policy_given_as_json_text_or_bytes(ids, purpose) -> None:
    text = json.dumps(render_policy(purpose, ids.key, ids.role))
    assert check_policy(text, purpose, ids.key, ids.role).verdict == "pass"
    assert check_policy(text.encode(), purpose, ids.key, ids.role).verdict == "pass"


def test_unparsable_policy_raises_policy_error(ids) -> None:
    with pytest.raises(PolicyError):
        check_policy('{"Statement": [{"Effect": "Maybe"}]}', "s3", ids.key, ids.role)


def test_report_dict_shape(ids) -> None:
    report = check_policy(with_statements(ids, "s3", allow("*", "kms:*")), "s3", ids.key, ids.role)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["verdict"] == "fail"
    assert [set(c) >= {"id", "status", "message", "statements", "fix"} for c in data["checks"]]
    assert all(c["fix"] for c in data["checks"] if c["status"] != "pass")
    assert all(not c["fix"] for c in data["checks"] if c["status"] == "pass")


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:SecureTransport": "true"}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"StringEquals": {"kms:EncryptionContext:app": "billing"}},
        {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}},
    ],
    ids=["secure-transport", "mfa-age", "source-ip", "encryption-context", "ifexists-source"],
)
def test_conditions_any_caller_can_meet_do_not_close_a_star_principal(ids, condition) -> None:
    """Outsiders choose these request values: the check crafts a request that meets them."""
    policy = with_statements(ids, "s3", allow("*", "kms:Decrypt", condition, "Conditional"))
    report = checked(policy, "s3", ids)
    assert statuses(report)["no-public-access"] == "fail"
    assert report.check("no-public-access").statements == ("Conditional",)


def test_account_pattern_in_a_condition_lets_outsiders_in(ids) -> None:
    cond = {"StringLike": {"aws:PrincipalAccount": "11112222333?"}}
    report = checked(with_statements(ids, "s3", allow("*", "kms:Decrypt", cond)), "s3", ids)
    assert statuses(report)["no-public-access"] == "fail"


def test_identity_conditions_keep_a_star_principal_closed(ids) -> None:
    cond = {
        "StringEquals": {"aws:PrincipalAccount": ids.customer},
        "Bool": {"aws:SecureTransport": "true"},
    }
    report = checked(with_statements(ids, "s3", allow("*", "kms:Decrypt", cond)), "s3", ids)
    assert report.verdict == "pass"


def test_service_principal_without_source_guard_is_a_confused_deputy(ids) -> None:
    service = {
        "Sid": "Logs",
        "Effect": "Allow",
        "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
    report = checked(with_statements(ids, "s3", service), "s3", ids)
    # acting for any account: outsiders (fail) and the platform account (wider, warn)
    assert statuses(report) == {"no-public-access": "fail", "principal-scope": "warn"}
    (op,) = report.check("no-public-access").fix
    assert op["op"] == "replace"
    assert op["with"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ids.customer}}
