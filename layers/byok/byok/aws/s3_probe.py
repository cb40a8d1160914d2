"""The S3 canary: put, get and delete one SSE-KMS object with the environment's S3 key.

Why a round trip: PutObject exercises ``kms:GenerateDataKey`` and GetObject ``kms:Decrypt``, the
two things the platform needs; the delete keeps the prefix empty.

Why a unique object key per probe (``<prefix><environment id>/<uuid>.txt``): two validations of
one environment overlap (two events, an event and the sweep); with one fixed key one probe's
delete made the other's GetObject fail with ``NoSuchKey``. A probe that crashes between put and
delete leaves its object behind: the canary prefix has a lifecycle rule expiring objects after
one day (``canary_lifecycle_rule``, docs/platform.md "Environment buckets").

Why ``BucketKeyEnabled=False``: with an S3 Bucket Key, S3 reuses a bucket-level data key for a
while and may not call KMS for the put at all, so a canary could pass after DisableKey. Without
it every put calls ``GenerateDataKey`` and every get ``Decrypt`` with the customer's key.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.models import DEFAULT_CANARY_PREFIX
from byok.permissions import As, Resource, declare
from byok.times import now, to_wire
from byok.validation.facts import S3ProbeFacts

__all__ = ["DEFAULT_CANARY_PREFIX", "canary_key", "canary_lifecycle_rule", "probe_bucket"]

#: leftovers of crashed probes live at most this long (S3 lifecycle expiration is in whole days)
CANARY_EXPIRY_DAYS: Final = 1

#: the canary round trip, and the KMS calls S3 makes for it (SSE-KMS), as the platform role
PERMISSIONS = declare(
    ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"), Resource.CANARY_OBJECT, As.PLATFORM_ROLE
) + declare(("kms:GenerateDataKey", "kms:Decrypt"), Resource.CUSTOMER_KEY, As.PLATFORM_ROLE)


def _prefix(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"


def canary_key(prefix: str, environment_id: str, probe_id: str | None = None) -> str:
    """A fresh object key for one probe (``probe_id``: a uuid unless given)."""
    return f"{_prefix(prefix)}{environment_id}/{probe_id or uuid.uuid4().hex}.txt"


def canary_lifecycle_rule(prefix: str = DEFAULT_CANARY_PREFIX) -> dict[str, Any]:
    """The lifecycle rule every environment bucket carries (``PutBucketLifecycleConfiguration``)."""
    return {
        "ID": "byok-guard-canary-expiry",
        "Filter": {"Prefix": _prefix(prefix)},
        "Status": "Enabled",
        "Expiration": {"Days": CANARY_EXPIRY_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": CANARY_EXPIRY_DAYS},
    }


def probe_bucket(
    s3: Any, bucket: str, key_arn: str, *, prefix: str, environment_id: str
) -> S3ProbeFacts:
    """Run the round trip; stops at the first failing step and reports it.

    A failed delete does not fail the probe: put and get already proved the key works, and the
    lifecycle rule removes the object; it is reported as ``cleanup_error``.
    """
    key = canary_key(prefix, environment_id)
    body = f"byok-guard canary {to_wire(now())}".encode()
    step = "put"
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key_arn,
            BucketKeyEnabled=False,
        )
        step = "get"
        got = s3.get_object(Bucket=bucket, Key=key)
        got["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        operation = {"put": "PutObject", "get": "GetObject"}[step]
        return S3ProbeFacts(bucket, key, ok=False, failed_step=step, error=classify(exc, operation))
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except (ClientError, BotoCoreError) as exc:
        return S3ProbeFacts(bucket, key, ok=True, cleanup_error=classify(exc, "DeleteObject"))
    return S3ProbeFacts(bucket, key, ok=True)
