"""One boundary for every incoming event: ``normalise(event) -> Trigger``.

Each accepted event shape is an ``EventShape`` in ``SHAPES``, keyed by ``(source, detail-type)``:
its detail model, the trigger kind it yields, the function that builds the trigger and, where it
applies, the rule that makes an event ignorable. Adding a shape is adding one entry; the tests
walk the registry and require a sample in ``events/`` for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from byok import bounded_json
from byok.errors import EventError, InputError
from byok.events import _fields as f
from byok.events import cloudtrail, sources
from byok.events.models import (
    CloudTrailDetail,
    Envelope,
    KeyAccessErrorDetail,
    KeyPolicyReportDetail,
    KmsNativeDetail,
    ManualDetail,
    RdsClusterDetail,
    ScheduledDetail,
)
from byok.models import Trigger, TriggerKind

_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class EventShape:
    """One accepted event shape: how to validate its detail and turn it into a trigger."""

    source: str
    detail_type: str
    kind: TriggerKind
    model: type[BaseModel]
    build: Callable[[Envelope, Any, TriggerKind], Trigger]
    #: why an event of this shape may be skipped (None: never); see ``is_ignorable``
    ignore: Callable[[Any], str | None] | None = None
    #: checks of the detail that need no key resolution, run by both public functions
    check: Callable[[Any], None] | None = None


def _registry(*shapes: EventShape) -> dict[tuple[str, str], EventShape]:
    return {(s.source, s.detail_type): s for s in shapes}


_NATIVE = (TriggerKind.KMS_NATIVE, KmsNativeDetail, sources.from_kms_native)

#: every accepted event shape, keyed by (source, detail-type)
SHAPES: dict[tuple[str, str], EventShape] = _registry(
    EventShape(
        "aws.kms",
        cloudtrail.API_CALL,
        TriggerKind.API_CALL,
        CloudTrailDetail,
        cloudtrail.from_cloudtrail,
        cloudtrail.ignore_api_call,
        cloudtrail.check,
    ),
    EventShape(
        "aws.kms",
        cloudtrail.SERVICE_EVENT,
        TriggerKind.SERVICE_EVENT,
        CloudTrailDetail,
        cloudtrail.from_cloudtrail,
        cloudtrail.ignore_service_event,
        cloudtrail.check,
    ),
    EventShape("aws.kms", "KMS CMK Rotation", *_NATIVE),
    EventShape("aws.kms", "KMS CMK Deletion", *_NATIVE),
    EventShape("aws.kms", "KMS Imported Key Material Expiration", *_NATIVE),
    EventShape(
        "aws.rds",
        "RDS DB Cluster Event",
        TriggerKind.RDS_CLUSTER,
        RdsClusterDetail,
        sources.from_rds_cluster,
    ),
    EventShape(
        "byok.platform",
        "BYOK Key Access Error",
        TriggerKind.KEY_ACCESS_ERROR,
        KeyAccessErrorDetail,
        sources.from_key_access_error,
    ),
    EventShape(
        "byok.customer",
        "BYOK Key Policy Report",
        TriggerKind.POLICY_REPORT,
        KeyPolicyReportDetail,
        sources.from_policy_report,
    ),
    EventShape(
        "aws.events",
        "Scheduled Event",
        TriggerKind.SCHEDULE,
        ScheduledDetail,
        sources.from_schedule,
    ),
    EventShape(
        "byok.manual",
        "BYOK Manual Validation",
        TriggerKind.MANUAL,
        ManualDetail,
        sources.from_manual,
    ),
)


def normalise(event: Mapping[str, Any]) -> Trigger:
    """Turn any accepted event into a ``Trigger`` naming one canonical key ARN (or cluster).

    Raises ``EventError`` (and nothing else) for a malformed or unsupported event; the message
    starts with the offending field. Failed API calls still normalise (``evidence["failed"]`` is
    true); call ``is_ignorable`` first to skip them and calls that cannot change key health.
    """
    shape, envelope, detail = _parse(event)
    try:
        return shape.build(envelope, detail, shape.kind)
    except InputError as exc:
        raise f.as_event_error(exc) from None


def is_ignorable(event: Mapping[str, Any]) -> str | None:
    """Why this event need not trigger a validation, or None when it must.

    Ignorable: failed API calls (``detail.errorCode``: a DisableKey that was denied changed
    nothing) and KMS calls / service events that cannot affect key health (Encrypt, TagResource,
    Describe*...). Needs no key resolution, so a failed call naming only an alias is ignorable
    rather than malformed. Raises ``EventError`` for a malformed or unsupported event.
    """
    shape, _, detail = _parse(event)
    return shape.ignore(detail) if shape.ignore else None


def _parse(event: object) -> tuple[EventShape, Envelope, Any]:
    envelope = read_envelope(event, Envelope, "a JSON object")
    shape = SHAPES.get((envelope.source, envelope.detail_type))
    if shape is None:
        known = "; ".join(f"{s} / {t}" for s, t in SHAPES)
        raise EventError(
            f"detail-type: unsupported event {f.short(envelope.detail_type)} from source "
            f"{f.short(envelope.source)} (accepted: {known})"
        )
    f.account_id(envelope.account, "account")
    f.region_name(envelope.region, "region")
    f.timestamp(envelope.time, "time")
    try:
        detail = shape.model.model_validate(envelope.detail)
    except ValidationError as exc:
        raise f.from_validation_error(exc, "detail") from None
    if shape.check is not None:
        shape.check(detail)
    return shape, envelope, detail


#: ``Records[].eventSource`` of AWS payloads that are not EventBridge events -> what they are
_RECORD_SOURCES: dict[str, str] = {
    "aws:sqs": "an SQS message batch (Lambda's SQS event source)",
    "aws:s3": "an S3 event notification",
    "aws:sns": "an SNS notification",
    "aws:dynamodb": "a DynamoDB stream batch",
    "aws:kinesis": "a Kinesis stream batch",
}


def read_envelope(event: object, model: type[_Model], expected: str) -> _Model:
    """The checks every incoming event gets first, in this order: an object; bounded before
    anything walks it (nothing downstream recurses through more than MAX_DEPTH levels); not a
    well-known foreign payload (said as such); then ``model`` (its errors name the field)."""
    if not isinstance(event, Mapping):
        raise EventError(f"event: expected {expected}, got {f.short(event)}")
    bounded_json.check_value(event, limit=bounded_json.EVENT_LIMIT, field="event", error=EventError)
    foreign = foreign_payload(event)
    if foreign is not None:
        raise EventError(foreign)
    try:
        return model.model_validate(dict(event))
    except ValidationError as exc:
        raise f.from_validation_error(exc, "") from None


def foreign_payload(event: Mapping[str, Any]) -> str | None:
    """Say what a well-known non-EventBridge payload is (an SQS batch, an S3 notification, a
    bare CloudTrail record), so an operator who feeds the wrong file hears what it is rather
    than "id: required". None for anything else."""
    if "detail-type" in event or "source" in event:
        return None
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        first = records[0]
        source = first.get("eventSource", first.get("EventSource"))
        what = _RECORD_SOURCES.get(source) if isinstance(source, str) else None
        if what is not None:
            return (
                f"event: this is {what} (Records[0].eventSource {f.short(source)}), not an "
                "EventBridge event; byok-guard reads KMS, RDS and its own events from "
                "EventBridge (see events/ for samples)"
            )
    if isinstance(event.get("eventVersion"), str) and isinstance(event.get("eventName"), str):
        return (
            f"event: this is a bare CloudTrail record (eventName {f.short(event['eventName'])}), "
            'not an EventBridge event; EventBridge delivers it as the "detail" of an '
            '"AWS API Call via CloudTrail" event'
        )
    return None
