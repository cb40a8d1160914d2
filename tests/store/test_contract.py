"""One contract, two stores: every case runs against ``DynamoDBStore`` (on moto) and
``MemoryStore``, so the in-memory twin used by fast unit tests cannot drift from the real one."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from soak import examples
from store_data import AUDIT_TABLE, ENV_TABLE, REGION, env, flag, key

from byok.errors import (
    ConflictError,
    InputError,
    NotFoundError,
    RegistrationConflict,
    StaleWriteError,
)
from byok.models import Environment, HealthStatus
from byok.store import (
    AuditKind,
    DynamoDBStore,
    HealthChangedRecord,
    MemoryStore,
    RegisteredRecord,
    RemediationRecord,
    Storage,
    create_tables,
)
from byok.times import parse_time, to_wire

_tables = itertools.count()


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    """One moto and one client for the module (a client costs ~0.3 s); fresh tables per test."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@contextmanager
def _dynamodb(client: Any) -> Iterator[Storage]:
    n = next(_tables)
    create_tables(client, f"{ENV_TABLE}-{n}", f"{AUDIT_TABLE}-{n}")
    yield DynamoDBStore(f"{ENV_TABLE}-{n}", f"{AUDIT_TABLE}-{n}", client=client)


def _memory(client: Any) -> AbstractContextManager[Storage]:
    return nullcontext(MemoryStore())


STORES: dict[str, Callable[[Any], AbstractContextManager[Storage]]] = {
    "dynamodb": _dynamodb,
    "memory": _memory,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, dynamodb: Any) -> Iterator[Storage]:
    with STORES[request.param](dynamodb) as s:
        yield s


def test_both_implement_the_protocol(store: Storage) -> None:
    assert isinstance(store, Storage)


# ---- registration --------------------------------------------------------------------------


def test_register_then_look_up(store: Storage) -> None:
    e = env()
    store.register(e)
    assert store.get_environment("acme-prod") == e
    assert store.list_environments() == [e]
    assert store.environments_for_key(key(1)) == [e]
    assert store.environments_for_key(key(2)) == [e]
    assert store.environments_for_key(key(9)) == []
    assert store.environment_for_cluster(REGION, "acme-prod-db") == e
    assert store.environment_for_cluster("us-east-1", "acme-prod-db") is None


def test_list_environments_sorted(store: Storage) -> None:
    store.register(env("zeta", 1, 2))
    store.register(env("alpha", 3, 4))
    assert [e.environment_id for e in store.list_environments()] == ["alpha", "zeta"]


def test_unknown_environment(store: Storage) -> None:
    with pytest.raises(NotFoundError, match="environment_id: no environment 'nope'"):
        store.get_environment("nope")
    with pytest.raises(NotFoundError):
        store.load_environment_state("nope")
    with pytest.raises(NotFoundError):
        store.writes_paused("nope")
    with pytest.raises(NotFoundError):
        store.set_writes_paused("nope", True, "why", "2026-11-25T04:00:00Z")
    assert store.get_flag("nope") is None


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            env("other", 1, 3),
            r"^s3_key_arn: key .*00000001.* already used by environment 'acme-prod'"
            r" as its s3 key$",
        ),
        (env("other", 3, 1), r"aurora_key_arn: key .*00000001.* environment 'acme-prod' as its s3"),
        (env("other", 2, 3), r"s3_key_arn: .* as its aurora key"),
        (env("other", 3, 4, cluster="acme-prod-db"), r"cluster_id: cluster acme-prod-db"),
        (env("acme-prod", 3, 4, cluster="x-db"), r"environment_id: environment 'acme-prod' is"),
        (
            env("other", 3, 4, bucket="acme-prod-data"),
            r"^bucket: bucket acme-prod-data is already used by environment 'acme-prod'$",
        ),
    ],
    ids=["s3-as-s3", "s3-as-aurora", "aurora-as-s3", "cluster", "duplicate-id", "bucket"],
)
def test_conflicts_are_refused_atomically(
    store: Storage, second: Environment, message: str
) -> None:
    store.register(env())
    with pytest.raises(RegistrationConflict, match=message) as info:
        store.register(second)
    assert info.value.exit_code == 2  # refused like bad input: the field is named
    assert store.list_environments() == [env()]  # nothing of the refused environment was written
    assert store.environments_for_key(key(3)) == []
    assert store.environment_for_cluster(REGION, "x-db") is None


