"""Deprecated: the outbox is part of the store (``Storage.put_pending_event`` and friends).

Kept for one transition so branches written against the old class keep importing; remove once
nothing imports it (``grep -rn "aws.outbox"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from byok.store.dynamodb import DynamoDBStore

__all__ = ["Outbox"]


class Outbox:
    def __init__(self, table: str, client: Any) -> None:
        self._store = DynamoDBStore(table, "", client=client)

    def put_pending(self, environment_id: str, checked_at: str, entry: Mapping[str, Any]) -> bool:
        return self._store.put_pending_event(environment_id, checked_at, entry)

    def mark_published(self, environment_id: str, checked_at: str) -> None:
        self._store.mark_event_published(environment_id, checked_at)

    def pending(self, environment_id: str) -> tuple[str, dict[str, Any]] | None:
        found = self._store.pending_event(environment_id)
        return (found.checked_at, dict(found.entry)) if found else None
