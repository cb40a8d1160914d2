"""Domain types shared by every part of byok-guard (pure Python, no AWS imports).

These are the nouns of DESIGN.md: an environment and its two keys, the trigger that asks for a
re-check, the checks a validation produces and the health flag they turn into. Modules exchange
these objects, never raw dicts; conversion to and from JSON / DynamoDB happens at the edges.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from byok.errors import InputError, quote
from byok.identifiers import (
    KeyArn,
    validate_account_id,
    validate_bucket_name,
    validate_cluster_id,
    validate_environment_id,
    validate_region,
)


class Purpose(StrEnum):
    S3 = "s3"
    AURORA = "aurora"


class HealthStatus(StrEnum):
    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    KEY_UNUSABLE = "KEY_UNUSABLE"
    UNKNOWN = "UNKNOWN"


class CheckStatus(StrEnum):
    """Outcome of one validation check.

    ``ERROR`` means the check could not run (transient failure): it is evidence of nothing.
    """

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class TriggerKind(StrEnum):
    API_CALL = "api_call"  # AWS API Call via CloudTrail (aws.kms)
    SERVICE_EVENT = "service_event"  # AWS Service Event via CloudTrail (RotateKey, DeleteKey...)
    KMS_NATIVE = "kms_native"  # KMS CMK Deletion / Rotation / Imported Key Material Expiration
    RDS_CLUSTER = "rds_cluster"  # RDS DB Cluster Event
    KEY_ACCESS_ERROR = "key_access_error"  # byok.platform "BYOK Key Access Error"
    SCHEDULE = "schedule"  # sweep
    MANUAL = "manual"  # CLI `byok env validate`, registration


@dataclass(frozen=True, slots=True)
class Environment:
    """One customer deployment of the platform and the two keys it depends on."""

    environment_id: str
    customer_account: str
    region: str
    s3_key_arn: str
    aurora_key_arn: str
    bucket: str
    cluster_id: str

    @classmethod
    def create(cls, **fields: Any) -> Environment:
        """Validate every field; raise ``InputError`` naming the first bad one."""
        missing = [n for n in cls.__dataclass_fields__ if not fields.get(n)]
        if missing:
            raise InputError(f"{missing[0]}: required")
        env_id = validate_environment_id(fields["environment_id"])
        account = validate_account_id(fields["customer_account"], "customer_account")
        region = validate_region(fields["region"])
        keys = {}
        for name in ("s3_key_arn", "aurora_key_arn"):
            arn = KeyArn.parse(fields[name], name)
            if arn.account != account:
                raise InputError(
                    f"{name}: key must be in the customer account {quote(account)}, "
                    f"got {quote(arn.account)}"
                )
            if arn.region != region:
                raise InputError(
                    f"{name}: key must be in region {quote(region)}, got {quote(arn.region)}"
                )
            keys[name] = str(arn)
        if keys["s3_key_arn"] == keys["aurora_key_arn"]:
            raise InputError("aurora_key_arn: must differ from s3_key_arn (one key per purpose)")
        bucket = validate_bucket_name(fields["bucket"], "bucket")
        cluster = validate_cluster_id(fields["cluster_id"], "cluster_id")
        return cls(
            env_id, account, region, keys["s3_key_arn"], keys["aurora_key_arn"], bucket, cluster
        )

    def key_arn(self, purpose: Purpose) -> str:
        return self.s3_key_arn if purpose is Purpose.S3 else self.aurora_key_arn

    def purpose_of(self, key_arn: str) -> Purpose | None:
        if key_arn == self.s3_key_arn:
            return Purpose.S3
        if key_arn == self.aurora_key_arn:
            return Purpose.AURORA
        return None

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What asks for a re-check, normalised from any incoming event (see ``byok.events``).

    A trigger never decides health by itself; it names the key to re-validate and carries
    evidence (e.g. the policy text of a ``PutKeyPolicy``) that validation may use.
    """

    kind: TriggerKind
    key_arn: str | None
    account: str | None
    region: str | None
    event_name: str
    event_time: str
    event_id: str
    evidence: dict[str, Any] = field(default_factory=dict)
    cluster_id: str | None = None  # RDS cluster events name a cluster, not a key

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.kind.value,
            "key_arn": self.key_arn,
            "account": self.account,
            "region": self.region,
            "event_name": self.event_name,
            "event_time": self.event_time,
            "event_id": self.event_id,
            "evidence": self.evidence,
        }
        if self.cluster_id is not None:
            d["cluster_id"] = self.cluster_id
        return d


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of a validation: status, stable reason code, customer fix, error context."""

    check_id: str
    status: CheckStatus
    reason: str | None = None  # stable UPPER_SNAKE reason code, None on pass
    message: str = ""
    fix: str | None = None  # exact CLI command or policy statement for the customer
    purpose: Purpose | None = None
    error: str | None = None  # e.g. "DisabledException: arn:... is disabled."
    evidence: dict[str, Any] = field(default_factory=dict)
    #: the health this outcome implies on its own (HEALTHY / AT_RISK / KEY_UNUSABLE); None when
    #: the check could not run (ERROR) or did not apply (SKIP): such a check is evidence of nothing
    impact: HealthStatus | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.check_id,
            "impact": self.impact.value if self.impact else None,
            "status": self.status.value,
            "reason": self.reason,
            "message": self.message,
            "fix": self.fix,
            "purpose": self.purpose.value if self.purpose else None,
            "error": self.error,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """All checks of one environment at one instant (``checked_at``, ISO 8601 UTC)."""

    environment_id: str
    checked_at: str
    checks: tuple[CheckResult, ...]
    trigger: Trigger | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment_id,
            "checked_at": self.checked_at,
            "checks": [c.to_dict() for c in self.checks],
            "trigger": self.trigger.to_dict() if self.trigger else None,
        }