def test_conflict_message_names_every_clash(store: Storage) -> None:
    store.register(env())
    with pytest.raises(ConflictError) as info:
        store.register(env("other", 2, 1, cluster="acme-prod-db", bucket="acme-prod-data"))
    text = str(info.value)
    assert "s3_key_arn" in text and "aurora_key_arn" in text and "cluster_id" in text
    assert "bucket: " in text


def test_same_key_for_both_purposes_refused(store: Storage) -> None:
    e = env()
    both = Environment(**{**e.to_dict(), "aurora_key_arn": e.s3_key_arn})  # bypass create()
    with pytest.raises(ConflictError, match=r"aurora_key_arn: .* \(one key per purpose\)"):
        store.register(both)
    assert store.list_environments() == []


def test_deregister_frees_everything_but_the_audit(store: Storage) -> None:
    store.register(env())
    store.put_flag(flag("2026-11-25T04:00:00Z"))
    store.append_audit("acme-prod", {"event": "registered"})
    assert store.claim_once("acme-prod", "pause-writes", {"step": "pause"})
    assert store.put_pending_event("acme-prod", "2026-11-25T04:00:00Z", {"Detail": "{}"})
    store.deregister("acme-prod")
    assert store.list_environments() == [] and store.environments_for_key(key(1)) == []
    assert len(store.list_audit("acme-prod")) == 1  # the audit trail outlives the environment
    # keys, cluster and bucket are free again
    store.register(env("other", 1, 2, cluster="acme-prod-db", bucket="acme-prod-data"))
    store.register(env("acme-prod", 3, 4, cluster="new-db", bucket="new-data"))  # the id too
    assert not store.once_claimed("acme-prod", "pause-writes")
    assert store.get_flag("acme-prod") is None
    assert store.pending_event("acme-prod") is None
    with pytest.raises(NotFoundError):
        store.deregister("nope")


# ---- update ---------------------------------------------------------------------------------


def _changed(e: Environment, **fields: str) -> Environment:
    return Environment.create(**{**e.to_dict(), **fields})


def test_update_moves_the_claims_of_what_changed(store: Storage) -> None:
    old = env()
    store.register(old)
    store.set_writes_paused("acme-prod", True, "key unusable", "2026-11-25T04:00:00Z")
    store.put_flag(flag("2026-11-25T04:00:00Z"))
    new = _changed(old, s3_key_arn=key(5), cluster_id="acme-prod-db2", bucket="acme-prod-2")
    store.update(old, new)
    assert store.get_environment("acme-prod") == new
    assert store.environments_for_key(key(5)) == [new] and store.environments_for_key(key(1)) == []
    assert store.environments_for_key(key(2)) == [new]  # unchanged claim kept
    assert store.environment_for_cluster(REGION, "acme-prod-db2") == new
    assert store.environment_for_cluster(REGION, "acme-prod-db") is None
    assert store.writes_paused("acme-prod") is True  # state under the environment stays
    assert store.get_flag("acme-prod") is not None
    store.register(env("other", 1, 3, cluster="acme-prod-db"))  # what was released is free
    store.update(new, new)  # no change: nothing to do


