"""What the core needs from storage: one ``typing.Protocol`` and the rules every store keeps.

Why a protocol: the service, remediation and the CLI depend on these operations, not on
DynamoDB, so unit tests of remediation and incidents run on ``MemoryStore`` and a contract test
runs the same cases against both implementations. The invariants (exclusive claims, the newest
flag wins, a step runs once, an older policy or outbox entry never replaces a newer one) and
the errors that report them are stated here once; the wording of those errors is shared so both
stores say the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

from byok.errors import (
    ConflictError,
    FlagMovedError,
    InputError,
    NotFoundError,
    RegistrationConflict,
    StaleWriteError,
)
from byok.health import HealthFlag
from byok.models import Environment, Purpose
from byok.store.records import (
    AuditEntry,
    AuditRecord,
    EnvironmentState,
    FlagChange,
    OutboxEntry,
    RememberedPolicy,
)
from byok.times import now as utc_now
from byok.times import parse_time, to_wire

__all__ = [
    "CLAIM_LEASE_SECONDS",
    "MUTABLE_FIELDS",
    "Storage",
    "concurrent_change",
    "conflict_error",
    "flag_moved",
    "lease_expired_before",
    "not_registered",
    "same_key_twice",
    "stale_flag",
    "update_refused",
]

#: what ``byok env update`` may change: the keys (a new key stack), the bucket and the cluster.
#: The id, the account and the region are the environment's identity (keys and cluster are
#: bound to them): changing one is a different environment (deregister, register).
MUTABLE_FIELDS = ("s3_key_arn", "aurora_key_arn", "bucket", "cluster_id")


#: a remediation step claimed but not completed this long ago is taken to have died with its
#: process (remediate's timeout is 120 s; the scheduled run re-plans every SweepSchedule)
CLAIM_LEASE_SECONDS: Final = 900


def lease_expired_before(now: datetime | None = None) -> datetime:
    """Claims made before this time and never completed may be claimed again."""
    at = parse_time(now, "now") if now else utc_now()
    return at - timedelta(seconds=CLAIM_LEASE_SECONDS)


@runtime_checkable
class Storage(Protocol):
    """The registry, flags, audit trail, remediation markers, outbox and policy memory."""

    # ---- environments ---------------------------------------------------------------------
    def register(self, env: Environment) -> None:
        """Store ``env`` and claim its keys and cluster, all or nothing (``ConflictError``)."""

    def deregister(self, environment_id: str) -> None:
        """Delete the environment, its claims and everything under it; the audit is kept."""

    def update(self, current: Environment, new: Environment) -> None:
        """Replace ``current`` (as read) by ``new``: the changed fields, the claims of changed
        keys and cluster released and taken, all or nothing. ``ConflictError`` when a new key
        or cluster is taken or the environment changed since ``current`` was read;
        ``InputError`` for a field that may not change (``update_refused``)."""

    def get_environment(self, environment_id: str) -> Environment:
        """The environment, or ``NotFoundError``."""

    def list_environments(self) -> list[Environment]:
        """Every registered environment, sorted by id."""

    def environment_page(
        self, after: Mapping[str, str] | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, str]], dict[str, str] | None]:
        """One page of the sparse ``environments`` index (each row: the index's keys, among
        them ``environment_id``; any row is a valid ``after``) and the key to continue after
        (None: that was the last page). Eventually consistent: an environment registered a
        moment ago may first appear in the next sweep."""

    def environments_for_key(self, key_arn: str) -> list[Environment]:
        """Environments using ``key_arn`` (at most one: claims are exclusive)."""

    def environment_for_cluster(self, region: str, cluster_id: str) -> Environment | None: ...

    def load_environment_state(self, environment_id: str) -> EnvironmentState:
        """Environment, flag, pending outbox entry and writes-paused state in one consistent
        read (``NotFoundError`` when it is not registered)."""

    # ---- health flags ---------------------------------------------------------------------
    def get_flag(self, environment_id: str) -> HealthFlag | None: ...

    def put_flag(self, flag: HealthFlag, previous_checked_at: datetime | None = None) -> None:
        """Write unless the stored flag is at least as recent (``StaleWriteError``)."""

    def commit_flag(
        self,
        flag: HealthFlag,
        previous_checked_at: datetime | None = None,
        change: FlagChange | None = None,
        *,
        expect_previous: bool = False,
    ) -> None:
        """Write ``flag`` and, for a change, its audit record and pending outbox entry, all or
        nothing (``StaleWriteError`` when the stored flag is at least as recent).

        ``expect_previous``: the decision was taken against the flag checked at
        ``previous_checked_at`` (None: no flag); if another, older flag replaced it meanwhile,
        ``FlagMovedError`` carries it so the caller decides again. A write whose answer was lost
        and whose retry finds this very write stored returns normally: it is this call's own
        result, not a newer one.

        With ``expect_previous`` the write also requires the stored sweep marker to be the
        ``flag.queued_at`` it carries forward: a sweep that marked the flag meanwhile makes it
        a ``FlagMovedError`` too, so a validation never erases a newer sweep's marker."""

    # ---- sweep markers (at most one queued sweep validation per environment) -------------
    def mark_queued(self, environment_id: str, at: datetime, requeue_before: datetime) -> bool:
        """Whether the sweep of time ``at`` may enqueue a validation of the environment, and if
        so the flag is marked ``queued_at = at``, in one conditional write: yes when no marker
        is stored, when a validation handled the marked message (``swept_at >= queued_at``),
        when the marker is older than ``requeue_before`` (its message may have been lost) or
        is this very sweep's (a retried sweep invocation sends again: at least once). An
        environment without a stored flag (never validated) is sent, unmarked."""

    def unmark_queued(self, environment_id: str, at: datetime) -> None:
        """Take back the marker of the sweep ``at`` (its message could not be sent), unless a
        newer one replaced it; best effort for the caller, which logs a failure."""

    def note_swept(self, environment_id: str, at: datetime) -> None:
        """Record that the sweep message of time ``at`` was handled although its validation
        wrote no flag (a newer validation's result stood): the marker no longer holds back
        the next sweep. Never moves ``swept_at`` back."""

    # ---- audit ----------------------------------------------------------------------------
    def append_audit(
        self,
        environment_id: str,
        record: AuditRecord | Mapping[str, Any],
        at: datetime | None = None,
    ) -> AuditEntry: ...

    def list_audit(
        self, environment_id: str, limit: int | None = None, *, newest_first: bool = True
    ) -> list[AuditEntry]: ...

    # ---- remediation state ----------------------------------------------------------------
    def claim_once(
        self,
        environment_id: str,
        once_key: str,
        record: Mapping[str, Any],
        now: datetime | None = None,
        *,
        follow_up: bool = False,
    ) -> bool:
        """True for exactly one of any number of claims of the same step. A claim never
        completed (the process died between claiming and finishing the step) may be taken
        again once it is ``CLAIM_LEASE_SECONDS`` old (``now``: the time to judge by, default
        the clock), so the step is not skipped forever. ``follow_up``: the scheduled
        remediation keeps visiting the environment until ``end_follow_up``."""

    def complete_once(self, environment_id: str, once_key: str) -> None:
        """Mark a claimed step done: it is never claimed again."""

    def end_follow_up(self, environment_id: str, once_key: str) -> None:
        """The step claimed with ``follow_up`` needs no more visits (a no-op if unclaimed)."""

    def end_recovery(self, environment_id: str, checked_at: datetime) -> None:
        """The recovery checked at ``checked_at`` had its plan replayed: it leaves the attention
        index (a newer recovery's marker stays)."""

    def needing_attention(self) -> list[str]:
        """Ids of the environments with a flag that is not HEALTHY, a recovery whose plan was
        not yet replayed, or a follow-up pending (a sparse index: the healthy ones are never
        read), sorted."""

    def release_once(self, environment_id: str, once_key: str) -> None: ...

    def once_claimed(self, environment_id: str, once_key: str) -> bool: ...

    def writes_paused(self, environment_id: str) -> bool: ...

    def set_writes_paused(
        self, environment_id: str, paused: bool, reason: str, at: datetime
    ) -> bool:
        """False when the environment already had that value (``NotFoundError`` if absent)."""

    # ---- outbox of health-changed events --------------------------------------------------
    def put_pending_event(
        self, environment_id: str, checked_at: datetime, entry: Mapping[str, Any]
    ) -> bool:
        """Record ``entry`` as to be published; an older change never replaces a newer one."""

    def mark_event_published(self, environment_id: str, checked_at: datetime) -> None:
        """Mark the entry of ``checked_at`` published (a newer one stays pending)."""

    def pending_event(self, environment_id: str) -> OutboxEntry | None:
        """The unpublished entry, or None."""

    # ---- remembered key policies ----------------------------------------------------------
    def remember_policy(
        self,
        key_arn: str,
        policy: str,
        event_time: datetime,
        event_id: str,
        *,
        environment_id: str | None = None,
    ) -> bool:
        """Store unless a newer policy is stored (a tie goes to the later call); True if stored.
        With ``environment_id`` the policy is kept in that environment's partition, so
        ``load_environment_state`` returns it in the same read."""

    def recall_policy(
        self, key_arn: str, *, environment_id: str | None = None
    ) -> RememberedPolicy | None: ...


