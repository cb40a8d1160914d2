"""Deprecated: policy memory is part of the store (``Storage.remember_policy`` / ``recall_policy``).

Kept for one transition so branches written against the old class keep importing; remove once
nothing imports it (``grep -rn "aws.policy_memory"``).
"""

from __future__ import annotations

from typing import Any

from byok.store.dynamodb import DynamoDBStore

__all__ = ["PolicyMemory"]


class PolicyMemory:
    def __init__(self, table: str, client: Any) -> None:
        self._store = DynamoDBStore(table, "", client=client)

    def remember(self, key_arn: str, policy: str, event_time: str, event_id: str) -> bool:
        return self._store.remember_policy(key_arn, policy, event_time, event_id)

    def recall(self, key_arn: str) -> tuple[str, str] | None:
        found = self._store.recall_policy(key_arn)
        return (found.policy, found.source) if found else None
