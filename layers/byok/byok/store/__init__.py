"""Storage of byok-guard: the registry, health flags, audit trail, remediation markers, the outbox
of health-changed events and the remembered key policies, behind one protocol.

Modelled on the Powertools idempotency persistence layer: ``base.Storage`` is what the core
needs, ``dynamodb.DynamoDBStore`` the one implementation that persists (``Store`` is its
historical name), ``memory.MemoryStore`` the in-memory twin for fast unit tests, ``keys`` the key
scheme (the only place a table key is spelled) and ``records`` the typed records both return.
Importing this package never imports boto3 (the DynamoDB store imports it when built).
"""

from byok.store.base import Storage
from byok.store.dynamodb import DynamoDBStore, create_tables
from byok.store.keys import time_key
from byok.store.memory import MemoryStore
from byok.store.records import (
    AuditEntry,
    AuditKind,
    AuditRecord,
    DeregisteredRecord,
    EnvironmentState,
    FlagChange,
    HealthChangedRecord,
    OutboxEntry,
    RegisteredRecord,
    RemediationRecord,
    RememberedPolicy,
    UpdatedRecord,
)

#: the name every caller has used so far for the DynamoDB store
Store = DynamoDBStore

__all__ = [
    "AuditEntry",
    "AuditKind",
    "AuditRecord",
    "DeregisteredRecord",
    "DynamoDBStore",
    "EnvironmentState",
    "FlagChange",
    "HealthChangedRecord",
    "MemoryStore",
    "OutboxEntry",
    "RegisteredRecord",
    "RemediationRecord",
    "RememberedPolicy",
    "Storage",
    "Store",
    "UpdatedRecord",
    "create_tables",
    "time_key",
]
