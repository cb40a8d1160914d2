"""What only the DynamoDB store has: the item layout, the tables, error translation, and the
number of requests a read costs (the shared behaviour is in ``test_contract.py``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, NoRegionError
from moto import mock_aws
from store_data import AUDIT_TABLE, ENV_TABLE, REGION, env, flag, key

import byok_emulator
from byok.errors import ByokError, ConflictError, InputError, NotFoundError, TransientError
from byok.store import Store, create_tables, time_key
from byok.store.dynamodb import translate
from byok_emulator import faults

IDEM_TABLE = "byok-idempotency"


_tables = itertools.count()


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """One moto and one client for the module (a client costs ~0.3 s); fresh tables per test."""
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.fixture
def store(client: Any) -> Store:
    n = next(_tables)
    create_tables(client, f"{ENV_TABLE}-{n}", f"{AUDIT_TABLE}-{n}")
    return Store(f"{ENV_TABLE}-{n}", f"{AUDIT_TABLE}-{n}", client=client)


def all_items(store: Store) -> list[dict]:
    return store.client.scan(TableName=store.environments_table)["Items"]


def test_create_tables_layout(client: Any) -> None:
    create_tables(client, ENV_TABLE, AUDIT_TABLE, IDEM_TABLE)
    for name in (ENV_TABLE, AUDIT_TABLE):
        table = client.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    idem = client.describe_table(TableName=IDEM_TABLE)["Table"]
    assert idem["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    ttl = client.describe_time_to_live(TableName=IDEM_TABLE)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiration"
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    create_tables(client, ENV_TABLE, AUDIT_TABLE, IDEM_TABLE)  # idempotent


def test_item_layout(store: Store) -> None:
    """The key scheme of ``byok.store.keys``, as operators and template.yaml see it."""
    store.register(env())
    store.put_flag(flag("2026-11-25T04:00:00Z"))
    store.put_pending_event("acme-prod", "2026-11-25T04:00:00Z", {"Detail": "{}"})
    store.claim_once("acme-prod", "i1:pause", {})
    store.remember_policy(key(1), "{}", "2026-11-25T04:00:00Z", "e1")
    assert {(i["pk"]["S"], i["sk"]["S"]) for i in all_items(store)} == {
        ("ENV#acme-prod", "META"),
        ("ENV#acme-prod", "HEALTH"),
        ("ENV#acme-prod", "OUTBOX"),
        ("ENV#acme-prod", "ONCE#i1:pause"),
        (f"KEY#{key(1)}", "CLAIM"),
        (f"KEY#{key(1)}", "POLICY"),
        (f"KEY#{key(2)}", "CLAIM"),
        (f"CLUSTER#{REGION}#acme-prod-db", "CLAIM"),
        ("BUCKET#aws#acme-prod-data", "CLAIM"),
    }
    rec = store.append_audit("acme-prod", {"n": 1}, at="2026-11-25T04:00:01Z")
    assert rec.sk.startswith(time_key("2026-11-25T04:00:01Z") + "#")


def test_refused_registration_writes_nothing(store: Store) -> None:
    store.register(env())
    before = all_items(store)
    with pytest.raises(ConflictError):
        store.register(env("other", 2, 1, cluster="acme-prod-db"))
    assert all_items(store) == before


def test_time_key_orders_mixed_formats() -> None:
    assert time_key("2026-11-25T04:00:24Z") < time_key("2026-11-25T04:00:24.5Z")
    assert time_key("2026-11-25T05:00:00+01:00") == time_key("2026-11-25T04:00:00Z")


def test_missing_table_is_a_clear_error(client: Any) -> None:
    s = Store("missing", "missing-audit", client=client)
    with pytest.raises(NotFoundError, match="tables created"):
        s.get_environment("acme-prod")


def test_load_environment_state_is_one_consistent_query(store: Store) -> None:
    store.register(env())
    store.put_flag(flag("2026-11-25T04:00:00Z"))
    calls: list[tuple[str, bool]] = []

    def count(params: dict, model: Any, **_: Any) -> None:
        calls.append((model.name, params.get("ConsistentRead", False)))

    store.client.meta.events.register("provide-client-params.dynamodb", count)
    try:
        state = store.load_environment_state("acme-prod")
    finally:
        store.client.meta.events.unregister("provide-client-params.dynamodb", count)
    assert state.flag is not None and state.environment.environment_id == "acme-prod"
    assert calls == [("Query", True)]


# ---- one error translator ---------------------------------------------------------------------


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "PutItem",
    )


@pytest.mark.parametrize(
    ("exc", "kind", "retryable"),
    [
        (_client_error("ProvisionedThroughputExceededException"), TransientError, True),
        (_client_error("TransactionConflictException"), TransientError, True),
        (_client_error("InternalServerError", 500), TransientError, True),
        (EndpointConnectionError(endpoint_url="https://dynamodb"), TransientError, True),
        (_client_error("AccessDeniedException"), ByokError, False),
        (_client_error("ValidationException"), ByokError, False),
        (_client_error("ResourceNotFoundException"), NotFoundError, False),
        (_client_error("TransactionCanceledException"), ConflictError, False),
        (NoRegionError(), InputError, False),
    ],
)
def test_translate(exc: Exception, kind: type[ByokError], retryable: bool) -> None:
    err = translate(exc, "write x")
    assert type(err) is kind and err.retryable is retryable
    assert err.message.startswith("write x") or kind is InputError


def test_policy_memory_access_denied_is_not_transient(store: Store) -> None:
    """A denied write is definitive (a permissions bug): retrying it forever helps nobody."""
    with (
        byok_emulator.behaviour(),
        faults.inject("dynamodb", code="AccessDeniedException", message="no", status=400, times=1),
        pytest.raises(ByokError) as info,
    ):
        store.remember_policy(key(1), "{}", "2026-11-25T04:00:00Z", "e1")
    assert not info.value.retryable and info.value.code == "AccessDeniedException"


def test_outbox_throttling_is_transient(store: Store) -> None:
    """The outbox used to let a raw ClientError escape; it is translated like every call."""
    once = Config(retries={"total_max_attempts": 1})  # see the error, not botocore's retries
    store = Store(
        store.environments_table,
        store.audit_table,
        client=boto3.client("dynamodb", region_name=REGION, config=once),
    )
    throttled = faults.throttle(service="dynamodb", operations={"PutItem"})
    with byok_emulator.behaviour(), throttled, pytest.raises(TransientError):
        store.put_pending_event("acme-prod", "2026-11-25T04:00:00Z", {"Detail": "{}"})
