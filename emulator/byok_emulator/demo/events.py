"""Events in the shapes AWS delivers them, built from the samples in ``events/``.

Why from the samples: they are the reviewed real shapes (CloudTrail envelope, ``userIdentity``,
``detail.resources``, RDS cluster event, schedule, SQS records); the demo only fills in what the
customer's call really was (key, operation, time, request parameters and response elements), so
what the handlers receive is what a deployment would receive.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from .platform import ROOT

SAMPLES = ROOT / "events"

#: CloudTrail API event name -> sample file (events/key_events/<file>.json)
_API_SAMPLES = {
    "DisableKey": "disable_key",
    "EnableKey": "enable_key",
    "PutKeyPolicy": "put_key_policy",
    "ScheduleKeyDeletion": "schedule_key_deletion",
    "CancelKeyDeletion": "cancel_key_deletion",
}


@cache
def _sample_text(relative: str) -> str:
    return (SAMPLES / relative).read_text()


def _sample(relative: str) -> dict[str, Any]:
    return json.loads(_sample_text(relative))


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_last_event_time: list[datetime] = []


def event_time() -> datetime:
    """Now, but at least one second after the previous event of the demo.

    CloudTrail's ``eventTime`` has whole seconds, and byok-guard orders PutKeyPolicy texts by it
    (the newest policy wins). A person's calls are seconds apart; the demo's are milliseconds
    apart, so its event clock steps by a second where two calls would share one.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    if _last_event_time and now <= _last_event_time[-1]:
        now = _last_event_time[-1] + timedelta(seconds=1)
    _last_event_time[:] = [now]
    return now


def cloudtrail_display_date(value: datetime) -> str:
    """CloudTrail's ``responseElements.deletionDate`` form: "Dec 1, 2026, 10:03:45 AM"."""
    value = value.astimezone(UTC)
    hour = value.hour % 12 or 12
    return (
        f"{value.strftime('%b')} {value.day}, {value.year}, "
        f"{hour}:{value.strftime('%M:%S')} {'AM' if value.hour < 12 else 'PM'}"
    )


def kms_api_call(
    event_name: str,
    *,
    key_arn: str,
    typed_key_id: str,
    request: Mapping[str, Any] | None = None,
    response: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """A customer's KMS API call as CloudTrail puts it on the customer's default bus.

    ``typed_key_id`` is what the caller passed (key id, ARN or alias), as CloudTrail records it in
    ``requestParameters.keyId``; ``response`` ``None`` gives ``responseElements: null`` (as for
    PutKeyPolicy), else it is merged with ``{"keyId": <key arn>}``.
    """
    sample = _API_SAMPLES.get(event_name)
    if sample is None:
        raise ValueError(f"event_name: expected one of {sorted(_API_SAMPLES)}, got {event_name!r}")
    event = _sample(f"key_events/{sample}.json")
    when = _stamp(at or event_time())
    account = key_arn.split(":")[4]
    region = key_arn.split(":")[3]
    event.update(id=str(uuid.uuid4()), time=when, account=account, region=region, resources=[])
    detail = event["detail"]
    detail.update(
        eventTime=when,
        eventName=event_name,
        awsRegion=region,
        eventID=str(uuid.uuid4()),
        requestID=str(uuid.uuid4()),
        requestParameters={"keyId": typed_key_id, **(request or {})},
        responseElements=None if response is None else {"keyId": key_arn, **response},
        resources=[{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
        recipientAccountId=account,
    )
    # the sample's userIdentity (a key administrator of the customer account) is kept as is
    return event


def rds_cluster_event(
    *, account: str, region: str, cluster_id: str, message: str, at: datetime | None = None
) -> dict[str, Any]:
    """An "RDS DB Cluster Event" on the platform account's default bus."""
    event = _sample("key_events/rds_cluster_event.json")
    now = at or event_time()
    arn = f"arn:aws:rds:{region}:{account}:cluster:{cluster_id}"
    event.update(id=str(uuid.uuid4()), time=_stamp(now), account=account, region=region)
    event["resources"] = [arn]
    event["detail"].update(
        SourceArn=arn,
        SourceIdentifier=cluster_id,
        Message=message,
        Date=now.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    return event


def scheduled_event(*, account: str, region: str, rule_name: str) -> dict[str, Any]:
    """The "Scheduled Event" EventBridge sends to the sweep on its schedule."""
    event = _sample("sweep/scheduled_event.json")
    event.update(
        id=str(uuid.uuid4()),
        time=_stamp(event_time()),
        account=account,
        region=region,
        resources=[f"arn:aws:events:{region}:{account}:rule/{rule_name}"],
    )
    return event


def sqs_event(messages: Sequence[Mapping[str, Any]], *, queue_arn: str) -> dict[str, Any]:
    """The Lambda SQS event for messages received from a queue (``receive_message`` answers)."""
    template = _sample("validate/sqs_batch.json")["Records"][0]
    region = queue_arn.split(":")[3]
    records = []
    for message in messages:
        record = json.loads(json.dumps(template))
        body = message["Body"]
        record.update(
            messageId=message["MessageId"],
            receiptHandle=message["ReceiptHandle"],
            body=body,
            md5OfBody=message.get("MD5OfBody") or hashlib.md5(body.encode()).hexdigest(),
            eventSourceARN=queue_arn,
            awsRegion=region,
            messageAttributes={},
        )
        record["attributes"].update({k: str(v) for k, v in message.get("Attributes", {}).items()})
        records.append(record)
    return {"Records": records}