def test_update_can_swap_the_keys_between_purposes(store: Storage) -> None:
    old = env()
    store.register(old)
    new = _changed(old, s3_key_arn=key(2), aurora_key_arn=key(1))
    store.update(old, new)
    assert store.get_environment("acme-prod") == new
    assert store.environments_for_key(key(1)) == [new]
    store.deregister("acme-prod")  # claims still name it: all released
    store.register(env("other", 1, 2))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"s3_key_arn": key(3)}, r"^s3_key_arn: key .*00000003.* environment 'other' as its s3"),
        ({"aurora_key_arn": key(4)}, r"^aurora_key_arn: key .* 'other' as its aurora key$"),
        ({"cluster_id": "other-db"}, r"^cluster_id: cluster other-db in eu-west-1 .* 'other'$"),
    ],
    ids=["s3", "aurora", "cluster"],
)
def test_update_onto_a_taken_key_or_cluster_changes_nothing(
    store: Storage, fields: dict[str, str], message: str
) -> None:
    old = env()
    store.register(old)
    store.register(env("other", 3, 4))
    with pytest.raises(ConflictError, match=message):
        store.update(old, _changed(old, bucket="acme-prod-2", **fields))
    assert store.get_environment("acme-prod") == old
    assert store.environments_for_key(key(1)) == [old]
    assert store.environment_for_cluster(REGION, "acme-prod-db") == old


def test_update_onto_a_taken_bucket_changes_nothing(store: Storage) -> None:
    old = env()
    store.register(old)
    store.register(env("other", 3, 4))
    with pytest.raises(RegistrationConflict, match=r"^bucket: bucket other-data .* 'other'$"):
        store.update(old, _changed(old, bucket="other-data"))
    assert store.get_environment("acme-prod") == old
    store.update(old, _changed(old, bucket="acme-prod-2"))  # the old bucket is released
    store.register(env("third", 5, 6, bucket="acme-prod-data"))


def test_update_from_a_stale_read_or_of_the_identity_is_refused(store: Storage) -> None:
    old = env()
    store.register(old)
    store.update(old, _changed(old, bucket="acme-prod-2"))
    with pytest.raises(ConflictError, match="changed or was deregistered while updating"):
        store.update(old, _changed(old, bucket="acme-prod-3"))  # `old` is no longer stored
    assert store.get_environment("acme-prod").bucket == "acme-prod-2"
    current = store.get_environment("acme-prod")
    for field, value in (("region", "eu-central-1"), ("customer_account", "999988887777")):
        moved = Environment(**{**current.to_dict(), field: value})  # bypass create()
        with pytest.raises(InputError, match=f"^{field}: cannot change"):
            store.update(current, moved)
    store.deregister("acme-prod")
    with pytest.raises(ConflictError, match="changed or was deregistered"):
        store.update(current, _changed(current, bucket="acme-prod-4"))
    assert store.list_environments() == []


# ---- flags ---------------------------------------------------------------------------------


def test_flag_round_trip(store: Storage) -> None:
    f = flag(
        "2026-11-25T04:00:00+00:00",
        HealthStatus.KEY_UNUSABLE,
        reasons=("KEY_DISABLED",),
        fixes=("aws kms enable-key --key-id x",),
        errors=("DisabledException: x is disabled.",),
        transient_failures=2,
        first_transient_at="2026-11-25T03:50:00+00:00",
        last_transient_error="ThrottlingException: Rate exceeded",
        details=[{"id": "key-state", "evidence": {"days": 7, "ratio": 0.5, "ok": None}}],
    )
    store.put_flag(f, None)
    assert store.get_flag("acme-prod") == f


def test_newer_flag_replaces_older(store: Storage) -> None:
    store.put_flag(flag("2026-11-25T04:00:00Z"), None)
    newer = flag("2026-11-25T04:00:00.5Z", HealthStatus.AT_RISK)  # sub-second, other format
    store.put_flag(newer, "2026-11-25T04:00:00Z")
    assert store.get_flag("acme-prod") == newer


@pytest.mark.parametrize("older", ["2026-11-25T03:59:59Z", "2026-11-25T04:00:00+00:00"])
def test_stale_or_equal_flag_is_refused_with_the_stored_one(store: Storage, older: str) -> None:
    current = flag("2026-11-25T04:00:00Z", HealthStatus.KEY_UNUSABLE)
    store.put_flag(current, None)
    # the message names the stored time in the one wire form (times.to_wire)
    with pytest.raises(StaleWriteError, match=r"checked at 2026-11-25T04:00:00\+00:00") as info:
        store.put_flag(flag(older), None)
    assert info.value.stored == current  # the domain error carries the record that stands
    assert store.get_flag("acme-prod") == current


