"""Outbox for "BYOK Environment Health Changed" events: at-least-once publication.

Why: the flag is written before its event goes out (publishing first could announce a result a
newer validation already superseded). If ``put_events`` then fails, a retried validation finds
"no change" and would never publish. So the event is first stored here as pending, marked
published after ``put_events`` succeeds, and any later validation of the environment publishes
a pending one. One item per environment in the environments table: ``pk = ENV#<id>``,
``sk = OUTBOX`` (beside ``META`` and ``HEALTH``); a newer change replaces an older pending one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from botocore.exceptions import ClientError

__all__ = ["Outbox"]

SORT_KEY: Final = "OUTBOX"


class Outbox:
    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self.client = client

    def _key(self, environment_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"ENV#{environment_id}"}, "sk": {"S": SORT_KEY}}

    def put_pending(self, environment_id: str, checked_at: str, entry: Mapping[str, Any]) -> bool:
        """Record ``entry`` as to be published; an older change never replaces a newer one."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    **self._key(environment_id),
                    "kind": {"S": "outbox"},
                    "checked_at": {"S": checked_at},
                    "entry": {"S": json.dumps(dict(entry), sort_keys=True, default=str)},
                    "published": {"BOOL": False},
                },
                ConditionExpression="attribute_not_exists(pk) OR checked_at < :t",
                ExpressionAttributeValues={":t": {"S": checked_at}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_published(self, environment_id: str, checked_at: str) -> None:
        """Mark the pending entry of ``checked_at`` published (a newer one stays pending)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=self._key(environment_id),
                UpdateExpression="SET published = :yes",
                ConditionExpression="checked_at = :t",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":t": {"S": checked_at}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def pending(self, environment_id: str) -> tuple[str, dict[str, Any]] | None:
        """(checked_at, put_events entry) of an unpublished change, or None."""
        item = self.client.get_item(
            TableName=self.table, Key=self._key(environment_id), ConsistentRead=True
        ).get("Item")
        if not item or item.get("published", {}).get("BOOL", True):
            return None
        return item["checked_at"]["S"], json.loads(item["entry"]["S"])
