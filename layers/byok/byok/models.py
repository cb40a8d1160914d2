"""Domain types shared by every part of byok-guard (pure Python, no AWS imports).

These are the nouns of docs/architecture.md: an environment and its two keys, the trigger that asks
for a
re-check, the checks a validation produces and the health flag they turn into. Modules exchange
these objects, never raw dicts; conversion to and from JSON / DynamoDB happens at the edges.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from byok.errors import InputError, quote

if TYPE_CHECKING:
    from byok.reasons import ReasonCode
from byok.identifiers import (
    KeyArn,
    validate_account_id,
    validate_bucket_name,
    validate_cluster_id,
    validate_environment_id,
    validate_region,
)
from byok.times import parse_display_date, parse_time, to_wire, wire_z

#: where the S3 probe writes its canary objects in a customer bucket (Lambda ``CANARY_PREFIX``
#: overrides it)
DEFAULT_CANARY_PREFIX: Final = "byok-guard/canary/"


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


class ClusterStatus(StrEnum):
    """The Aurora cluster statuses byok-guard acts on (RDS ``DBCluster.Status``; others exist).

    After its key becomes unusable a cluster goes to ``...-recoverable`` (StartDBCluster brings
    it back within 7 days), then to the terminal ``inaccessible-encryption-credentials``.
    """

    AVAILABLE = "available"
    RECOVERABLE = "inaccessible-encryption-credentials-recoverable"
    TERMINAL = "inaccessible-encryption-credentials"


class TriggerKind(StrEnum):
    API_CALL = "api_call"  # AWS API Call via CloudTrail (aws.kms)
    SERVICE_EVENT = "service_event"  # AWS Service Event via CloudTrail (RotateKey, DeleteKey...)
    KMS_NATIVE = "kms_native"  # KMS CMK Deletion / Rotation / Imported Key Material Expiration
    RDS_CLUSTER = "rds_cluster"  # RDS DB Cluster Event
    KEY_ACCESS_ERROR = "key_access_error"  # byok.platform "BYOK Key Access Error"
    POLICY_REPORT = "policy_report"  # byok.customer "BYOK Key Policy Report" (customer reporter)
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


class TriggerEvidence(Mapping[str, Any]):
    """What a trigger carries besides naming the key: read-only, with typed accessors for the
    few entries the core reads (everything else is kept verbatim for the audit trail and the
    ``byok events parse`` output, which show it as the event gave it).

    Why typed accessors: the same entries (``policy``, ``failed``, ``deletionDate``,
    ``environment_id``) are read by validation, fact gathering and the service; their names
    and types are stated here once.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    def __getitem__(self, name: str) -> Any:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"TriggerEvidence({self._data!r})"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    @property
    def environment_id(self) -> str | None:
        """The environment a platform error report or a manual request names."""
        value = self._data.get("environment_id")
        return value if isinstance(value, str) else None

    @property
    def policy(self) -> str | None:
        """The key policy text a ``PutKeyPolicy`` request carried (None: none, or not text)."""
        value = self._data.get("policy")
        return value if isinstance(value, str) else None

    @property
    def failed(self) -> bool:
        """The API call the event records failed (``errorCode`` set): it changed nothing."""
        return bool(self._data.get("failed"))

    @property
    def deletion_date(self) -> datetime | None:
        """The deletion date a ``ScheduleKeyDeletion`` response carried (None: none, or not a
        time: best effort, validation reads the authoritative date from DescribeKey)."""
        return parse_display_date(self._data.get("deletionDate"))


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
    #: when the event happened (``Z`` form with milliseconds on the wire, ``times.wire_z``)
    event_time: datetime
    event_id: str
    evidence: TriggerEvidence = field(default_factory=TriggerEvidence)
    cluster_id: str | None = None  # RDS cluster events name a cluster, not a key

    def __post_init__(self) -> None:
        object.__setattr__(self, "event_time", parse_time(self.event_time, "event_time"))
        if not isinstance(self.evidence, TriggerEvidence):  # a plain mapping, from a caller
            object.__setattr__(self, "evidence", TriggerEvidence(self.evidence))

    def to_dict(self) -> dict[str, Any]:
        d = {
            "kind": self.kind.value,
            "key_arn": self.key_arn,
            "account": self.account,
            "region": self.region,
            "event_name": self.event_name,
            "event_time": wire_z(self.event_time),
            "event_id": self.event_id,
            "evidence": self.evidence.to_dict(),
        }
        if self.cluster_id is not None:
            d["cluster_id"] = self.cluster_id
        return d


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check of a validation: status, stable reason code, customer fix, error context."""

    check_id: str
    status: CheckStatus
    reason: ReasonCode | None = None  # the catalogue's code (byok.reasons), None on pass
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
    """All checks of one environment at one instant (``checked_at``, ISO 8601 UTC on the wire)."""

    environment_id: str
    checked_at: datetime
    checks: tuple[CheckResult, ...]
    trigger: Trigger | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "checked_at", parse_time(self.checked_at, "checked_at"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment_id,
            "checked_at": to_wire(self.checked_at),
            "checks": [c.to_dict() for c in self.checks],
            "trigger": self.trigger.to_dict() if self.trigger else None,
        }
