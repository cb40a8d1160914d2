"""End-to-end smoke test of the policy engine on a BYOK-shaped key policy."""

from __future__ import annotations

from byok.policy import Decision, Request, evaluate, parse_policy

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
ROLE = f"arn:aws:iam::{PLATFORM}:role/platform"
SESSION = f"arn:aws:sts::{PLATFORM}:assumed-role/platform/session-1"
VIA_S3 = "s3.eu-west-1.amazonaws.com"

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Root",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "PlatformS3",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"kms:ViaService": VIA_S3, "aws:PrincipalAccount": PLATFORM}
            },
        },
        {
            "Sid": "DenyOutsiders",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:*",
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": [CUSTOMER, PLATFORM]}},
        },
    ],
}


def test_platform_session_via_s3_is_allowed_by_its_statement() -> None:
    policy = parse_policy(POLICY)
    result = evaluate(policy, Request(SESSION, "kms:decrypt", context={"kms:viaservice": VIA_S3}))
    assert result.decision is Decision.ALLOW
    assert [m.label for m in result.statements] == ["PlatformS3"]
    assert result.to_dict() == {
        "decision": "allow",
        "statements": [
            {
                "index": 1,
                "sid": "PlatformS3",
                "label": "PlatformS3",
                "effect": "Allow",
                "delegated": False,
            }
        ],
    }


def test_direct_call_without_via_service_is_implicitly_denied() -> None:
    policy = parse_policy(POLICY)
    assert evaluate(policy, Request(SESSION, "kms:Decrypt")).decision is Decision.IMPLICIT_DENY


def test_customer_principal_is_allowed_through_delegation() -> None:
    policy = parse_policy(POLICY)
    result = evaluate(policy, Request(f"arn:aws:iam::{CUSTOMER}:user/admin", "kms:DisableKey"))
    assert result.decision is Decision.ALLOW
    assert result.statements[0].delegated is True
    assert result.delegated is True


def test_same_role_name_in_another_account_is_explicitly_denied() -> None:
    policy = parse_policy(POLICY)
    result = evaluate(
        policy,
        Request(
            "arn:aws:sts::999999999999:assumed-role/platform/x",
            "kms:Decrypt",
            context={"kms:ViaService": VIA_S3},
        ),
    )
    assert result.decision is Decision.EXPLICIT_DENY
    assert result.to_dict()["statements"][0]["label"] == "DenyOutsiders"
