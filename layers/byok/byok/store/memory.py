"""An in-memory ``Storage``: the same operations, invariants and errors as ``DynamoDBStore``.

Why: remediation planning, incidents and the service's bookkeeping are tested many times over
(hypothesis, parametrised cases); those tests need the store's behaviour, not DynamoDB's latency.
``tests/store/test_contract.py`` runs one set of cases against both implementations so this one
cannot drift from the real one. Values are copied through JSON on the way in, as DynamoDB
stores them, so a caller never shares a mutable object with the store. Thread-safe (one lock):
the conditional writes are atomic as in DynamoDB.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from byok import times
from byok.errors import InputError
from byok.health import HealthFlag
from byok.identifiers import partition_for
from byok.models import Environment, HealthStatus, Purpose
from byok.store import base, keys
from byok.store.records import (
    AuditEntry,
    AuditRecord,
    BucketClaim,
    ClusterClaim,
    EnvironmentState,
    FlagChange,
    KeyClaim,
    OnceMarker,
    OutboxEntry,
    RecoveryMarker,
    RememberedPolicy,
)

__all__ = ["MemoryStore"]


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


@dataclass
class _Meta:
    """The ``META`` item: the environment and its writes-paused state."""

    environment: Environment
    registered_at: datetime
    writes_paused: bool | None = None
    writes_paused_reason: str | None = None
    writes_paused_changed_at: datetime | None = None


@dataclass
class _Partition:
    """Everything under ``ENV#<id>``; as in DynamoDB, the flag, the outbox entry and the
    markers do not depend on the ``META`` item (a validation racing a deregistration may write
    a flag for an id that is gone)."""

    meta: _Meta | None = None
    flag: HealthFlag | None = None
    outbox: OutboxEntry | None = None
    once: dict[str, OnceMarker] = field(default_factory=dict)
    policies: dict[str, RememberedPolicy] = field(default_factory=dict)
    #: once keys claimed with ``follow_up`` and not ended (the attention index's markers)
    follow_ups: set[str] = field(default_factory=set)
    #: a recovery whose plan the scheduled remediation has not replayed yet
    recovery: RecoveryMarker | None = None


class MemoryStore:
    """``byok.store.base.Storage`` in a few dictionaries (tests; never deployed)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._partitions: dict[str, _Partition] = {}
        self._keys: dict[str, KeyClaim] = {}
        self._clusters: dict[tuple[str, str], ClusterClaim] = {}
        self._buckets: dict[tuple[str, str], BucketClaim] = {}
        self._audit: dict[str, list[AuditEntry]] = {}
        self._policies: dict[str, RememberedPolicy] = {}

    # ---- environments ---------------------------------------------------------------------

    def register(self, env: Environment) -> None:
        if env.s3_key_arn == env.aurora_key_arn:
            raise base.same_key_twice(env)
        with self._lock:
            clashes = {
                purpose: (claim.environment_id, claim.purpose.value)
                for purpose in (Purpose.S3, Purpose.AURORA)
                if (claim := self._keys.get(env.key_arn(purpose))) is not None
            }
            cluster = self._clusters.get((env.region, env.cluster_id))
            bucket_key = (partition_for(env.region), env.bucket)
            bucket = self._buckets.get(bucket_key)
            duplicate = self._meta(env.environment_id) is not None
            if duplicate or clashes or cluster is not None or bucket is not None:
                raise base.conflict_error(
                    env,
                    duplicate_id=duplicate,
                    keys=clashes,
                    cluster_owner=cluster.environment_id if cluster else None,
                    bucket_owner=bucket.environment_id if bucket else None,
                )
            self._partition(env.environment_id).meta = _Meta(env, times.now())
            for purpose in (Purpose.S3, Purpose.AURORA):
                arn = env.key_arn(purpose)
                self._keys[arn] = KeyClaim(arn, purpose, env.environment_id)
            self._clusters[(env.region, env.cluster_id)] = ClusterClaim(
                env.region, env.cluster_id, env.environment_id
            )
            self._buckets[bucket_key] = BucketClaim(*bucket_key, env.environment_id)

    def update(self, current: Environment, new: Environment) -> None:
        refused = base.update_refused(current, new)
        if refused is not None:
            raise refused
        if all(getattr(current, f) == getattr(new, f) for f in base.MUTABLE_FIELDS):
            return
        env_id = new.environment_id
        with self._lock:
            meta = self._meta(env_id)
            if meta is None or meta.environment != current:
                raise base.concurrent_change(env_id)
            clashes = {
                purpose: (claim.environment_id, claim.purpose.value)
                for purpose in (Purpose.S3, Purpose.AURORA)
                if (claim := self._keys.get(new.key_arn(purpose))) is not None
                and claim.environment_id != env_id
            }
            cluster = self._clusters.get((new.region, new.cluster_id))
            owner = cluster.environment_id if cluster and cluster.environment_id != env_id else None
            new_bucket = (partition_for(new.region), new.bucket)
            bucket = self._buckets.get(new_bucket)
            bucket_owner = (
                bucket.environment_id if bucket and bucket.environment_id != env_id else None
            )
            if clashes or owner is not None or bucket_owner is not None:
                raise base.conflict_error(
                    new,
                    duplicate_id=False,
                    keys=clashes,
                    cluster_owner=owner,
                    bucket_owner=bucket_owner,
                )
            for arn in (current.s3_key_arn, current.aurora_key_arn):
                self._keys.pop(arn, None)
            self._clusters.pop((current.region, current.cluster_id), None)
            self._buckets.pop((partition_for(current.region), current.bucket), None)
            self._buckets[new_bucket] = BucketClaim(*new_bucket, env_id)
            for purpose in (Purpose.S3, Purpose.AURORA):
                arn = new.key_arn(purpose)
                self._keys[arn] = KeyClaim(arn, purpose, env_id)
            self._clusters[(new.region, new.cluster_id)] = ClusterClaim(
                new.region, new.cluster_id, env_id
            )
            meta.environment = new

    def deregister(self, environment_id: str) -> None:
        with self._lock:
            env = self._registered(environment_id).environment
            del self._partitions[environment_id]  # META, HEALTH, OUTBOX, ONCE#...
            for arn in (env.s3_key_arn, env.aurora_key_arn):
                if (claim := self._keys.get(arn)) and claim.environment_id == environment_id:
                    del self._keys[arn]
            where = (env.region, env.cluster_id)
            if (owner := self._clusters.get(where)) and owner.environment_id == environment_id:
                del self._clusters[where]
            bucket_key = (partition_for(env.region), env.bucket)
            claim = self._buckets.get(bucket_key)
            if claim and claim.environment_id == environment_id:
                del self._buckets[bucket_key]

    def _partition(self, environment_id: str) -> _Partition:
        return self._partitions.setdefault(environment_id, _Partition())

    def _meta(self, environment_id: str) -> _Meta | None:
        found = self._partitions.get(environment_id)
        return found.meta if found else None

    def _registered(self, environment_id: str) -> _Meta:
        meta = self._meta(environment_id)
        if meta is None:
            raise base.not_registered(environment_id)
        return meta

    def get_environment(self, environment_id: str) -> Environment:
        with self._lock:
            return self._registered(environment_id).environment

    def list_environments(self) -> list[Environment]:
        with self._lock:
            metas = [p.meta for p in self._partitions.values() if p.meta is not None]
        return sorted((m.environment for m in metas), key=lambda e: e.environment_id)

    def environment_page(
        self, after: Mapping[str, str] | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, str]], dict[str, str] | None]:
        with self._lock:
            ids = sorted(
                p.meta.environment.environment_id for p in self._partitions.values() if p.meta
            )
        start = (after or {}).get("environment_id")
        rest = [i for i in ids if start is None or i > start]
        page = [{"environment_id": i} for i in rest[: limit or 1000]]
        more = len(rest) > len(page)
        return page, (page[-1] if more and page else None)

    def _claimed(self, environment_id: str | None) -> Environment | None:
        meta = self._meta(environment_id) if environment_id else None
        return meta.environment if meta else None  # a claim outliving its environment: nobody

    def environments_for_key(self, key_arn: str) -> list[Environment]:
        with self._lock:
            claim = self._keys.get(key_arn)
            env = self._claimed(claim.environment_id if claim else None)
        return [env] if env else []

    def environment_for_cluster(self, region: str, cluster_id: str) -> Environment | None:
        with self._lock:
            claim = self._clusters.get((region, cluster_id))
            return self._claimed(claim.environment_id if claim else None)

    def load_environment_state(self, environment_id: str) -> EnvironmentState:
        with self._lock:
            meta = self._registered(environment_id)
            part = self._partition(environment_id)
            outbox = part.outbox
            return EnvironmentState(
                environment=meta.environment,
                flag=part.flag,
                pending_event=outbox if outbox and not outbox.published else None,
                writes_paused=bool(meta.writes_paused),
                once_keys=frozenset(part.once),
                policies=dict(part.policies),
                recovery=part.recovery,
            )

    # ---- health flags ---------------------------------------------------------------------

    def get_flag(self, environment_id: str) -> HealthFlag | None:
        with self._lock:
            return self._partition(environment_id).flag

    def put_flag(self, flag: HealthFlag, previous_checked_at: datetime | None = None) -> None:
        self.commit_flag(flag, previous_checked_at)

    def commit_flag(
        self,
        flag: HealthFlag,
        previous_checked_at: datetime | None = None,
        change: FlagChange | None = None,
        *,
        expect_previous: bool = False,
    ) -> None:
        previous = times.parse_optional_time(previous_checked_at, "previous_checked_at")
        stored_copy = HealthFlag.from_dict(_copy(flag.to_row()))
        with self._lock:
            slot = self._partition(flag.environment_id)
            current = slot.flag
            if current is not None and current.checked_at >= flag.checked_at:
                raise base.stale_flag(flag, current)
            if expect_previous and (
                (current.checked_at if current else None) != previous
                or (current.queued_at if current else None) != flag.queued_at
            ):
                raise base.flag_moved(flag, current)
            slot.flag = stored_copy
            if change is not None:
                at = flag.checked_at
                slot.outbox = OutboxEntry(flag.environment_id, at, _copy(dict(change.entry)))
                body = _copy(change.audit.to_body())
                entry = AuditEntry(flag.environment_id, keys.audit_sk(at), at, body)
                self._audit.setdefault(flag.environment_id, []).append(entry)
                previous = change.audit.previous_status
                if flag.status is HealthStatus.HEALTHY and previous not in (
                    None,
                    HealthStatus.HEALTHY,
                ):
                    assert previous is not None
                    slot.recovery = RecoveryMarker(at, previous)

    # ---- sweep markers --------------------------------------------------------------------

    def mark_queued(self, environment_id: str, at: datetime, requeue_before: datetime) -> bool:
        at = times.parse_time(at, "at")
        with self._lock:
            slot = self._partitions.get(environment_id)
            current = slot.flag if slot else None
            if slot is None or current is None:
                return True  # never validated: sent, unmarked
            queued = current.queued_at
            free = (
                queued is None
                or (current.swept_at is not None and queued <= current.swept_at)
                or queued < requeue_before
                or queued == at
            )
            if free:
                slot.flag = replace(current, queued_at=at)
            return free

    def unmark_queued(self, environment_id: str, at: datetime) -> None:
        with self._lock:
            slot = self._partitions.get(environment_id)
            if slot and slot.flag is not None and slot.flag.queued_at == at:
                slot.flag = replace(slot.flag, queued_at=None)

    def note_swept(self, environment_id: str, at: datetime) -> None:
        with self._lock:
            slot = self._partitions.get(environment_id)
            flag = slot.flag if slot else None
            if slot and flag is not None and (flag.swept_at is None or flag.swept_at < at):
                slot.flag = replace(flag, swept_at=at)

    # ---- audit ----------------------------------------------------------------------------

    def append_audit(
        self,
        environment_id: str,
        record: AuditRecord | Mapping[str, Any],
        at: datetime | None = None,
    ) -> AuditEntry:
        recorded_at = times.parse_time(at, "at") if at else times.now()
        body = _copy(dict(record) if isinstance(record, Mapping) else record.to_body())
        entry = AuditEntry(environment_id, keys.audit_sk(recorded_at), recorded_at, body)
        with self._lock:
            self._audit.setdefault(environment_id, []).append(entry)
        return AuditEntry(environment_id, entry.sk, recorded_at, _copy(body))

    def list_audit(
        self, environment_id: str, limit: int | None = None, *, newest_first: bool = True
    ) -> list[AuditEntry]:
        if limit is not None and limit < 1:
            raise InputError(f"limit: expected a positive integer, got {limit!r}")
        with self._lock:
            entries = sorted(
                self._audit.get(environment_id, []), key=lambda e: e.sk, reverse=newest_first
            )
        return entries[:limit] if limit is not None else entries

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
        with self._lock:
            slot = self._partition(environment_id)
            held = slot.once.get(once_key)
            stale = base.lease_expired_before(now)
            if held is not None and (held.done or held.claimed_at >= stale):
                return False
            slot.once[once_key] = OnceMarker(
                environment_id, once_key, _copy(dict(record)), times.now()
            )
            if follow_up:
                slot.follow_ups.add(once_key)
            return True

    def complete_once(self, environment_id: str, once_key: str) -> None:
        with self._lock:
            slot = self._partition(environment_id)
            held = slot.once.get(once_key)
            if held is not None:
                slot.once[once_key] = replace(held, done=True)

    def end_follow_up(self, environment_id: str, once_key: str) -> None:
        with self._lock:
            self._partition(environment_id).follow_ups.discard(once_key)

    def end_recovery(self, environment_id: str, checked_at: datetime) -> None:
        checked_at = times.parse_time(checked_at, "checked_at")
        with self._lock:
            slot = self._partition(environment_id)
            if slot.recovery is not None and slot.recovery.checked_at == checked_at:
                slot.recovery = None

    def needing_attention(self) -> list[str]:
        with self._lock:
            return sorted(
                env_id
                for env_id, part in self._partitions.items()
                if (part.flag is not None and part.flag.status is not HealthStatus.HEALTHY)
                or part.follow_ups
                or part.recovery is not None
            )

    def release_once(self, environment_id: str, once_key: str) -> None:
        with self._lock:
            self._partition(environment_id).once.pop(once_key, None)
            self._partition(environment_id).follow_ups.discard(once_key)

    def once_claimed(self, environment_id: str, once_key: str) -> bool:
        with self._lock:
            return once_key in self._partition(environment_id).once

    def writes_paused(self, environment_id: str) -> bool:
        with self._lock:
            return bool(self._registered(environment_id).writes_paused)

    def set_writes_paused(
        self, environment_id: str, paused: bool, reason: str, at: datetime
    ) -> bool:
        with self._lock:
            reg = self._registered(environment_id)
            if reg.writes_paused is paused:
                return False
            reg.writes_paused = paused
            reg.writes_paused_reason = reason
            reg.writes_paused_changed_at = times.parse_time(at, "at")
            return True

    # ---- outbox of health-changed events --------------------------------------------------

    def put_pending_event(
        self, environment_id: str, checked_at: datetime, entry: Mapping[str, Any]
    ) -> bool:
        checked_at = times.parse_time(checked_at, "checked_at")
        with self._lock:
            slot = self._partition(environment_id)
            if slot.outbox is not None and not slot.outbox.checked_at < checked_at:
                return False
            slot.outbox = OutboxEntry(environment_id, checked_at, _copy(dict(entry)), False)
            return True

    def mark_event_published(self, environment_id: str, checked_at: datetime) -> None:
        checked_at = times.parse_time(checked_at, "checked_at")
        with self._lock:
            slot = self._partition(environment_id)
            if slot.outbox is not None and slot.outbox.checked_at == checked_at:
                current = slot.outbox
                slot.outbox = OutboxEntry(environment_id, checked_at, current.entry, True)

    def pending_event(self, environment_id: str) -> OutboxEntry | None:
        with self._lock:
            outbox = self._partition(environment_id).outbox
            return outbox if outbox is not None and not outbox.published else None

    # ---- remembered key policies ----------------------------------------------------------

    def _policies_of(self, environment_id: str | None) -> dict[str, RememberedPolicy]:
        if environment_id is None:
            return self._policies
        return self._partition(environment_id).policies

    def remember_policy(
        self,
        key_arn: str,
        policy: str,
        event_time: datetime,
        event_id: str,
        *,
        environment_id: str | None = None,
    ) -> bool:
        event_time = times.parse_time(event_time, "event_time")
        with self._lock:
            policies = self._policies_of(environment_id)
            current = policies.get(key_arn)
            if current is not None and not current.event_time <= event_time:
                return False
            ties = dict(current.ties) if current and current.event_time == event_time else {}
            ties[event_id] = policy
            policies[key_arn] = RememberedPolicy(key_arn, policy, event_time, event_id, ties)
            return True

    def recall_policy(
        self, key_arn: str, *, environment_id: str | None = None
    ) -> RememberedPolicy | None:
        with self._lock:
            return self._policies_of(environment_id).get(key_arn)
