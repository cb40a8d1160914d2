"""Typed records of what the store holds (pure Python: no AWS imports).

Why typed: the store's items are read by several parts (validation reads flags and the outbox,
remediation reads once-markers and audit records, incidents are rebuilt from the audit trail), so
each kind of item is declared once here and every implementation (``dynamodb``, ``memory``)
returns these objects, never raw rows. The environment itself is ``byok.models.Environment`` and
the flag ``byok.health.HealthFlag``; this module adds the records only the store knows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from byok.errors import InputError
from byok.health import HealthFlag
from byok.models import Environment, HealthStatus, Purpose
from byok.times import parse_optional_time, parse_time, to_wire, to_wire_optional, wire_z

__all__ = [
    "AuditEntry",
    "AuditKind",
    "AuditRecord",
    "BucketClaim",
    "ClusterClaim",
    "DeregisteredRecord",
    "EnvironmentState",
    "FlagChange",
    "HealthChangedRecord",
    "KeyClaim",
    "OnceMarker",
    "OutboxEntry",
    "RecoveryMarker",
    "RegisteredRecord",
    "RemediationRecord",
    "RememberedPolicy",
    "UpdatedRecord",
    "audit_record",
]


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """``key_arn`` belongs to one environment, for one purpose (claims are exclusive)."""

    key_arn: str
    purpose: Purpose
    environment_id: str


@dataclass(frozen=True, slots=True)
class ClusterClaim:
    """An Aurora cluster belongs to one environment."""

    region: str
    cluster_id: str
    environment_id: str


@dataclass(frozen=True, slots=True)
class BucketClaim:
    """An S3 bucket belongs to one environment (bucket names are unique within a partition)."""

    partition: str
    bucket: str
    environment_id: str


@dataclass(frozen=True, slots=True)
class OnceMarker:
    """A remediation step that was claimed (it ran, or runs now): repeats are no-ops."""

    environment_id: str
    once_key: str
    record: Mapping[str, Any]
    claimed_at: datetime
    #: completed; an uncompleted claim older than the lease may be taken again
    done: bool = False

    def __post_init__(self) -> None:
        _parse_times(self, "claimed_at")


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """The newest health-changed event of an environment and whether it went out.

    Why: the flag is written before its event is published; if ``put_events`` then fails, the
    next validation finds "no change" and would never publish, so the ready ``put_events`` entry
    waits here until it was published (at least once).
    """

    environment_id: str
    checked_at: datetime
    entry: Mapping[str, Any]
    published: bool = False

    def __post_init__(self) -> None:
        _parse_times(self, "checked_at")


@dataclass(frozen=True, slots=True)
class FlagChange:
    """What a health change records together with its flag, in the same atomic write: the
    audit record and the ``put_events`` entry waiting in the outbox.

    Why together: written one after the other, a crash (or a lost answer, whose retry finds the
    flag already changed) between the flag and the outbox left a flag no event ever announced.
    """

    audit: HealthChangedRecord
    entry: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RememberedPolicy:
    """The newest key policy text a ``PutKeyPolicy`` CloudTrail event carried for a key.

    Why: KMS does not allow GetKeyPolicy across accounts, so this copy is the only one the
    platform ever sees; the sweep (which has no event) keeps judging the policy with it.
    """

    key_arn: str
    policy: str
    event_time: datetime
    event_id: str
    #: every policy text seen in that same second, by event id (CloudTrail times have one-second
    #: resolution, so two edits may tie: which is current is for live evidence to decide)
    ties: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _parse_times(self, "event_time")

    @property
    def alternatives(self) -> tuple[str, ...]:
        """The other texts of the same second (distinct from ``policy``)."""
        return tuple(sorted({p for p in self.ties.values() if p != self.policy}))

    @property
    def source(self) -> str:
        return f"PutKeyPolicy event {self.event_id} at {wire_z(self.event_time)}"


@dataclass(frozen=True, slots=True)
class EnvironmentState:
    """Everything a validation reads about one environment, from ONE consistent query."""

    environment: Environment
    flag: HealthFlag | None
    #: the unpublished health-changed event, if any (a published one is not returned)
    pending_event: OutboxEntry | None
    writes_paused: bool
    once_keys: frozenset[str] = frozenset()
    #: remembered key policies of the environment's keys, by key ARN
    policies: Mapping[str, RememberedPolicy] = field(default_factory=dict)
    #: a recovery whose plan the scheduled remediation has not yet seen carried out
    recovery: RecoveryMarker | None = None


@dataclass(frozen=True, slots=True)
class RecoveryMarker:
    """A change to HEALTHY from an incident, kept (in the attention index) until the scheduled
    remediation has replayed its plan: the resume, the all-clear and the cluster start of a
    recovery are never lost with a lost health event, though healthy environments are not
    visited."""

    checked_at: datetime
    previous_status: HealthStatus

    def __post_init__(self) -> None:
        _parse_times(self, "checked_at")


# ---- audit records ---------------------------------------------------------------------------


class AuditKind(StrEnum):
    """The ``type`` of an audit record (written by the service, the CLI and remediation)."""

    REGISTERED = "registered"
    UPDATED = "updated"
    DEREGISTERED = "deregistered"
    HEALTH_CHANGED = "health_changed"
    REMEDIATION = "remediation"


@dataclass(frozen=True, slots=True)
class RegisteredRecord:
    """``byok env register`` stored the environment."""

    kind: ClassVar[AuditKind] = AuditKind.REGISTERED
    environment: Mapping[str, str]

    def to_body(self) -> dict[str, Any]:
        return {"type": self.kind.value, "environment": dict(self.environment)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RegisteredRecord:
        return cls(environment=dict(body.get("environment") or {}))


@dataclass(frozen=True, slots=True)
class UpdatedRecord:
    """``byok env update`` changed fields of the environment: ``field -> (old, new)``."""

    kind: ClassVar[AuditKind] = AuditKind.UPDATED
    changes: Mapping[str, tuple[str, str]]

    def to_body(self) -> dict[str, Any]:
        return {
            "type": self.kind.value,
            "changes": {
                name: {"from": old, "to": new} for name, (old, new) in self.changes.items()
            },
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> UpdatedRecord:
        changes = body.get("changes") or {}
        return cls(changes={k: (str(v["from"]), str(v["to"])) for k, v in changes.items()})


@dataclass(frozen=True, slots=True)
class DeregisteredRecord:
    """``byok env deregister`` removed the environment (what it was, for the trail)."""

    kind: ClassVar[AuditKind] = AuditKind.DEREGISTERED
    environment: Mapping[str, str]

    def to_body(self) -> dict[str, Any]:
        return {"type": self.kind.value, "environment": dict(self.environment)}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> DeregisteredRecord:
        return cls(environment=dict(body.get("environment") or {}))


@dataclass(frozen=True, slots=True)
class HealthChangedRecord:
    """A validation changed the flag (incidents are rebuilt from these)."""

    kind: ClassVar[AuditKind] = AuditKind.HEALTH_CHANGED
    status: HealthStatus
    previous_status: HealthStatus | None = None
    reasons: tuple[str, ...] = ()
    checked_at: datetime | None = None
    trigger: Mapping[str, Any] | None = None
    #: the checks that did not pass, as ``CheckResult.to_dict`` gives them
    checks: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "checked_at", parse_optional_time(self.checked_at, "checked_at"))

    def to_body(self) -> dict[str, Any]:
        return {
            "type": self.kind.value,
            "previous_status": self.previous_status.value if self.previous_status else None,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "checked_at": to_wire_optional(self.checked_at),
            "trigger": dict(self.trigger) if self.trigger is not None else None,
            "checks": [dict(c) for c in self.checks],
        }

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> HealthChangedRecord:
        previous = body.get("previous_status")
        return cls(
            status=HealthStatus(body["status"]),
            previous_status=HealthStatus(previous) if previous else None,
            reasons=tuple(body.get("reasons") or ()),
            checked_at=body.get("checked_at"),
            trigger=body.get("trigger"),
            checks=tuple(body.get("checks") or ()),
        )


@dataclass(frozen=True, slots=True)
class RemediationRecord:
    """One remediation step and its result: who did what, why, and what came of it."""

    kind: ClassVar[AuditKind] = AuditKind.REMEDIATION
    action: str
    result: str  # a ``byok.remediation.model.StepOutcome`` value
    who: str
    why: str
    detail: str = ""
    notice: str | None = None
    once_key: str | None = None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.kind.value,
            "who": self.who,
            "action": self.action,
            "why": self.why,
            "result": self.result,
            "detail": self.detail,
        }
        if self.once_key is not None:
            body["notice"] = self.notice
            body["once_key"] = self.once_key
        return body

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> RemediationRecord:
        return cls(
            action=str(body.get("action") or ""),
            result=str(body.get("result") or ""),
            who=str(body.get("who") or ""),
            why=str(body.get("why") or ""),
            detail=str(body.get("detail") or ""),
            notice=body.get("notice"),
            once_key=body.get("once_key"),
        )


AuditRecord = (
    RegisteredRecord | UpdatedRecord | DeregisteredRecord | HealthChangedRecord | RemediationRecord
)

_RECORD_TYPES: dict[AuditKind, type[AuditRecord]] = {
    AuditKind.REGISTERED: RegisteredRecord,
    AuditKind.UPDATED: UpdatedRecord,
    AuditKind.DEREGISTERED: DeregisteredRecord,
    AuditKind.HEALTH_CHANGED: HealthChangedRecord,
    AuditKind.REMEDIATION: RemediationRecord,
}


def audit_record(body: Mapping[str, Any]) -> AuditRecord | None:
    """The typed record of a stored body, or None for a body of no known kind (or malformed)."""
    try:
        kind = AuditKind(body.get("type"))
        return _RECORD_TYPES[kind].from_body(body)
    except (KeyError, ValueError, TypeError, InputError):
        return None


@dataclass(frozen=True)
class AuditEntry(Mapping[str, Any]):
    """One stored audit record with its keys.

    Reads as the flat mapping callers have always seen (``entry["status"]``,
    ``entry["recorded_at"]``); ``kind`` and ``record`` give the typed view.
    """

    environment_id: str
    sk: str
    recorded_at: datetime
    body: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _parse_times(self, "recorded_at")

    @property
    def kind(self) -> AuditKind | None:
        try:
            return AuditKind(self.body.get("type"))
        except ValueError:
            return None

    @property
    def record(self) -> AuditRecord | None:
        return audit_record(self.body)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.body,
            "environment_id": self.environment_id,
            "sk": self.sk,
            "recorded_at": to_wire(self.recorded_at),
        }

    def __getitem__(self, name: str) -> Any:
        return self.to_dict()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_dict())

    def __len__(self) -> int:
        return len(self.to_dict())


def _parse_times(record: object, *names: str) -> None:
    """Records hold aware UTC datetimes; a store row's text is parsed once, here."""
    for name in names:
        object.__setattr__(record, name, parse_time(getattr(record, name), name))
