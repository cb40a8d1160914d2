"""Direct KMS calls on another account's key ARN reach the owner's key; the key policy decides."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from .conftest import CUSTOMER, PLATFORM_ROLE, s3_key_policy


def _with_read_only(policy: dict) -> dict:
    policy["Statement"].append(
        {
            "Sid": "PlatformReadsMetadata",
            "Effect": "Allow",
            "Principal": {"AWS": PLATFORM_ROLE},
            "Action": ["kms:DescribeKey", "kms:GetKeyRotationStatus"],
            "Resource": "*",
        }
    )
    return policy


def test_describe_key_allowed_by_policy_reaches_the_owner(
    customer: boto3.Session, platform: boto3.Session
) -> None:
    kms = customer.client("kms")
    key = kms.create_key(Policy=json.dumps(_with_read_only(s3_key_policy())))["KeyMetadata"]
    kms.disable_key(KeyId=key["Arn"])
    meta = platform.client("kms").describe_key(KeyId=key["Arn"])["KeyMetadata"]
    assert (meta["AWSAccountId"], meta["KeyState"]) == (CUSTOMER, "Disabled")


def test_describe_key_not_in_policy_is_access_denied(
    customer_key: str, platform: boto3.Session
) -> None:
    with pytest.raises(ClientError) as caught:
        platform.client("kms").describe_key(KeyId=customer_key)
    error = caught.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "kms:DescribeKey" in error["Message"] and customer_key in error["Message"]


def test_direct_encrypt_is_denied_when_policy_requires_via_s3(
    customer_key: str, platform: boto3.Session
) -> None:
    """The contract: no direct KMS use by the platform (``kms:ViaService`` is absent)."""
    with pytest.raises(ClientError) as caught:
        platform.client("kms").generate_data_key(KeyId=customer_key, KeySpec="AES_256")
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_allowed_foreign_caller_still_meets_the_key_state(
    customer: boto3.Session, platform: boto3.Session
) -> None:
    policy = s3_key_policy()
    del policy["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"]
    kms = customer.client("kms")
    key = kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
    platform_kms = platform.client("kms")
    blob = platform_kms.generate_data_key(KeyId=key, KeySpec="AES_256")["CiphertextBlob"]
    assert platform_kms.decrypt(CiphertextBlob=blob)["KeyId"] == key  # found via the ciphertext
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as caught:
        platform_kms.decrypt(CiphertextBlob=blob, KeyId=key)
    assert caught.value.response["Error"]["Code"] == "DisabledException"


def test_get_key_policy_is_not_cross_account(customer_key: str, platform: boto3.Session) -> None:
    """GetKeyPolicy has "Cross-account use: No": a foreign key ARN is not found."""
    with pytest.raises(ClientError) as caught:
        platform.client("kms").get_key_policy(KeyId=customer_key, PolicyName="default")
    assert caught.value.response["Error"]["Code"] == "NotFoundException"


def _grant_policy(condition: dict | None) -> str:
    statement: dict = {
        "Sid": "PlatformGrants",
        "Effect": "Allow",
        "Principal": {"AWS": PLATFORM_ROLE},
        "Action": ["kms:CreateGrant", "kms:ListGrants"],
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    policy = s3_key_policy()
    policy["Statement"] = [policy["Statement"][0], statement]
    return json.dumps(policy)


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        (None, True),
        ({"Bool": {"kms:GrantIsForAWSResource": "true"}}, False),
        ({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}, True),
        ({"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt"]}}, False),
    ],
)
def test_direct_create_grant_carries_grant_condition_keys(
    customer: boto3.Session, platform: boto3.Session, condition: dict | None, allowed: bool
) -> None:
    """A direct CreateGrant is not made by an AWS service: GrantIsForAWSResource is false."""
    key = customer.client("kms").create_key(Policy=_grant_policy(condition))["KeyMetadata"]["Arn"]
    kms = platform.client("kms")

    def grant() -> None:
        kms.create_grant(KeyId=key, GranteePrincipal=PLATFORM_ROLE, Operations=["Decrypt"])

    if allowed:
        grant()
        assert len(kms.list_grants(KeyId=key)["Grants"]) == 1
    else:
        with pytest.raises(ClientError) as caught:
            grant()
        assert caught.value.response["Error"]["Code"] == "AccessDeniedException"
