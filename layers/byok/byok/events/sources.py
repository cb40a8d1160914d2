"""Events that name their key (or cluster) directly: native KMS events, RDS cluster events,
byok-guard's own "BYOK Key Access Error" and manual triggers, and the sweep schedule."""

from __future__ import annotations

import re
from typing import Any

from byok.errors import EventError
from byok.events import _fields as f
from byok.events.models import (
    Envelope,
    KeyAccessErrorDetail,
    KeyPolicyReportDetail,
    KmsNativeDetail,
    ManualDetail,
    RdsClusterDetail,
    ScheduledDetail,
)
from byok.identifiers import KeyArn
from byok.models import Trigger, TriggerKind

_SERVICE_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}", re.ASCII)


def _trigger(
    envelope: Envelope,
    kind: TriggerKind,
    evidence: dict[str, Any],
    *,
    key: KeyArn | None = None,
    event_time: tuple[str, str] | None = None,
    event_name: str | None = None,
    cluster: str | None = None,
) -> Trigger:
    """A trigger from an EventBridge envelope: the key (when named) decides account and region,
    the envelope id is the event id; ``event_time`` is (value, field) when not the envelope's."""
    time_value, time_field = event_time or (envelope.time, "time")
    return Trigger(
        kind=kind,
        key_arn=str(key) if key else None,
        account=key.account if key else envelope.account,
        region=key.region if key else envelope.region,
        event_name=event_name or envelope.detail_type,
        event_time=f.timestamp(time_value, time_field),
        event_id=envelope.id,
        evidence=evidence,
        cluster_id=cluster,
    )


def from_kms_native(envelope: Envelope, detail: KmsNativeDetail, kind: TriggerKind) -> Trigger:
    if not f.is_key_id(detail.key_id):
        raise EventError(f"detail.key-id: expected a KMS key id, got {f.short(detail.key_id)}")
    key: KeyArn | None = None
    for i, arn in enumerate(envelope.resources):
        if f.looks_like_key_arn(arn):
            key = f.key_arn(arn, f"resources[{i}]")
            if key.key_id != detail.key_id:
                raise EventError(
                    f"resources[{i}]: key ARN {f.short(arn)} does not match detail.key-id "
                    f"{f.short(detail.key_id)}"
                )
            break
    if key is None:  # KMS sends these to the key owner's account, in the key's region
        key = f.build_key_arn(
            detail.key_id, envelope.account, envelope.region, ("account", "region")
        )
    return _trigger(envelope, kind, {"key-id": detail.key_id}, key=key)


cluster_id = f.cluster_id


def from_rds_cluster(envelope: Envelope, detail: RdsClusterDetail, kind: TriggerKind) -> Trigger:
    ident = detail.source_identifier
    ident = ident[4:] if ident.startswith("rds:") else ident
    cluster = cluster_id(ident, "detail.SourceIdentifier")
    evidence: dict[str, Any] = {
        "message": detail.message,
        "event_categories": list(detail.event_categories),
        "source_arn": detail.source_arn,
        "source_type": detail.source_type,
        "rds_event_id": detail.event_id,
        # a hint for logs only: no RDS event id is documented for key loss, validation reads
        # the cluster's status
        "mentions_encryption": any(
            word in detail.message.lower() for word in ("encryption", "kms")
        ),
    }
    return _trigger(
        envelope,
        kind,
        evidence,
        event_time=(detail.date or envelope.time, "detail.Date"),
        event_name=detail.event_id,
        cluster=cluster,
    )


def from_key_access_error(
    envelope: Envelope, detail: KeyAccessErrorDetail, kind: TriggerKind
) -> Trigger:
    key = f.key_arn(detail.key_arn, "detail.key_arn")
    if not _SERVICE_RE.fullmatch(detail.service):
        raise EventError(
            "detail.service: expected a lower-case service name such as 's3' or 'rds', "
            f"got {f.short(detail.service)}"
        )
    evidence: dict[str, Any] = {
        "error_code": detail.error_code,
        "error_message": detail.error_message,
        "service": detail.service,
        "reported_by": envelope.account,
    }
    if detail.environment_id is not None:
        evidence["environment_id"] = f.environment_id(
            detail.environment_id, "detail.environment_id"
        )
    return _trigger(
        envelope, kind, evidence, key=key, event_time=(detail.observed_at, "detail.observed_at")
    )


#: the event name a policy report's trigger carries (validation uses it like a PutKeyPolicy)
POLICY_REPORT_EVENT = "KeyPolicyReport"


def from_policy_report(
    envelope: Envelope, detail: KeyPolicyReportDetail, kind: TriggerKind
) -> Trigger:
    """A customer reporter's read of its own key's policy. Only the key's own account may
    report it (EventBridge sets ``account`` to the sender; the bus policy admits only
    customers): account A can never hand the platform a policy for account B's key."""
    import json

    key = f.key_arn(detail.key_arn, "detail.key_arn")
    if key.account != envelope.account:
        raise EventError(
            f"detail.key_arn: key of account {key.account} reported by account "
            f"{envelope.account}: a policy report covers the sender's own keys only"
        )
    if key.region != envelope.region:
        raise EventError(
            f"detail.key_arn: key in {key.region} reported from {envelope.region}: the reporter "
            "runs in its keys' region"
        )
    try:
        parsed = json.loads(detail.policy)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise EventError("detail.policy: expected a key policy (a JSON object as text)")
    evidence: dict[str, Any] = {"policy": detail.policy, "reported_by": envelope.account}
    if detail.environment_id is not None:
        evidence["environment_id"] = f.environment_id(
            detail.environment_id, "detail.environment_id"
        )
    return _trigger(
        envelope,
        kind,
        evidence,
        key=key,
        event_time=(detail.read_at, "detail.read_at"),
        event_name=POLICY_REPORT_EVENT,
    )


def from_manual(envelope: Envelope, detail: ManualDetail, kind: TriggerKind) -> Trigger:
    if detail.key_arn is None and detail.environment_id is None:
        raise EventError("detail.key_arn: required (or detail.environment_id)")
    key = f.key_arn(detail.key_arn, "detail.key_arn") if detail.key_arn is not None else None
    evidence: dict[str, Any] = {"reason": detail.reason}
    if detail.environment_id is not None:
        evidence["environment_id"] = f.environment_id(
            detail.environment_id, "detail.environment_id"
        )
    return _trigger(envelope, kind, evidence, key=key)


def from_schedule(envelope: Envelope, detail: ScheduledDetail, kind: TriggerKind) -> Trigger:
    evidence = {"rule": envelope.resources[0]} if envelope.resources else {}
    return _trigger(envelope, kind, evidence)