# ---- the shared wording of the store's errors ------------------------------------------------


def not_registered(environment_id: str) -> NotFoundError:
    return NotFoundError(f"environment_id: no environment {environment_id!r} is registered")


def same_key_twice(env: Environment) -> RegistrationConflict:
    return RegistrationConflict(
        f"aurora_key_arn: key {env.aurora_key_arn} is also the s3 key of environment "
        f"{env.environment_id!r} (one key per purpose)"
    )


def conflict_error(
    env: Environment,
    *,
    duplicate_id: bool,
    keys: Mapping[Purpose, tuple[str, str]],
    cluster_owner: str | None,
    bucket_owner: str | None = None,
) -> RegistrationConflict:
    """Why a registration (or an update) was refused: every clash, by field.

    ``keys``: purpose of the new environment -> (owner environment, purpose it uses the key for).
    """
    problems: list[str] = []
    if duplicate_id:
        problems.append(f"environment_id: environment {env.environment_id!r} is already registered")
    for purpose in (Purpose.S3, Purpose.AURORA):
        if purpose in keys:
            owner, used_as = keys[purpose]
            problems.append(
                f"{purpose.value}_key_arn: key {env.key_arn(purpose)} is already used by "
                f"environment {owner!r} as its {used_as} key"
            )
    if cluster_owner is not None:
        problems.append(
            f"cluster_id: cluster {env.cluster_id} in {env.region} is already used by "
            f"environment {cluster_owner!r}"
        )
    if bucket_owner is not None:
        problems.append(
            f"bucket: bucket {env.bucket} is already used by environment {bucket_owner!r}"
        )
    return RegistrationConflict("; ".join(problems))


