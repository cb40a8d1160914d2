"""Triggers that do not come from an AWS event: rebuilt from a queue message, or asked for by
an operator."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from byok.errors import EventError
from byok.events import _fields as f
from byok.events.sources import cluster_id
from byok.models import Trigger, TriggerKind
from byok.times import now as utc_now


def trigger_from_dict(data: object, field: str = "trigger") -> Trigger:
    """Rebuild a ``Trigger`` from ``Trigger.to_dict()`` output (e.g. an SQS message body),
    validating every identifier again: the queue is a boundary too."""
    if not isinstance(data, Mapping):
        raise EventError(f"{field}: expected an object, got {f.short(data)}")
    try:
        kind = TriggerKind(data.get("kind"))
    except ValueError:
        kinds = ", ".join(k.value for k in TriggerKind)
        raise EventError(
            f"{field}.kind: expected one of {kinds}, got {f.short(data.get('kind'))}"
        ) from None
    key = data.get("key_arn")
    if key is not None:
        key = str(f.key_arn(key, f"{field}.key_arn"))
    account = data.get("account")
    if account is not None:
        account = f.account_id(account, f"{field}.account")
    region = data.get("region")
    if region is not None:
        region = f.region_name(region, f"{field}.region")
    texts: dict[str, str] = {}
    for name in ("event_name", "event_time", "event_id"):
        value = data.get(name)
        if not isinstance(value, str) or not value:
            raise EventError(f"{field}.{name}: expected a non-empty string, got {f.short(value)}")
        texts[name] = value
    evidence = data.get("evidence", {})
    if not isinstance(evidence, Mapping):
        raise EventError(f"{field}.evidence: expected an object, got {f.short(evidence)}")
    cluster = data.get("cluster_id")
    if cluster is not None:
        cluster = cluster_id(cluster, f"{field}.cluster_id")
    return Trigger(
        kind=kind,
        key_arn=key,
        account=account,
        region=region,
        event_name=texts["event_name"],
        event_time=f.timestamp(texts["event_time"], f"{field}.event_time"),
        event_id=texts["event_id"],
        evidence=dict(evidence),
        cluster_id=cluster,
    )


def manual_trigger(
    *,
    key_arn: str | None = None,
    environment_id: str | None = None,
    reason: str = "manual",
    now: datetime | None = None,
    event_name: str = "BYOK Manual Validation",
    account: str | None = None,
    region: str | None = None,
) -> Trigger:
    """A trigger for an operator-requested validation (CLI ``byok env validate``, registration)."""
    key = f.key_arn(key_arn, "key_arn") if key_arn is not None else None
    evidence: dict[str, Any] = {"reason": reason}
    if environment_id is not None:
        evidence["environment_id"] = f.environment_id(environment_id, "environment_id")
    when = now or utc_now()
    return Trigger(
        kind=TriggerKind.MANUAL,
        key_arn=str(key) if key else None,
        account=key.account if key else account,
        region=key.region if key else region,
        event_name=event_name,
        event_time=when,
        event_id=str(uuid.uuid4()),
        evidence=evidence,
    )
