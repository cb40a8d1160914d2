"""byok.store against moto's DynamoDB: registration atomicity, stale writes, audit order."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from byok.errors import ConflictError, NotFoundError, StaleWriteError
from byok.health import HealthFlag
from byok.models import Environment, HealthStatus
from byok.store import Store, create_tables, time_key

ACCOUNT = "111122223333"
REGION = "eu-west-1"
ENV_TABLE, AUDIT_TABLE, IDEM_TABLE = "byok-environments", "byok-audit", "byok-idempotency"


def key(n: int) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{n:08d}-1111-2222-3333-444444444444"


def env(env_id: str = "acme-prod", s3: int = 1, aurora: int = 2, cluster: str = "") -> Environment:
    return Environment.create(
        environment_id=env_id,
        customer_account=ACCOUNT,
        region=REGION,
        s3_key_arn=key(s3),
        aurora_key_arn=key(aurora),
        bucket=f"{env_id}-data",
        cluster_id=cluster or f"{env_id}-db",
    )


@pytest.fixture
def client() -> Iterator[object]:
    with mock_aws():
        c = boto3.client("dynamodb", region_name=REGION)
        create_tables(c, ENV_TABLE, AUDIT_TABLE, IDEM_TABLE)
        yield c


@pytest.fixture
def store(client: object) -> Store:
    return Store(ENV_TABLE, AUDIT_TABLE, client=client)


def all_items(client: object) -> list[dict]:
    return client.scan(TableName=ENV_TABLE)["Items"]  # type: ignore[attr-defined]


# ---- tables --------------------------------------------------------------------------------


def test_create_tables_layout(client: object) -> None:
    for name in (ENV_TABLE, AUDIT_TABLE):
        table = client.describe_table(TableName=name)["Table"]  # type: ignore[attr-defined]
        assert table["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    idem = client.describe_table(TableName=IDEM_TABLE)["Table"]  # type: ignore[attr-defined]
    assert idem["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    ttl = client.describe_time_to_live(TableName=IDEM_TABLE)  # type: ignore[attr-defined]
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    create_tables(client, ENV_TABLE, AUDIT_TABLE, IDEM_TABLE)  # idempotent


# ---- registration --------------------------------------------------------------------------


def test_register_writes_env_and_claims(store: Store, client: object) -> None:
    e = env()
    store.register(e)
    keys = {(i["pk"]["S"], i["sk"]["S"]) for i in all_items(client)}
    assert keys == {
        ("ENV#acme-prod", "META"),
        (f"KEY#{key(1)}", "CLAIM"),
        (f"KEY#{key(2)}", "CLAIM"),
        (f"CLUSTER#{REGION}#acme-prod-db", "CLAIM"),
    }
    assert store.get_environment("acme-prod") == e
    assert store.list_environments() == [e]
    assert store.environments_for_key(key(1)) == [e]
    assert store.environments_for_key(key(2)) == [e]
    assert store.environments_for_key(key(9)) == []
    assert store.environment_for_cluster(REGION, "acme-prod-db") == e
    assert store.environment_for_cluster("us-east-1", "acme-prod-db") is None


def test_list_environments_sorted(store: Store) -> None:
    store.register(env("zeta", 1, 2))
    store.register(env("alpha", 3, 4))
    assert [e.environment_id for e in store.list_environments()] == ["alpha", "zeta"]


def test_unknown_environment(store: Store) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        store.get_environment("nope")
    assert store.get_flag("nope") is None


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (
            env("other", 1, 3),
            r"s3_key_arn: key .*00000001.* already used by environment 'acme-prod'"
            r" as its s3 key",
        ),
        (env("other", 3, 1), r"aurora_key_arn: key .*00000001.* environment 'acme-prod' as its s3"),
        (env("other", 2, 3), r"s3_key_arn: .* as its aurora key"),
        (env("other", 3, 4, cluster="acme-prod-db"), r"cluster_id: cluster acme-prod-db"),
        (env("acme-prod", 3, 4, cluster="x-db"), r"environment_id: environment 'acme-prod' is"),
    ],
    ids=["s3-as-s3", "s3-as-aurora", "aurora-as-s3", "cluster", "duplicate-id"],
)
def test_conflicts_are_refused_atomically(
    store: Store, client: object, second: Environment, message: str
) -> None:
    store.register(env())
    before = all_items(client)
    with pytest.raises(ConflictError, match=message):
        store.register(second)
    assert all_items(client) == before  # nothing of the refused environment was written


def test_conflict_message_names_every_clash(store: Store) -> None:
    store.register(env())
    with pytest.raises(ConflictError) as info:
        store.register(env("other", 2, 1, cluster="acme-prod-db"))
    text = str(info.value)
    assert "s3_key_arn" in text and "aurora_key_arn" in text and "cluster_id" in text


def test_same_key_for_both_purposes_refused_by_store(store: Store, client: object) -> None:
    e = env()
    both = Environment(**{**e.to_dict(), "aurora_key_arn": e.s3_key_arn})  # bypass create()
    with pytest.raises(ConflictError, match=r"aurora_key_arn: .* \(one key per purpose\)"):
        store.register(both)
    assert all_items(client) == []


def test_deregister_frees_keys_and_cluster(store: Store, client: object) -> None:
    e = env()
    store.register(e)
    store.put_flag(flag("2026-11-25T04:00:00Z"))
    store.append_audit("acme-prod", {"event": "registered"})
    assert store.claim_once("acme-prod", "pause-writes", {"step": "pause"})
    store.deregister("acme-prod")
    assert all_items(client) == []
    assert len(store.list_audit("acme-prod")) == 1  # the audit trail outlives the environment
    store.register(env("other", 1, 2, cluster="acme-prod-db"))  # keys are free again
    store.register(
        env("acme-prod", 3, 4, cluster="new-db")
    )  # the id too, with no remediation state inherited
    assert not store.once_claimed("acme-prod", "pause-writes")
    assert store.get_flag("acme-prod") is None
    with pytest.raises(NotFoundError):
        store.deregister("nope")


# ---- flags ---------------------------------------------------------------------------------


def flag(checked_at: str, status: HealthStatus = HealthStatus.HEALTHY, **kw: object) -> HealthFlag:
    return HealthFlag(
        environment_id="acme-prod",
        status=status,
        since="2026-11-25T03:00:00+00:00",
        checked_at=checked_at,
        **kw,  # type: ignore[arg-type]
    )


def test_flag_round_trip(store: Store) -> None:
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


def test_newer_flag_replaces_older(store: Store) -> None:
    store.put_flag(flag("2026-11-25T04:00:00Z"), None)
    newer = flag("2026-11-25T04:00:00.5Z", HealthStatus.AT_RISK)  # sub-second, other format
    store.put_flag(newer, "2026-11-25T04:00:00Z")
    assert store.get_flag("acme-prod") == newer


@pytest.mark.parametrize("older", ["2026-11-25T03:59:59Z", "2026-11-25T04:00:00+00:00"])
def test_stale_or_equal_flag_is_refused(store: Store, older: str) -> None:
    current = flag("2026-11-25T04:00:00Z", HealthStatus.KEY_UNUSABLE)
    store.put_flag(current, None)
    with pytest.raises(StaleWriteError, match="2026-11-25T04:00:00Z"):
        store.put_flag(flag(older), None)
    assert store.get_flag("acme-prod") == current


def test_time_key_orders_mixed_formats() -> None:
    assert time_key("2026-11-25T04:00:24Z") < time_key("2026-11-25T04:00:24.5Z")
    assert time_key("2026-11-25T05:00:00+01:00") == time_key("2026-11-25T04:00:00Z")


# ---- audit ---------------------------------------------------------------------------------


def test_audit_ordering_and_limit(store: Store) -> None:
    times = ["2026-11-25T04:00:02Z", "2026-11-25T04:00:01Z", "2026-11-25T04:00:01.5Z"]
    for n, at in enumerate(times):
        rec = store.append_audit("acme-prod", {"n": n, "detail": {"x": 1.5}}, at=at)
        assert rec["sk"].startswith(time_key(at) + "#")
        assert rec["n"] == n and rec["environment_id"] == "acme-prod"
    store.append_audit("other", {"n": 99})
    assert [r["n"] for r in store.list_audit("acme-prod")] == [0, 2, 1]
    assert [r["n"] for r in store.list_audit("acme-prod", newest_first=False)] == [1, 2, 0]
    assert [r["n"] for r in store.list_audit("acme-prod", limit=2)] == [0, 2]
    assert store.list_audit("acme-prod")[0]["detail"] == {"x": 1.5}


def test_missing_table_is_a_clear_error() -> None:
    with mock_aws():
        s = Store("missing", "missing-audit", client=boto3.client("dynamodb", region_name=REGION))
        with pytest.raises(NotFoundError, match="tables created"):
            s.get_environment("acme-prod")


# ---- order independence ----------------------------------------------------------------------


@settings(max_examples=10, deadline=None)
@given(order=st.permutations(list(range(6))))
def test_newest_flag_wins_whatever_the_write_order(order: list[int]) -> None:
    """Validations finishing in any order: the stored flag is always the newest result."""
    with mock_aws():
        c = boto3.client("dynamodb", region_name=REGION)
        create_tables(c, ENV_TABLE, AUDIT_TABLE)
        s = Store(ENV_TABLE, AUDIT_TABLE, client=c)
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
