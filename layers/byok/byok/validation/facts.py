"""The facts a validation reads: what the AWS adapters observed about one environment, now.

Why a separate fact model: validation must be pure (fetch, then evaluate, as Cloud Custodian
does), so the adapters in ``byok.aws`` reduce every AWS answer, or every AWS error, to these
plain objects and the checks never see boto3. An error is a fact too: ``FactError`` says whether
it was transient (evidence of nothing) or definitive (evidence about the key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from byok.identifiers import KeyArn
from byok.models import Purpose
from byok.times import parse_time

__all__ = [
    "ClusterFacts",
    "FactError",
    "Facts",
    "KeyFacts",
    "KeyMetadata",
    "S3ProbeFacts",
]


@dataclass(frozen=True, slots=True)
class FactError:
    """An AWS error observed while gathering a fact, already classified.

    ``code`` is the AWS error code without the ``KMS.`` prefix S3 adds (``DisabledException``),
    or the botocore exception name for connection problems (``ReadTimeoutError``).
    """

    code: str
    message: str
    transient: bool
    operation: str | None = None

    @property
    def context(self) -> str:
        """The customer-facing error context: ``DisabledException: <arn> is disabled.``"""
        return f"{self.code}: {self.message}" if self.message else self.code

    @property
    def access_denied(self) -> bool:
        return self.code in {"AccessDenied", "AccessDeniedException"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "transient": self.transient,
            "operation": self.operation,
        }


def _time(value: Any) -> datetime | None:
    """DescribeKey times arrive as datetimes (boto3) or epoch seconds (raw JSON)."""
    if value is None or value == "":
        return None
    return parse_time(value, "KeyMetadata time")


@dataclass(frozen=True, slots=True)
class KeyMetadata:
    """The parts of DescribeKey's ``KeyMetadata`` the contract looks at."""

    arn: str
    account: str
    region: str
    key_state: str
    key_spec: str
    key_usage: str
    key_manager: str
    origin: str
    deletion_date: datetime | None = None
    valid_to: datetime | None = None
    expiration_model: str | None = None
    multi_region: bool = False

    @classmethod
    def from_api(cls, meta: Mapping[str, Any]) -> KeyMetadata:
        arn = str(meta["Arn"])
        region = KeyArn.parse(arn, "KeyMetadata.Arn").region
        return cls(
            arn=arn,
            account=str(meta.get("AWSAccountId") or KeyArn.parse(arn).account),
            region=region,
            key_state=str(meta.get("KeyState", "")),
            key_spec=str(meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or ""),
            key_usage=str(meta.get("KeyUsage", "")),
            key_manager=str(meta.get("KeyManager", "")),
            origin=str(meta.get("Origin", "")),
            deletion_date=_time(meta.get("DeletionDate")),
            valid_to=_time(meta.get("ValidTo")),
            expiration_model=meta.get("ExpirationModel"),
            multi_region=bool(meta.get("MultiRegion", False)),
        )


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """What is known about one of the environment's keys (each part may have failed)."""

    purpose: Purpose
    key_arn: str
    metadata: KeyMetadata | None = None
    metadata_error: FactError | None = None
    policy: str | None = None
    #: where ``policy`` came from: "GetKeyPolicy", or "PutKeyPolicy event <id>" when the
    #: platform may not read the policy and a forwarded event carried it
    policy_source: str | None = None
    policy_error: FactError | None = None
    #: other policy texts remembered for the same CloudTrail second as ``policy`` (a tie the
    #: key's live truth must decide, not delivery order)
    policy_alternatives: tuple[str, ...] = ()
    rotation_enabled: bool | None = None
    rotation_error: FactError | None = None
    #: other users of the same key (environment ids, "<env>/<purpose>"), from the registry
    shared_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class S3ProbeFacts:
    """The SSE-KMS canary round trip (put, get, delete) as the platform role.

    ``ok`` when put and get worked; a failed delete only sets ``cleanup_error`` (the key was
    proven usable, the lifecycle rule expires the object)."""

    bucket: str
    object_key: str
    ok: bool
    failed_step: str | None = None  # "put" | "get"
    error: FactError | None = None
    cleanup_error: FactError | None = None


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """DescribeDBClusters for the environment's Aurora cluster."""

    cluster_id: str
    status: str | None = None
    storage_encrypted: bool | None = None
    kms_key_id: str | None = None
    error: FactError | None = None


@dataclass(frozen=True, slots=True)
class PlatformIdentity:
    """The platform role's own IAM policies: the identity half of every cross-account request.

    ``policies``: (name, JSON text) of each inline policy (its name) and attached managed
    policy (its ARN, default version); ``boundary``: the permissions boundary's text, if any.
    ``error``: IAM could not be read (the identity half is then not checked).
    """

    role_arn: str
    policies: tuple[tuple[str, str], ...] = ()
    boundary: tuple[str, str] | None = None
    error: FactError | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything gathered for one environment. ``access_error``: the role could not be assumed."""

    keys: Mapping[Purpose, KeyFacts] = field(default_factory=dict)
    s3_probe: S3ProbeFacts | None = None
    cluster: ClusterFacts | None = None
    access_error: FactError | None = None
    #: the platform role's identity policies as IAM holds them (None: not read)
    platform_identity: PlatformIdentity | None = None
