"""The S3 canary: put, get and delete one SSE-KMS object with the environment's S3 key.

Why a round trip: PutObject exercises ``kms:GenerateDataKey`` and GetObject ``kms:Decrypt``, the
two things the platform needs; the delete keeps the prefix empty. The object key is fixed per
environment (not random) so a crashed probe leaves at most one object behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.models import DEFAULT_CANARY_PREFIX
from byok.permissions import As, Resource, declare
from byok.validation.facts import S3ProbeFacts

__all__ = ["DEFAULT_CANARY_PREFIX", "canary_key", "probe_bucket"]

#: the canary round trip, and the KMS calls S3 makes for it (SSE-KMS), as the platform role
PERMISSIONS = declare(
    ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), Resource.CANARY_OBJECT, As.PLATFORM_ROLE
) + declare(("kms:GenerateDataKey", "kms:Decrypt"), Resource.CUSTOMER_KEY, As.PLATFORM_ROLE)


def canary_key(prefix: str, environment_id: str) -> str:
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    return f"{prefix}{environment_id}.txt"


def probe_bucket(
    s3: Any, bucket: str, key_arn: str, *, prefix: str, environment_id: str
) -> S3ProbeFacts:
    """Run the round trip; stops at the first failing step and reports it."""
    key = canary_key(prefix, environment_id)
    body = f"byok-guard canary {datetime.now(UTC).isoformat()}".encode()
    step = "put"
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn,
        )
        step = "get"
        got = s3.get_object(Bucket=bucket, Key=key)
        got["Body"].read()
        step = "delete"
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        operation = {"put": "PutObject", "get": "GetObject", "delete": "DeleteObject"}[step]
        return S3ProbeFacts(bucket, key, ok=False, failed_step=step, error=classify(exc, operation))
    return S3ProbeFacts(bucket, key, ok=True)
