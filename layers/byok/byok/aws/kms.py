"""KMS reads against the customer's key, by ARN, as the platform role (cross-account).

Only metadata calls: DescribeKey, GetKeyPolicy, GetKeyRotationStatus. Each returns a value or a
classified ``FactError`` so one failed read never hides the others.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.permissions import As, Resource, declare
from byok.validation.facts import FactError, KeyMetadata

__all__ = ["describe_key", "get_key_policy", "get_rotation_status"]

#: DescribeKey, GetKeyPolicy, GetKeyRotationStatus on the customer's key, as the platform role
PERMISSIONS = declare(
    ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus"),
    Resource.CUSTOMER_KEY,
    As.PLATFORM_ROLE,
)


def describe_key(kms: Any, key_arn: str) -> KeyMetadata | FactError:
    try:
        meta = kms.describe_key(KeyId=key_arn)["KeyMetadata"]
    except (ClientError, BotoCoreError) as exc:
        return classify(exc, "DescribeKey")
    return KeyMetadata.from_api(meta)


def get_key_policy(kms: Any, key_arn: str) -> str | FactError:
    try:
        return str(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    except (ClientError, BotoCoreError) as exc:
        return classify(exc, "GetKeyPolicy")


def get_rotation_status(kms: Any, key_arn: str) -> bool | FactError:
    try:
        return bool(kms.get_key_rotation_status(KeyId=key_arn)["KeyRotationEnabled"])
    except (ClientError, BotoCoreError) as exc:
        return classify(exc, "GetKeyRotationStatus")
