"""Policies that once passed ``check`` although they open the key (issue 9), and the forms that
once crashed it. Each must fail with a check not passing and a fix naming the statement."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byok.contract import apply_fix, check_policy, expectations, parties, render_policy
from byok.models import CheckStatus

BYOK = Path(sys.executable).with_name("byok")

OPENERS: dict[str, dict[str, Any]] = {
    # the account as a JSON number: IAM compares it as the text "123456789012"
    "account-as-json-number-list": {"StringEquals": {"aws:PrincipalAccount": [123456789012]}},
    "account-as-json-number-scalar": {"StringEquals": {"aws:PrincipalAccount": 123456789012}},
    # any AWS service, acting for anyone
    "any-aws-service": {"Bool": {"aws:PrincipalIsAWSService": True}},
    "any-aws-service-as-text": {"Bool": {"aws:PrincipalIsAWSService": "true"}},
}


def opened(ids, condition: dict[str, Any], sid: str = "Opener") -> dict[str, Any]:
    """The rendered S3 policy plus one Allow of kms:Decrypt to anyone under ``condition``."""
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"].append(
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": condition,
        }
    )
    return policy


@pytest.mark.parametrize("name", OPENERS)
def test_opening_statement_fails_and_the_fix_names_it(ids, name: str) -> None:
    policy = opened(ids, OPENERS[name])
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.verdict == "fail", report.to_text()
    public = report.check("no-public-access")
    assert public.status.value == "fail"
    assert public.statements == ("Opener",)
    assert [(op["op"], op.get("sid")) for op in public.fix] == [("remove", "Opener")]
    assert check_policy(apply_fix(policy, report.fix), "s3", ids.key, ids.role).verdict == "pass"


def test_json_number_and_text_are_the_same_account(ids) -> None:
    """A number compared as its digits: allowing the platform account as a number is the same
    as allowing it as text (a warn: wider than the contract, not open)."""
    for value in (444455556666, "444455556666", [444455556666]):
        policy = opened(ids, {"StringEquals": {"aws:PrincipalAccount": value}})
        report = check_policy(policy, "s3", ids.key, ids.role)
        assert report.check("no-public-access").status.value == "pass", report.to_text()
        assert report.check("principal-scope").status.value == "warn"


def test_service_principal_pinned_to_the_customer_passes_and_unpinned_fails(ids) -> None:
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"].append(
        {
            "Sid": "Trail",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": int(ids.customer)}},
        }
    )
    assert check_policy(policy, "s3", ids.key, ids.role).verdict == "pass"
    del policy["Statement"][-1]["Condition"]
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.check("no-public-access").status.value == "fail"
    (op,) = report.check("no-public-access").fix
    assert op["op"] == "replace"
    assert op["with"]["Condition"] == {"StringEquals": {"aws:SourceAccount": ids.customer}}


@pytest.mark.parametrize("name", ["account-as-json-number-scalar", "any-aws-service"])
def test_cli_check_exits_1_with_a_verdict_and_no_traceback(ids, tmp_path: Path, name) -> None:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(opened(ids, OPENERS[name])))
    cmd = [str(BYOK), "policy", "check", "--policy", str(path), "--purpose", "s3"]
    cmd += ["--key-arn", ids.key, "--platform-role-arn", ids.role, "--format", "json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "fail"
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    assert statuses["no-public-access"] == "fail"


def test_null_flags_on_a_who_key_are_not_principal_names(ids) -> None:
    """Found by the oracle soak: ``Null aws:PrincipalServiceName false`` made "false" a
    service-principal candidate; a Null clause's values are flags, never names."""
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Null": {"aws:PrincipalServiceName": "false"}},
        }
    )
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.verdict == "pass", report.to_text()


def test_explain_says_a_cross_account_principal_needs_its_own_iam_allow(
    ids, tmp_path: Path
) -> None:
    """A principal of another account named directly in a key policy still needs its own
    account's IAM allow. IAM User Guide, "Cross-account policy evaluation logic"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
    ``explain`` also takes a session ARN as ``--principal``."""
    policy = render_policy("s3", ids.key, ids.role, full=True)
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy))
    session = f"arn:aws:sts::{ids.platform}:assumed-role/byok-platform/byok-guard-acme"
    cmd = [str(BYOK), "policy", "explain", "--policy", str(path), "--principal", session,
           "--action", "kms:Decrypt", "--resource", ids.key,
           "--context", "kms:ViaService=s3.eu-west-1.amazonaws.com"]  # fmt: skip
    done = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["decision"] == "allow"
    assert result["statements"][0]["delegated"] is False
    assert result["cross_account"] == {
        "caller_account": ids.platform,
        "resource_account": ids.customer,
    }
    text = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    assert "its own IAM policies must also allow" in text
    # the customer's own principal: same account, nothing to add
    cmd[cmd.index(session)] = f"arn:aws:iam::{ids.customer}:user/alice"
    done = subprocess.run([*cmd, "--format", "json"], capture_output=True, text=True, check=False)
    assert "cross_account" not in json.loads(done.stdout)


SINGLE_URL = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
    "reference_policies_condition-single-vs-multi-valued-context-keys.html"
)


def _tagged(ids, condition: dict[str, Any]) -> dict[str, Any]:
    return opened(ids, condition, sid="Tagged")


