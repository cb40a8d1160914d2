"""BYOK policy reporter: send the two BYOK keys' current key policies to the platform's bus.

Inlined into customer/byok-keys.yaml (ZipFile, max 4096 chars) by customer/generate.py.
Stdlib + boto3 only. Why: the platform cannot read these policies (GetKeyPolicy is not
cross-account) and learns of a change only from the forwarded PutKeyPolicy event, which can be
lost; this report, on a schedule, catches it up. Reads only; never changes a key.
Env: KEY_ARNS (comma-separated), PLATFORM_EVENT_BUS_ARN, ENVIRONMENT_ID.
"""

import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3

SOURCE = "byok.customer"
DETAIL_TYPE = "BYOK Key Policy Report"


def _keys() -> list[str]:
    return [k for k in os.environ.get("KEY_ARNS", "").split(",") if k]


def entries(kms: Any, keys: list[str], bus: str, env_id: str) -> list[dict]:
    """One PutEvents entry per key: its policy as GetKeyPolicy returns it now."""
    out = []
    for key in keys:
        read_at = datetime.now(UTC)
        policy = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
        detail = {
            "key_arn": key,
            "policy": policy,
            "read_at": read_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "environment_id": env_id,
        }
        out.append(
            {
                "Time": read_at,
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Resources": [key],
                "Detail": json.dumps(detail),
                "EventBusName": bus,
            }
        )
    return out


def handler(event: dict, context: Any = None) -> dict:
    keys = _keys()
    bus = os.environ["PLATFORM_EVENT_BUS_ARN"]
    batch = entries(boto3.client("kms"), keys, bus, os.environ.get("ENVIRONMENT_ID", ""))
    answer = boto3.client("events").put_events(Entries=batch)
    failed = [e for e in answer.get("Entries", []) if e.get("ErrorCode")]
    if failed or answer.get("FailedEntryCount"):
        # raise: the schedule's invocation is retried (then its dead-letter queue keeps it)
        raise RuntimeError(f"{len(failed)} of {len(batch)} reports not delivered: {failed[:1]}")
    print(json.dumps({"reported": keys}))
    return {"reported": len(batch)}