@pytest.mark.property
@settings(
    max_examples=examples(5, 50),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(order=st.permutations(list(range(6))), kind=st.sampled_from(sorted(STORES)))
def test_newest_flag_wins_whatever_the_write_order(
    dynamodb: Any, order: list[int], kind: str
) -> None:
    """Validations finishing in any order: the stored flag is always the newest result."""
    with STORES[kind](dynamodb) as s:
        newest_so_far = -1
        for n in order:
            try:
                s.put_flag(flag(f"2026-11-25T04:00:0{n}Z", reasons=(f"R{n}",)), None)
                assert n > newest_so_far
                newest_so_far = n
            except StaleWriteError:
                assert n < newest_so_far
        stored = s.get_flag("acme-prod")
        assert stored is not None and stored.reasons == ("R5",)


# ---- audit ---------------------------------------------------------------------------------


def test_audit_ordering_and_limit(store: Storage) -> None:
    times = ["2026-11-25T04:00:02Z", "2026-11-25T04:00:01Z", "2026-11-25T04:00:01.5Z"]
    for n, at in enumerate(times):
        rec = store.append_audit("acme-prod", {"n": n, "detail": {"x": 1.5}}, at=at)
        assert rec["n"] == n and rec["environment_id"] == "acme-prod"
        assert rec.recorded_at == parse_time(at)
    store.append_audit("other", {"n": 99})
    assert [r["n"] for r in store.list_audit("acme-prod")] == [0, 2, 1]
    assert [r["n"] for r in store.list_audit("acme-prod", newest_first=False)] == [1, 2, 0]
    assert [r["n"] for r in store.list_audit("acme-prod", limit=2)] == [0, 2]
    assert store.list_audit("acme-prod")[0]["detail"] == {"x": 1.5}


def test_typed_audit_records_round_trip(store: Storage) -> None:
    records = [
        RegisteredRecord(environment=env().to_dict()),
        HealthChangedRecord(
            status=HealthStatus.KEY_UNUSABLE,
            previous_status=HealthStatus.HEALTHY,
            reasons=("KEY_DISABLED",),
            checked_at="2026-11-25T04:00:01Z",
            trigger={"kind": "api_call", "event_name": "DisableKey"},
            checks=({"id": "key-state", "reason": "KEY_DISABLED"},),
        ),
        RemediationRecord(action="pause_writes", result="done", who="w", why="y", once_key="k"),
        RemediationRecord(action="cluster_available", result="done", who="w", why="y"),
    ]
    for n, record in enumerate(records):
        store.append_audit("acme-prod", record, at=f"2026-11-25T04:00:0{n}Z")
    stored = store.list_audit("acme-prod", newest_first=False)
    assert [e.record for e in stored] == records
    assert [e.kind for e in stored] == [
        AuditKind.REGISTERED,
        AuditKind.HEALTH_CHANGED,
        AuditKind.REMEDIATION,
        AuditKind.REMEDIATION,
    ]
    assert stored[1]["status"] == "KEY_UNUSABLE"  # the flat view readers use
    assert "once_key" not in stored[3]


# ---- remediation state -----------------------------------------------------------------------


def test_a_step_is_claimed_once_until_released(store: Storage) -> None:
    assert store.claim_once("acme-prod", "i1:pause", {"action": "pause"})
    assert not store.claim_once("acme-prod", "i1:pause", {"action": "pause"})
    assert store.once_claimed("acme-prod", "i1:pause")
    store.release_once("acme-prod", "i1:pause")
    assert not store.once_claimed("acme-prod", "i1:pause")
    assert store.claim_once("acme-prod", "i1:pause", {"action": "pause"})


def test_writes_paused_flips_once_per_value(store: Storage) -> None:
    store.register(env())
    assert store.writes_paused("acme-prod") is False
    assert store.set_writes_paused("acme-prod", True, "key unusable", "2026-11-25T04:00:00Z")
    assert not store.set_writes_paused("acme-prod", True, "again", "2026-11-25T04:00:01Z")
    assert store.writes_paused("acme-prod") is True
    assert store.set_writes_paused("acme-prod", False, "healthy", "2026-11-25T04:01:00Z")
    assert store.writes_paused("acme-prod") is False


# ---- outbox and policy memory ----------------------------------------------------------------


def test_outbox_keeps_the_newest_entry_until_published(store: Storage) -> None:
    old, new = "2026-11-25T04:00:00Z", "2026-11-25T04:00:05Z"
    assert store.pending_event("acme-prod") is None
    assert store.put_pending_event("acme-prod", new, {"Detail": "new"})
    assert not store.put_pending_event("acme-prod", old, {"Detail": "old"})  # older never wins
    pending = store.pending_event("acme-prod")
    assert pending is not None and pending.checked_at == parse_time(new)
    assert pending.entry == {"Detail": "new"}
    store.mark_event_published("acme-prod", old)  # not the pending one: nothing changes
    assert store.pending_event("acme-prod") is not None
    store.mark_event_published("acme-prod", new)
    assert store.pending_event("acme-prod") is None
    store.mark_event_published("nobody", new)  # no entry: a no-op, not an error


def test_policy_memory_keeps_the_newest_and_ties_go_to_the_later_call(store: Storage) -> None:
    assert store.recall_policy(key(1)) is None
    assert store.remember_policy(key(1), '{"v": 2}', "2026-11-25T10:00:02Z", "e2")
    assert not store.remember_policy(key(1), '{"v": 1}', "2026-11-25T10:00:01Z", "e1")
    assert store.remember_policy(key(1), '{"v": 3}', "2026-11-25T10:00:02Z", "e3")
    recalled = store.recall_policy(key(1))
    assert recalled is not None and recalled.policy == '{"v": 3}'
    assert recalled.source == "PutKeyPolicy event e3 at 2026-11-25T10:00:02Z"


# ---- one read for a validation ---------------------------------------------------------------


def test_load_environment_state(store: Storage) -> None:
    e = env()
    store.register(e)
    state = store.load_environment_state("acme-prod")
    assert (state.environment, state.flag, state.pending_event, state.writes_paused) == (
        e,
        None,
        None,
        False,
    )
    f = flag("2026-11-25T04:00:00Z", HealthStatus.KEY_UNUSABLE, reasons=("KEY_DISABLED",))
    store.put_flag(f)
    store.put_pending_event("acme-prod", f.checked_at, {"Detail": "x"})
    store.set_writes_paused("acme-prod", True, "key unusable", f.checked_at)
    store.claim_once("acme-prod", "i1:pause", {})
    state = store.load_environment_state("acme-prod")
    assert state.flag == f and state.writes_paused is True
    assert state.pending_event is not None and state.pending_event.checked_at == f.checked_at
    assert state.once_keys == {"i1:pause"}
    store.mark_event_published("acme-prod", f.checked_at)
    assert store.load_environment_state("acme-prod").pending_event is None


# ---- the change path: flag, audit and outbox in one write; leases ----------------------------


def test_a_change_commits_flag_audit_and_pending_event_together(store: Storage) -> None:
    from byok.store import FlagChange

    store.register(env())
    unusable = flag("2026-11-25T04:00:00+00:00", HealthStatus.KEY_UNUSABLE, reasons=("X",))
    change = FlagChange(
        audit=HealthChangedRecord(status=HealthStatus.KEY_UNUSABLE, checked_at=unusable.checked_at),
        entry={"Source": "byok.guard", "Detail": "{}"},
    )
    store.commit_flag(unusable, None, change)
    assert store.get_flag("acme-prod").status is HealthStatus.KEY_UNUSABLE
    pending = store.pending_event("acme-prod")
    assert pending is not None and pending.checked_at == unusable.checked_at
    changes = [a for a in store.list_audit("acme-prod") if a.kind is AuditKind.HEALTH_CHANGED]
    assert [a.recorded_at for a in changes] == [unusable.checked_at]
    older = flag("2026-11-25T03:30:00+00:00")
    with pytest.raises(StaleWriteError):  # nothing of an older change is written
        store.commit_flag(older, None, replace(change, entry={"older": True}))
    assert store.pending_event("acme-prod").entry == change.entry
    assert (
        len([a for a in store.list_audit("acme-prod") if a.kind is AuditKind.HEALTH_CHANGED]) == 1
    )


def test_a_claim_never_completed_can_be_taken_again_after_its_lease(store: Storage) -> None:
    assert store.claim_once("acme-prod", "i1:notify", {})
    assert not store.claim_once("acme-prod", "i1:notify", {})  # in progress elsewhere
    later = "2999-01-01T00:00:00+00:00"  # the claim's process has long died
    assert store.claim_once("acme-prod", "i1:notify", {}, now=later)
    store.complete_once("acme-prod", "i1:notify")
    assert not store.claim_once("acme-prod", "i1:notify", {}, now=later)  # done: never again


def test_a_decision_against_a_replaced_flag_is_taken_again(store: Storage) -> None:
    """expect_previous: the write stands only on the flag it was decided against; an older
    flag written meanwhile makes it FlagMovedError (decide again), a newer one StaleWriteError."""
    from byok.errors import FlagMovedError

    first = flag("2026-11-25T04:00:00+00:00")
    store.commit_flag(first, None, expect_previous=True)
    with pytest.raises(FlagMovedError) as moved:  # decided against "no flag": there is one
        store.commit_flag(flag("2026-11-25T04:02:00+00:00"), None, expect_previous=True)
    assert moved.value.stored.checked_at == first.checked_at
    store.commit_flag(flag("2026-11-25T04:01:00+00:00"), first.checked_at, expect_previous=True)
    with pytest.raises(FlagMovedError):  # decided against `first`, replaced by 04:01
        store.commit_flag(flag("2026-11-25T04:03:00+00:00"), first.checked_at, expect_previous=True)
    with pytest.raises(StaleWriteError):  # older than what is stored: never written
        store.commit_flag(flag("2026-11-25T03:59:00+00:00"), first.checked_at, expect_previous=True)
    assert to_wire(store.get_flag("acme-prod").checked_at) == "2026-11-25T04:01:00+00:00"


def test_policies_of_the_same_cloudtrail_second_are_all_remembered(store: Storage) -> None:
    """Two edits in one second tie: both texts are kept, whatever the delivery order; a newer
    second starts afresh; a repeated delivery changes nothing."""
    arn = key(1)
    assert store.remember_policy(arn, '{"v": "restore"}', "2026-11-25T10:00:01Z", "e2")
    assert store.remember_policy(arn, '{"v": "bad"}', "2026-11-25T10:00:01Z", "e1")  # late
    assert store.remember_policy(arn, '{"v": "bad"}', "2026-11-25T10:00:01Z", "e1")  # again
    tie = store.recall_policy(arn)
    assert dict(tie.ties) == {"e1": '{"v": "bad"}', "e2": '{"v": "restore"}'}
    assert tie.alternatives == ('{"v": "restore"}',)  # the text other than `policy`
    assert not store.remember_policy(arn, '{"v": "old"}', "2026-11-25T10:00:00Z", "e0")
    assert store.remember_policy(arn, '{"v": "new"}', "2026-11-25T10:00:02Z", "e3")
    assert store.recall_policy(arn).alternatives == ()


# ---- sweep markers (at most one queued sweep validation per environment) ------------------

T0 = parse_time("2026-11-25T04:00:00+00:00")


def _minutes(n: int) -> Any:
    from datetime import timedelta

    return T0 + timedelta(minutes=n)


def _flagged(store: Storage) -> None:
    store.register(env())
    store.commit_flag(flag("2026-11-25T03:59:00+00:00"), None, expect_previous=True)


def test_a_queued_environment_is_held_back_until_its_message_is_handled(store: Storage) -> None:
    _flagged(store)
    long_ago = _minutes(-60)
    assert store.mark_queued("acme-prod", T0, long_ago) is True
    assert store.get_flag("acme-prod").queued_at == T0  # type: ignore[union-attr]
    assert store.mark_queued("acme-prod", _minutes(5), long_ago) is False  # still queued
    assert store.mark_queued("acme-prod", T0, long_ago) is True  # the same sweep, retried
    # the validation of T0's message carries the marker forward and notes T0 handled
    read = store.get_flag("acme-prod")
    assert read is not None
    handled = replace(read, checked_at=_minutes(6), swept_at=T0)
    store.commit_flag(handled, read.checked_at, expect_previous=True)
    assert store.mark_queued("acme-prod", _minutes(10), long_ago) is True
    assert store.get_flag("acme-prod").queued_at == _minutes(10)  # type: ignore[union-attr]


def test_a_marker_older_than_the_requeue_age_counts_as_lost(store: Storage) -> None:
    _flagged(store)
    assert store.mark_queued("acme-prod", T0, _minutes(-60))
    assert not store.mark_queued("acme-prod", _minutes(30), _minutes(-30))
    assert store.mark_queued("acme-prod", _minutes(61), _minutes(1))  # T0 < 61 - 60 minutes


def test_an_environment_never_validated_is_sent_unmarked(store: Storage) -> None:
    store.register(env())
    assert store.mark_queued("acme-prod", T0, _minutes(-60))
    assert store.mark_queued("acme-prod", _minutes(5), _minutes(-55))
    assert store.get_flag("acme-prod") is None  # no half-written flag row
    assert store.mark_queued("nobody", T0, _minutes(-60))  # not registered: nothing written
    assert store.get_flag("nobody") is None


def test_a_marker_taken_back_frees_the_next_sweep_and_only_its_own(store: Storage) -> None:
    _flagged(store)
    assert store.mark_queued("acme-prod", T0, _minutes(-60))
    store.unmark_queued("acme-prod", _minutes(5))  # another sweep's: left alone
    assert store.get_flag("acme-prod").queued_at == T0  # type: ignore[union-attr]
    store.unmark_queued("acme-prod", T0)
    assert store.get_flag("acme-prod").queued_at is None  # type: ignore[union-attr]
    assert store.mark_queued("acme-prod", _minutes(5), _minutes(-55))


def test_a_flag_write_never_erases_a_marker_set_after_its_read(store: Storage) -> None:
    from byok.errors import FlagMovedError

    _flagged(store)
    read = store.get_flag("acme-prod")
    assert read is not None and read.queued_at is None
    assert store.mark_queued("acme-prod", T0, _minutes(-60))  # between read and write
    with pytest.raises(FlagMovedError) as moved:
        store.commit_flag(
            replace(read, checked_at=_minutes(1)), read.checked_at, expect_previous=True
        )
    stored = moved.value.stored
    assert isinstance(stored, type(read)) and stored.queued_at == T0
    again = replace(stored, checked_at=_minutes(1))  # decided again: the marker carried forward
    store.commit_flag(again, stored.checked_at, expect_previous=True)
    assert store.get_flag("acme-prod").queued_at == T0  # type: ignore[union-attr]
    assert not store.mark_queued("acme-prod", _minutes(5), _minutes(-55))


def test_note_swept_frees_the_marker_and_never_moves_back(store: Storage) -> None:
    _flagged(store)
    assert store.mark_queued("acme-prod", T0, _minutes(-60))
    store.note_swept("acme-prod", T0)
    store.note_swept("acme-prod", _minutes(-5))  # older: ignored
    assert store.get_flag("acme-prod").swept_at == T0  # type: ignore[union-attr]
    assert store.mark_queued("acme-prod", _minutes(5), _minutes(-55))
    store.note_swept("nobody", T0)  # no flag: nothing written
    assert store.get_flag("nobody") is None