def update_refused(current: Environment, new: Environment) -> InputError | ConflictError | None:
    """Why ``new`` may not replace ``current``, or None."""
    for name in ("environment_id", "customer_account", "region"):
        if getattr(current, name) != getattr(new, name):
            return InputError(
                f"{name}: cannot change ({getattr(current, name)!r} -> {getattr(new, name)!r}); "
                "it is the environment's identity: deregister it and register a new one"
            )
    if new.s3_key_arn == new.aurora_key_arn:
        return same_key_twice(new)
    return None


def concurrent_change(environment_id: str) -> ConflictError:
    return ConflictError(
        f"environment_id: environment {environment_id!r} changed or was deregistered while "
        "updating it; nothing was changed (show it and try again)"
    )


def flag_moved(flag: HealthFlag, stored: HealthFlag | None) -> FlagMovedError:
    when = to_wire(stored.checked_at) if stored is not None else "none"
    return FlagMovedError(
        f"health flag of {flag.environment_id!r}: replaced meanwhile by the one checked at "
        f"{when} (older than {to_wire(flag.checked_at)}); decide again",
        stored=stored,
    )


def stale_flag(flag: HealthFlag, stored: HealthFlag | None) -> StaleWriteError:
    when = to_wire(stored.checked_at) if stored is not None else "a time not older"
    return StaleWriteError(
        f"health flag of {flag.environment_id!r}: stored result checked at {when} "
        f"is not older than {to_wire(flag.checked_at)}; the newer result stands",
        stored=stored,
    )
