"""BYOK deletion guard: undo ScheduleKeyDeletion / DisableKey on the two BYOK keys.

Inlined into customer/byok-keys.yaml (ZipFile, max 4096 chars) by customer/generate.py.
Stdlib + boto3 only. A key tagged byok:decommission=true is left alone (off-boarding).
Env: KEY_ARNS (comma-separated key ARNs), TOPIC_ARN (SNS topic; may be empty).
"""

import json
import os
from typing import Any

import boto3

DECOMMISSION_TAG = "byok:decommission"


def _keys() -> list[str]:
    return [k for k in os.environ.get("KEY_ARNS", "").split(",") if k]


def find_key(event: dict, keys: list[str]) -> str | None:
    """Return the guarded key ARN named by a CloudTrail event, or None."""
    detail = event.get("detail") or {}
    for res in detail.get("resources") or []:
        if res.get("ARN") in keys:
            return res["ARN"]
    for part in ("responseElements", "requestParameters"):
        given = (detail.get(part) or {}).get("keyId")
        for key in keys:
            if given and (given == key or key.endswith("/" + given)):
                return key
    return None


def decommissioned(kms: Any, key: str) -> bool:
    kwargs = {"KeyId": key}
    while True:
        page = kms.list_resource_tags(**kwargs)
        for tag in page.get("Tags", []):
            if tag["TagKey"] == DECOMMISSION_TAG and tag["TagValue"].lower() == "true":
                return True
        if not page.get("Truncated"):
            return False
        kwargs["Marker"] = page["NextMarker"]


def handler(event: dict, context: Any = None, kms: Any = None, sns: Any = None) -> dict:
    detail = event.get("detail") or {}
    if detail.get("errorCode"):
        return {"action": "none", "reason": "call failed"}
    key = find_key(event, _keys())
    if key is None:
        return {"action": "none", "reason": "not a guarded key"}
    kms = kms or boto3.client("kms")
    if decommissioned(kms, key):
        print(json.dumps({"key": key, "action": "none", "reason": DECOMMISSION_TAG}))
        return {"action": "none", "reason": "decommission tag", "key": key}
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    state, key_id = meta["KeyState"], meta["KeyId"]  # own account: the id is enough
    done = []
    if state == "PendingDeletion":
        kms.cancel_key_deletion(KeyId=key_id)
        done.append("CancelKeyDeletion")
    if state in ("PendingDeletion", "Disabled"):
        kms.enable_key(KeyId=key_id)
        done.append("EnableKey")
    who = (detail.get("userIdentity") or {}).get("arn", "unknown")
    result = {"action": "+".join(done) or "none", "key": key, "state": state}
    print(json.dumps({**result, "event": detail.get("eventName"), "by": who}))
    topic = os.environ.get("TOPIC_ARN")
    if done and topic:
        (sns or boto3.client("sns")).publish(
            TopicArn=topic,
            Subject="BYOK key protected: " + detail.get("eventName", "change")[:60],
            Message=(
                f"{detail.get('eventName')} on {key} by {who} was undone "
                f"({', '.join(done)}); the key is Enabled again. To retire the key on "
                f"purpose, tag it {DECOMMISSION_TAG}=true first."
            ),
        )
    return result
