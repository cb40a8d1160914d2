"""render_statements / render_policy: the exact statements of docs/architecture.md section 1."""

from __future__ import annotations

import json

import pytest

from byok.contract import render_policy, render_statements
from byok.errors import InputError

S3_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
]


def test_s3_statements_allow_crypto_only_via_s3_of_the_key_region(ids) -> None:
    statements = render_statements("s3", ids.key, ids.role, health_checks=False)
    assert statements == [
        {
            "Sid": "BYOKPlatformS3ViaService",
            "Effect": "Allow",
            "Principal": {"AWS": ids.role},
            "Action": S3_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": "s3.eu-west-1.amazonaws.com",
                    "aws:PrincipalAccount": ids.platform,
                }
            },
        }
    ]


def test_aurora_statements_via_rds_and_grants_only_for_aws_resources(ids) -> None:
    via, grants = render_statements("aurora", ids.key, ids.role, health_checks=False)
    assert via["Sid"] == "BYOKPlatformAuroraViaService"
    assert via["Action"] == S3_ACTIONS
    assert via["Condition"]["StringEquals"]["kms:ViaService"] == "rds.eu-west-1.amazonaws.com"
    assert grants["Sid"] == "BYOKPlatformAuroraGrants"
    assert grants["Action"] == ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
    assert grants["Condition"] == {
        "StringEquals": {
            "kms:ViaService": "rds.eu-west-1.amazonaws.com",
            "aws:PrincipalAccount": ids.platform,
        },
        "Bool": {"kms:GrantIsForAWSResource": "true"},
    }


def test_health_check_statement_is_metadata_only_and_on_by_default(ids, purpose) -> None:
    health = render_statements(purpose, ids.key, ids.role)[-1]
    assert health["Sid"] == "BYOKPlatformHealthChecks"
    assert health["Action"] == ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"]
    assert health["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ids.platform}}
    without = render_statements(purpose, ids.key, ids.role, health_checks=False)
    assert "BYOKPlatformHealthChecks" not in [s["Sid"] for s in without]


def test_region_comes_from_the_key_arn(ids) -> None:
    key = ids.key.replace("eu-west-1", "ap-southeast-2")
    (statement,) = render_statements("s3", key, ids.role, health_checks=False)
    assert statement["Condition"]["StringEquals"]["kms:ViaService"] == (
        "s3.ap-southeast-2.amazonaws.com"
    )


def test_every_statement_uses_resource_star(ids, purpose) -> None:
    policy = render_policy(
        purpose,
        ids.key,
        ids.role,
        full=True,
        administrators=[ids.role.replace(ids.platform, ids.customer)],
    )
    assert {s["Resource"] for s in policy["Statement"]} == {"*"}


def test_full_policy_order_root_then_admins_then_platform(ids) -> None:
    admin = f"arn:aws:iam::{ids.customer}:role/KeyAdmin"
    user = f"arn:aws:iam::{ids.customer}:user/alice"
    policy = render_policy(
        "aurora", ids.key, ids.role, full=True, administrators=[admin, user, admin]
    )
    assert policy["Version"] == "2012-10-17"
    assert [s["Sid"] for s in policy["Statement"]] == [
        "EnableIAMUserPermissions",
        "AllowKeyAdministrators",
        "BYOKPlatformAuroraViaService",
        "BYOKPlatformAuroraGrants",
        "BYOKPlatformHealthChecks",
    ]
    root, admins = policy["Statement"][:2]
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ids.customer}:root"}
    assert root["Action"] == "kms:*"
    assert admins["Principal"] == {"AWS": [admin, user]}  # de-duplicated, order kept
    crypto = {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:*"}
    assert not crypto & set(admins["Action"])


def test_render_is_deterministic_byte_for_byte(ids, purpose) -> None:
    first = json.dumps(render_policy(purpose, ids.key, ids.role, full=True))
    second = json.dumps(render_policy(purpose, ids.key, ids.role, full=True))
    assert first == second


def test_statements_only_policy_wraps_the_statements(ids, purpose) -> None:
    policy = render_policy(purpose, ids.key, ids.role)
    assert policy == {
        "Version": "2012-10-17",
        "Statement": render_statements(purpose, ids.key, ids.role),
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key_arn": "arn:aws:kms:eu-west-1:111122223333:alias/x"}, "key_arn"),
        ({"key_arn": "not-an-arn"}, "key_arn"),
        ({"platform_role_arn": "arn:aws:iam::444455556666:user/bob"}, "platform_role_arn"),
        ({"platform_role_arn": "arn:aws:iam::111122223333:role/same-account"}, "platform_role_arn"),
        (
            {"platform_role_arn": "arn:aws-cn:iam::444455556666:role/other-partition"},
            "platform_role_arn",
        ),
        ({"platform_role_arn": "arn:aws:iam::444455556666:role/a*/byok"}, "platform_role_arn"),
        ({"purpose": "ebs"}, "purpose"),
    ],
)
def test_bad_input_names_the_field(ids, kwargs, field) -> None:
    args = {"purpose": "s3", "key_arn": ids.key, "platform_role_arn": ids.role} | kwargs
    with pytest.raises(InputError) as err:
        render_statements(args["purpose"], args["key_arn"], args["platform_role_arn"])
    assert err.value.message.startswith(f"{field}:")


def test_administrators_must_be_in_the_customer_account(ids) -> None:
    outsider = "arn:aws:iam::999999999999:role/KeyAdmin"
    with pytest.raises(InputError, match=r"administrators\[0\]: key administrators must be"):
        render_policy("s3", ids.key, ids.role, full=True, administrators=[outsider])
    with pytest.raises(InputError, match=r"administrators\[1\]"):
        render_policy(
            "s3", ids.key, ids.role, full=True,
            administrators=[f"arn:aws:iam::{ids.customer}:role/ok", "arn:aws:iam::1:user/x"],
        )  # fmt: skip


def test_administrators_need_full(ids) -> None:
    with pytest.raises(InputError, match="administrators: only allowed with full"):
        render_policy("s3", ids.key, ids.role, administrators=[f"arn:aws:iam::{ids.customer}:root"])
