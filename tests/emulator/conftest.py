"""Fixtures for the emulator's own tests: moto in-process with the extension, sessions per account.

Accounts follow docs/aws-notes.md's cross-account picture: the customer owns the keys
(111111111111), the platform owns the bucket and the role that uses them (222222222222).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

import byok_emulator

REGION = "eu-west-1"
CUSTOMER = "111111111111"
PLATFORM = "222222222222"
PLATFORM_ROLE = f"arn:aws:iam::{PLATFORM}:role/platform"
LOCATION = {"LocationConstraint": REGION}
NO_RETRY = Config(retries={"total_max_attempts": 1})


_BASE: list[boto3.Session] = []


def base_session() -> boto3.Session:
    """One process-wide session (default test credentials): botocore parses its models once."""
    if not _BASE:
        _BASE.append(boto3.Session(region_name=REGION))
    return _BASE[0]


def assume(account: str, role: str, *, endpoint_url: str | None = None) -> boto3.Session:
    """A session acting in ``account`` as ``role`` (moto's STS switches accounts this way).

    Sessions share one parent's parsed botocore models (``byok.aws.sessions``): creating clients
    is then cheap enough for per-test fixtures.
    """
    from byok.aws.sessions import assumed_session

    return assumed_session(
        base_session(),
        base_session().client("sts", region_name=REGION, endpoint_url=endpoint_url),
        role_arn=f"arn:aws:iam::{account}:role/{role}",
        session_name="test",
        region=REGION,
    )


def s3_key_policy(*, platform_role: str = PLATFORM_ROLE, region: str = REGION) -> dict[str, Any]:
    """Customer key policy: root administers; the platform role uses the key only via S3."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "PlatformViaS3",
                "Effect": "Allow",
                "Principal": {"AWS": platform_role},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"s3.{region}.amazonaws.com",
                        "aws:PrincipalAccount": PLATFORM,
                    }
                },
            },
        ],
    }


@pytest.fixture
def emulated() -> Iterator[None]:
    """moto in-process with the extension installed (and removed afterwards)."""
    with mock_aws(), byok_emulator.behaviour():
        yield


@pytest.fixture
def customer(emulated: None) -> boto3.Session:
    return assume(CUSTOMER, "admin")


@pytest.fixture
def platform(emulated: None) -> boto3.Session:
    return assume(PLATFORM, "platform")


@pytest.fixture
def customer_key(customer: boto3.Session) -> str:
    """ARN of an S3-purpose customer key whose policy admits the platform role via S3."""
    kms = customer.client("kms")
    return kms.create_key(Policy=json.dumps(s3_key_policy()))["KeyMetadata"]["Arn"]


@pytest.fixture
def platform_bucket(platform: boto3.Session, customer_key: str) -> str:
    """A platform bucket whose default encryption is SSE-KMS with the customer's key."""
    s3 = platform.client("s3")
    name = "platform-env-bucket"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration=LOCATION)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": customer_key,
                    }
                }
            ]
        },
    )
    return name
