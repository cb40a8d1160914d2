"""The last key policy text seen in a ``PutKeyPolicy`` event, per key (DynamoDB).

Why: KMS does not allow GetKeyPolicy across accounts ("Cross-account use: No"), so the platform
can never read a customer's key policy itself; the only copy it gets is the one a forwarded
``PutKeyPolicy`` CloudTrail event carries. Remembering it lets the sweep (which has no event)
keep judging the policy, e.g. keep an Aurora environment AT_RISK after a policy removed the
platform. Writes are conditional on the event time, so a late, older event never replaces a
newer policy (a tie within CloudTrail's one-second resolution goes to the later delivery).
Item: ``pk = KEY#<key arn>``, ``sk = POLICY`` in the environments table (beside the
key's ``CLAIM``).
"""

from __future__ import annotations

from typing import Any, Final

from botocore.exceptions import ClientError

from byok.errors import TransientError

__all__ = ["PolicyMemory"]

SORT_KEY: Final = "POLICY"


class PolicyMemory:
    def __init__(self, table: str, client: Any) -> None:
        self.table = table
        self.client = client

    def remember(self, key_arn: str, policy: str, event_time: str, event_id: str) -> bool:
        """Store ``policy`` unless a newer one is stored; True when stored."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item={
                    "pk": {"S": f"KEY#{key_arn}"},
                    "sk": {"S": SORT_KEY},
                    "kind": {"S": "key_policy"},
                    "policy": {"S": policy},
                    "event_time": {"S": event_time},
                    "event_id": {"S": event_id},
                },
                # "<=": CloudTrail times have one-second resolution, so two PutKeyPolicy calls
                # in the same second tie; the one delivered last (almost always the later call)
                # wins rather than the second edit being dropped
                ConditionExpression="attribute_not_exists(pk) OR event_time <= :t",
                ExpressionAttributeValues={":t": {"S": event_time}},
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise TransientError(f"remember key policy of {key_arn}: {exc}") from exc
        return True

    def recall(self, key_arn: str) -> tuple[str, str] | None:
        """(policy, source) of the newest remembered policy, or None."""
        item = self.client.get_item(
            TableName=self.table,
            Key={"pk": {"S": f"KEY#{key_arn}"}, "sk": {"S": SORT_KEY}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return None
        source = f"PutKeyPolicy event {item['event_id']['S']} at {item['event_time']['S']}"
        return item["policy"]["S"], source
