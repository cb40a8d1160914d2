"""CloudTrail-delivered KMS events: "AWS API Call via CloudTrail" and "AWS Service Event via
CloudTrail" (RotateKey, DeleteKey, DeleteExpiredKeyMaterial).

The key is resolved ONCE here into a canonical key ARN, because CloudTrail names it in several
places of unequal trust: ``detail.resources[]`` (KMS fills it), ``responseElements.keyId`` (key
ARN in records since December 2022), ``requestParameters.keyId`` (whatever the caller typed: an
alias there says nothing about which key it pointed to at the time, so it is never resolved).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from byok.errors import EventError
from byok.events import _fields as f
from byok.events.models import CloudTrailDetail, Envelope
from byok.identifiers import KeyArn
from byok.models import Trigger, TriggerKind

API_CALL = "AWS API Call via CloudTrail"


SERVICE_EVENT = "AWS Service Event via CloudTrail"


KMS_EVENT_SOURCE = "kms.amazonaws.com"


#: KMS API calls that can change whether the platform may use a key (everything else, e.g.
#: Encrypt, Decrypt, TagResource, Describe*, is ignorable)
KEY_HEALTH_API_CALLS = frozenset(
    {
        "DisableKey",
        "EnableKey",
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "PutKeyPolicy",
        "CreateGrant",
        "RevokeGrant",
        "RetireGrant",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "ImportKeyMaterial",
        "DeleteImportedKeyMaterial",
    }
)


#: events KMS emits itself (eventType AwsServiceEvent) that change a key
KEY_HEALTH_SERVICE_EVENTS = frozenset({"RotateKey", "DeleteKey", "DeleteExpiredKeyMaterial"})


#: operation -> (section of the CloudTrail record, field) copied into ``Trigger.evidence``
_CLOUDTRAIL_EVIDENCE: dict[str, tuple[tuple[str, str], ...]] = {
    "PutKeyPolicy": (
        ("requestParameters", "policy"),
        ("requestParameters", "bypassPolicyLockoutSafetyCheck"),
        ("requestParameters", "policyName"),
    ),
    "ScheduleKeyDeletion": (
        ("requestParameters", "pendingWindowInDays"),
        ("responseElements", "deletionDate"),
        ("responseElements", "keyState"),
    ),
    "ImportKeyMaterial": (
        ("requestParameters", "validTo"),
        ("requestParameters", "expirationModel"),
        ("requestParameters", "importType"),
    ),
    "CreateGrant": (
        ("requestParameters", "granteePrincipal"),
        ("requestParameters", "retiringPrincipal"),
        ("requestParameters", "operations"),
        ("requestParameters", "constraints"),
        ("responseElements", "grantId"),
    ),
    "RevokeGrant": (("requestParameters", "grantId"),),
    "RetireGrant": (("additionalEventData", "grantId"),),
}


def _ignorer(relevant: frozenset[str], what: str) -> Callable[[CloudTrailDetail], str | None]:
    def ignore(detail: CloudTrailDetail) -> str | None:
        if detail.error_code is not None:
            return f"failed {what} ({detail.error_code})"
        if detail.event_name not in relevant:
            return f"KMS {what} {detail.event_name} does not affect key health"
        return None

    return ignore


ignore_api_call = _ignorer(KEY_HEALTH_API_CALLS, "API call")
ignore_service_event = _ignorer(KEY_HEALTH_SERVICE_EVENTS, "service event")


def check(detail: CloudTrailDetail) -> None:
    """Record-level checks that need no key resolution (run before ``is_ignorable`` answers)."""
    if detail.event_source != KMS_EVENT_SOURCE:
        raise EventError(
            f"detail.eventSource: expected {f.short(KMS_EVENT_SOURCE)}, got "
            f"{f.short(detail.event_source)}"
        )
    f.timestamp(detail.event_time, "detail.eventTime")
    if detail.aws_region is not None:
        f.region_name(detail.aws_region, "detail.awsRegion")


def from_cloudtrail(envelope: Envelope, detail: CloudTrailDetail, kind: TriggerKind) -> Trigger:
    key = _cloudtrail_key(envelope, detail)
    evidence = _cloudtrail_evidence(detail)
    if detail.aws_region is not None and detail.aws_region != key.region:
        evidence["awsRegion"] = detail.aws_region
    return Trigger(
        kind=kind,
        key_arn=str(key),
        account=key.account,  # the key owner, whoever made the call
        region=key.region,  # a key lives in one region: its ARN is authoritative
        event_name=detail.event_name,
        event_time=f.timestamp(detail.event_time, "detail.eventTime"),
        event_id=detail.event_id,
        evidence=evidence,
    )


def _cloudtrail_key(envelope: Envelope, detail: CloudTrailDetail) -> KeyArn:
    found: list[KeyArn] = []
    for i, res in enumerate(detail.resources or ()):
        if res.type == "AWS::KMS::Key" or (res.type is None and f.looks_like_key_arn(res.arn)):
            key = f.key_arn(res.arn, f"detail.resources[{i}].ARN")
            if key not in found:
                found.append(key)
    if len(found) > 1:
        names = ", ".join(str(k) for k in found)
        raise EventError(f"detail.resources: expected one KMS key, got several ({names})")
    if found:
        return found[0]
    response_key = (detail.response_elements or {}).get("keyId")
    if f.is_key_arn(response_key):
        return KeyArn.parse(response_key)
    request_key = (detail.request_parameters or {}).get("keyId")
    if f.is_key_arn(request_key):
        return KeyArn.parse(request_key)
    if f.is_key_id(request_key):
        return f.build_key_arn(
            request_key,
            detail.recipient_account_id or envelope.account,
            detail.aws_region or envelope.region,
            ("detail.recipientAccountId", "detail.awsRegion"),
        )
    if isinstance(request_key, str) and "alias/" in request_key:
        why = (
            f"detail.requestParameters.keyId is an alias ({f.short(request_key)}), "
            "which is not trusted"
        )
    else:
        why = f"detail.requestParameters.keyId is {f.short(request_key)}"
    raise EventError(
        "detail.resources: cannot identify the KMS key: no AWS::KMS::Key resource, no key ARN "
        f"in detail.responseElements.keyId, and {why}"
    )


def _cloudtrail_evidence(detail: CloudTrailDetail) -> dict[str, Any]:
    sections = {
        "requestParameters": detail.request_parameters,
        "responseElements": detail.response_elements,
        "additionalEventData": detail.additional_event_data,
    }
    evidence: dict[str, Any] = {}
    for section, name in _CLOUDTRAIL_EVIDENCE.get(detail.event_name, ()):
        evidence.update(f.pick(sections[section], name))
    if "policy" in evidence and not isinstance(evidence["policy"], str):
        raise EventError(
            "detail.requestParameters.policy: expected the key policy as a JSON string, "
            f"got {f.short(evidence['policy'])}"
        )
    bypass = evidence.get("bypassPolicyLockoutSafetyCheck")
    if bypass is not None and not isinstance(bypass, bool):
        raise EventError(
            "detail.requestParameters.bypassPolicyLockoutSafetyCheck: expected true or false, "
            f"got {f.short(bypass)}"
        )
    for name in ("deletionDate", "validTo"):
        if name in evidence and (utc := f.cloudtrail_date(evidence[name])) is not None:
            evidence[f"{name}Utc"] = utc
    if detail.service_event_details:
        evidence["serviceEventDetails"] = dict(detail.service_event_details)
    actor = _actor(detail.user_identity)
    if actor:
        evidence["actor"] = actor
    if detail.error_code is not None:
        evidence.update(failed=True, errorCode=detail.error_code)
        evidence["errorMessage"] = detail.error_message or ""
    return evidence


def _actor(identity: dict[str, Any] | None) -> str | None:
    """Who made the change, for the audit trail (ARN, else the AWS service, else principal id)."""
    if not identity:
        return None
    for name in ("arn", "invokedBy", "principalId"):
        value = identity.get(name)
        if isinstance(value, str) and value:
            return value
    return None
