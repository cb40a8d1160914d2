"""Builders of validation facts for pure tests (no AWS: the facts ARE the input)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from byok.models import Environment, Purpose
from byok.validation import ClusterFacts, FactError, Facts, KeyFacts, KeyMetadata, S3ProbeFacts

CUSTOMER = "111122223333"
REGION = "eu-west-1"
S3_KEY = f"arn:aws:kms:{REGION}:{CUSTOMER}:key/11111111-2222-3333-4444-555555555555"
AURORA_KEY = f"arn:aws:kms:{REGION}:{CUSTOMER}:key/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
ROLE = "arn:aws:iam::444455556666:role/byok-platform"
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


def metadata(arn: str, **over: object) -> KeyMetadata:
    base = KeyMetadata(
        arn=arn,
        account=CUSTOMER,
        region=REGION,
        key_state="Enabled",
        key_spec="SYMMETRIC_DEFAULT",
        key_usage="ENCRYPT_DECRYPT",
        key_manager="CUSTOMER",
        origin="AWS_KMS",
    )
    return replace(base, **over)  # type: ignore[arg-type]


DENIED = FactError("AccessDeniedException", "not authorized", transient=False)


def healthy_facts() -> Facts:
    """Everything fine; policies unreadable (the contract is tested in test_policy_check)."""
    return Facts(
        keys={
            Purpose.S3: KeyFacts(
                Purpose.S3, S3_KEY, metadata(S3_KEY), policy_error=DENIED, rotation_enabled=True
            ),
            Purpose.AURORA: KeyFacts(
                Purpose.AURORA,
                AURORA_KEY,
                metadata(AURORA_KEY),
                policy_error=DENIED,
                rotation_enabled=True,
            ),
        },
        s3_probe=S3ProbeFacts("platform-data", "byok-guard/canary/acme.txt", ok=True),
        cluster=ClusterFacts("acme-db", "available", True, AURORA_KEY),
    )


def with_key(facts: Facts, purpose: Purpose, **over: object) -> Facts:
    keys = dict(facts.keys)
    keys[purpose] = replace(keys[purpose], **over)  # type: ignore[arg-type]
    return replace(facts, keys=keys)


def environment() -> Environment:
    return Environment.create(
        environment_id="acme",
        customer_account=CUSTOMER,
        region=REGION,
        s3_key_arn=S3_KEY,
        aurora_key_arn=AURORA_KEY,
        bucket="platform-data",
        cluster_id="acme-db",
    )