def test_a_set_operator_does_not_make_a_single_valued_key_multivalued(ids) -> None:
    """``aws:PrincipalTag/team`` is single-valued: a request carries at most one value for it,
    "the number of values in the request context, not the number of values in the policy
    condition" (IAM User Guide, "Single-valued vs. multivalued context keys", SINGLE_URL). So
    ``StringEquals team=blue`` and ``ForAnyValue:StringEquals team=red`` cannot both hold: no
    caller is allowed. (The checker once read the set operator as "multivalued" and reported a
    caller tagged both blue and red: a false alarm the oracle found.)"""
    policy = _tagged(
        ids,
        {
            "StringEquals": {"aws:PrincipalTag/team": "blue"},
            "ForAnyValue:StringEquals": {"aws:PrincipalTag/team": "red"},
        },
    )
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.verdict == "pass", report.to_text()
    # one value that satisfies both opens the key: the single-valued reading still finds it
    policy = _tagged(
        ids,
        {
            "StringEquals": {"aws:PrincipalTag/team": "blue"},
            "ForAnyValue:StringLike": {"aws:PrincipalTag/team": "b*"},
        },
    )
    assert check_policy(policy, "s3", ids.key, ids.role).check("no-public-access").status == (
        CheckStatus.FAIL
    )


def test_a_multivalued_key_is_multivalued_under_plain_operators_too(ids) -> None:
    """``kms:GrantOperations`` is multivalued (AWS KMS Developer Guide, "kms:GrantOperations":
    ArrayOfString; IAM User Guide, "Single-valued vs. multivalued context keys", SINGLE_URL): a
    grant request may name Decrypt and Encrypt at once, so a plain ``StringEquals Decrypt`` and
    a plain ``StringLike Enc*`` both hold for one request (the evaluator reads a plain operator
    on a multivalued key as "any value matches"). No set operator in sight: the key's type, not
    the policy, says it is multivalued."""
    policy = _tagged(
        ids,
        {
            "StringEquals": {"kms:GrantOperations": "Decrypt"},
            "StringLike": {"kms:GrantOperations": "Enc*"},
        },
    )
    policy["Statement"][-1]["Action"] = "kms:CreateGrant"
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.check("no-public-access").status is CheckStatus.FAIL, report.to_text()


def test_one_fix_round_when_a_removed_deny_unmasks_an_open_allow(ids) -> None:
    """Found by the fuzz test: ``Allow *`` hidden by ``Deny *``. The Deny breaks the required
    access, so its fix removes it, which would expose the open Allow. The fix is planned to a
    fixed point: required-access's fix also removes the Allow (at its index in the policy as
    given), and one application passes."""
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"] += [
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
        {"Sid": "Shut", "Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"},
    ]
    report = check_policy(policy, "s3", ids.key, ids.role)
    # as given, nothing is open (the Deny shuts everything): only required-access fails
    assert report.check("no-public-access").status is CheckStatus.PASS
    required = report.check("required-access")
    assert required.status is CheckStatus.FAIL
    assert [(op["op"], op.get("sid")) for op in required.fix] == [
        ("remove", "Shut"),
        ("remove", "Open"),
    ]
    open_index = len(policy["Statement"]) - 2
    assert required.fix[1]["index"] == open_index
    assert "exposed once the other operations are applied" in required.fix[1]["note"]
    fixed = apply_fix(policy, report.fix)
    assert check_policy(fixed, "s3", ids.key, ids.role).verdict == "pass"
    assert [s.get("Sid") for s in fixed["Statement"]] == [
        s.get("Sid") for s in policy["Statement"][:open_index]
    ]


def test_the_contract_calls_as_a_session_of_the_platform_role(ids) -> None:
    """The platform calls KMS as a session of its role (``arn:aws:sts::ACCOUNT:assumed-role/
    ROLE/SESSION``), so a Deny whose ``NotPrincipal`` lists the role ARN and the account but no
    session denies the platform: required-access fails. IAM User Guide, "AWS JSON policy
    elements: NotPrincipal" > "Specifying NotPrincipal with Deny"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html):
    an assumed-role user is identified by its session, which must be listed to be spared."""
    assert all(
        ":assumed-role/byok-platform/" in e.principal
        for e in expectations(parties("s3", ids.key, ids.role))
    )
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"].append(
        {
            "Sid": "OnlyPlatform",
            "Effect": "Deny",
            "NotPrincipal": {"AWS": [ids.role, ids.platform, f"arn:aws:iam::{ids.customer}:root"]},
            "Action": "kms:*",
            "Resource": "*",
        }
    )
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.check("required-access").status is CheckStatus.FAIL, report.to_text()
    assert report.check("required-access").statements == ("OnlyPlatform",)


@pytest.mark.parametrize("name", ["platform-role-arn", "customer-account"])
def test_a_service_name_value_that_is_no_service_is_no_service_caller(ids, name: str) -> None:
    """Found by the fuzz soak: an ``aws:PrincipalServiceName`` value that is not a service
    principal's name (the platform role's ARN, an account id) became a "service" candidate,
    which the evaluator then took for that role or account: a false alarm on the rendered
    policy, and a fix that never converged. Only AWS service principals carry the key (IAM User
    Guide, "AWS global condition context keys", aws:PrincipalServiceName: "This key is
    included in the request context when the call is made by an AWS service principal"), so
    only a value the evaluator reads as a service name is one."""
    value = ids.role if name == "platform-role-arn" else ids.customer
    policy = render_policy("s3", ids.key, ids.role, full=True)
    policy["Statement"].append(
        {
            "Sid": "NoSuchService",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalServiceName": value}},
        }
    )
    report = check_policy(policy, "s3", ids.key, ids.role)
    assert report.verdict == "pass", report.to_text()
