"""Fuzz the registry itself (both stores): ``Environment.create`` + ``register`` with hostile
values either register (then deregister, so examples do not interfere) or raise the project's
error naming a field, writing nothing. ``make soak`` runs 10,000 registrations per store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from cli_env import moto_store
from hostile import text_like
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from soak import examples
from store_data import ACCOUNT, REGION, env, key

from byok.errors import InputError, RegistrationConflict
from byok.models import Environment
from byok.store import DynamoDBStore, MemoryStore, Storage

EXISTING = env()  # acme-prod: keys 1 and 2, acme-prod-db, acme-prod-data
FIELDS = {
    "environment_id": "fuzz-env",
    "customer_account": ACCOUNT,
    "region": REGION,
    "s3_key_arn": key(3),
    "aurora_key_arn": key(4),
    "bucket": "fuzz-env-data",
    "cluster_id": "fuzz-env-db",
}
#: what a hostile caller may put in each field: its own valid value respelled, the existing
#: environment's value (respelled), or anything else
HOSTILE = {
    name: st.one_of(text_like(value), text_like(str(getattr(EXISTING, name))))
    for name, value in FIELDS.items()
}


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[DynamoDBStore]:
    with moto_store("r-env", "r-audit") as store:
        store.register(EXISTING)
        yield store


def _items(store: DynamoDBStore) -> list[str]:
    return sorted(
        json.dumps(i, sort_keys=True) for i in store.client.scan(TableName="r-env")["Items"]
    )


def _attempt(store: Storage, values: dict[str, Any], snapshot: Any) -> None:
    before = snapshot()
    try:
        candidate = Environment.create(**values)
        store.register(candidate)
    except (InputError, RegistrationConflict) as exc:
        hypothesis.event(f"refused: {exc.message.split(':', 1)[0]}")
        assert exc.exit_code == 2
        assert exc.message.split(":", 1)[0] in FIELDS, exc.message  # names the field
        assert snapshot() == before
        return
    hypothesis.event("registered")
    assert candidate.environment_id != EXISTING.environment_id
    store.deregister(candidate.environment_id)


FUZZ = {"deadline": None, "suppress_health_check": list(HealthCheck)}


@pytest.mark.property
@settings(max_examples=examples(150, 10_000), **FUZZ)
@given(values=st.fixed_dictionaries(HOSTILE))
def test_memory_registry(values: dict[str, Any]) -> None:
    store = MemoryStore()
    store.register(EXISTING)
    _attempt(store, values, lambda: [e.to_dict() for e in store.list_environments()])


@pytest.mark.property
@settings(max_examples=examples(40, 10_000), **FUZZ)
@given(values=st.fixed_dictionaries(HOSTILE))
def test_dynamodb_registry(dynamodb: DynamoDBStore, values: dict[str, Any]) -> None:
    _attempt(dynamodb, values, lambda: _items(dynamodb))
    assert dynamodb.list_environments() == [EXISTING]
