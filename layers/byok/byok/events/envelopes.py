"""Envelope checks of the handlers that accept exactly one or two kinds of event.

Why here (pure, typed, no AWS SDK): ``key_events`` takes any KMS / RDS / platform event and runs
``normalise``; the other three handlers must refuse everything but their own input, *before*
they read the registry or enqueue anything, so that a stray S3 notification, a ``null`` or a
list never makes the sweep enqueue every environment, and an oversized field can never reach
``SendMessageBatch``:

- ``sweep``: only the schedule's "Scheduled Event" (``schedule_event``);
- ``remediate``: only "BYOK Environment Health Changed" from ``byok.guard`` and the schedule
  (``remediate_event``);
- ``validate``: only an SQS batch (``sqs_batch``) whose every body is a validate message
  (``validate_message``: ``{"environment_id": ..., "trigger": ... | null}``, nothing else).

Each raises ``EventError`` naming the field (a handler answers it with a structured error and
an ``InvalidEvents`` metric); each returns a typed value the handler uses in one line. Nothing
of an incoming event is copied into what a handler sends on: the sweep stamps its messages with
a fresh schedule trigger carrying only the validated event id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from byok import bounded_json
from byok.errors import EventError, InputError, quote
from byok.events import _fields as f
from byok.events.normalise import foreign_payload, read_envelope
from byok.events.triggers import trigger_from_dict
from byok.identifiers import validate_arn, validate_environment_id
from byok.models import Trigger

__all__ = [
    "HEALTH_CHANGED",
    "SCHEDULED",
    "HealthChangedEvent",
    "ScheduleEvent",
    "ValidateMessage",
    "remediate_event",
    "schedule_event",
    "sqs_batch",
    "validate_message",
]

#: (source, detail-type) of the two events byok-guard's own functions take besides KMS ones
SCHEDULED: Final = ("aws.events", "Scheduled Event")
HEALTH_CHANGED: Final = ("byok.guard", "BYOK Environment Health Changed")

#: EventBridge event ids are UUIDs; anything id-like and short is accepted, nothing else
_EVENT_ID_MAX: Final = 128
#: a schedule rule event names its rule (one ARN); a few more are tolerated, not more
_MAX_RESOURCES: Final = 5
_MAX_BATCH: Final = 10_000  # Lambda's largest SQS batch


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class _EnvelopeModel(BaseModel):
    """The EventBridge wrapper (unknown top-level fields allowed: AWS adds some over time)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    version: StrictStr | None = None
    id: StrictStr = Field(min_length=1, max_length=_EVENT_ID_MAX, pattern=r"^[A-Za-z0-9._:-]+$")
    detail_type: StrictStr = Field(alias="detail-type")
    source: StrictStr
    #: always sent by EventBridge; optional because moto's delivery to an SQS target drops it
    #: (the demo routes captured health changes from such a queue), validated when present
    account: StrictStr | None = None
    time: StrictStr
    region: StrictStr
    resources: list[StrictStr] = Field(default_factory=list, max_length=_MAX_RESOURCES)
    detail: dict[str, Any]


class _EmptyDetail(_Strict):
    """A schedule rule's ``detail`` is ``{}``."""


class _SqsRecord(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    message_id: StrictStr = Field(alias="messageId", min_length=1, max_length=_EVENT_ID_MAX)
    body: StrictStr
    event_source: Literal["aws:sqs"] = Field(alias="eventSource")


class _SqsBatch(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    records: list[_SqsRecord] = Field(alias="Records", min_length=1, max_length=_MAX_BATCH)


class _MessageModel(_Strict):
    environment_id: StrictStr
    trigger: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ScheduleEvent:
    """A validated "Scheduled Event": its id, time and rule, nothing else of it."""

    event_id: str
    time: str
    rule: str | None


@dataclass(frozen=True, slots=True)
class HealthChangedEvent:
    """A validated "BYOK Environment Health Changed" envelope; ``detail`` is parsed by
    ``byok.remediation.model.HealthChange.from_detail``."""

    event_id: str
    time: str
    detail: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ValidateMessage:
    """One validate-queue message: which environment, and what asked for the check."""

    environment_id: str
    trigger: Trigger | None


def _bounded(value: object, field: str, limit: int) -> None:
    bounded_json.check_value(value, limit=limit, field=field, error=EventError)


def _envelope(event: object, accepted: tuple[tuple[str, str], ...]) -> _EnvelopeModel:
    envelope = read_envelope(event, _EnvelopeModel, "an EventBridge event object")
    if (envelope.source, envelope.detail_type) not in accepted:
        wanted = " or ".join(f"{quote(t)} from {quote(s)}" for s, t in accepted)
        raise EventError(
            f"detail-type: expected {wanted}, got {f.short(envelope.detail_type)} from "
            f"{f.short(envelope.source)}"
        )
    if envelope.account is not None:
        f.account_id(envelope.account, "account")
    f.region_name(envelope.region, "region")
    f.timestamp(envelope.time, "time")
    for i, arn in enumerate(envelope.resources):
        try:
            validate_arn(arn, f"resources[{i}]")
        except InputError as exc:
            raise f.as_event_error(exc) from None
    return envelope


def _schedule(envelope: _EnvelopeModel) -> ScheduleEvent:
    try:
        _EmptyDetail.model_validate(envelope.detail)
    except ValidationError as exc:
        raise f.from_validation_error(exc, "detail") from None
    return ScheduleEvent(
        event_id=envelope.id,
        time=f.timestamp(envelope.time, "time"),
        rule=envelope.resources[0] if envelope.resources else None,
    )


def schedule_event(event: object) -> ScheduleEvent:
    """The sweep's input: a "Scheduled Event" from ``aws.events`` with an empty detail."""
    return _schedule(_envelope(event, (SCHEDULED,)))


def remediate_event(event: object) -> ScheduleEvent | HealthChangedEvent:
    """The remediate function's input: a health-changed event or its schedule."""
    envelope = _envelope(event, (HEALTH_CHANGED, SCHEDULED))
    if (envelope.source, envelope.detail_type) == SCHEDULED:
        return _schedule(envelope)
    return HealthChangedEvent(
        event_id=envelope.id, time=f.timestamp(envelope.time, "time"), detail=envelope.detail
    )


def sqs_batch(event: object) -> int:
    """Check the validate function's input is an SQS batch (``Records`` of ``aws:sqs``
    records, each with a message id and a string body); returns the number of records."""
    if not isinstance(event, Mapping):
        raise EventError(f"event: expected an SQS batch object, got {f.short(event)}")
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], Mapping):
        source = records[0].get("eventSource")
        if source != "aws:sqs":
            what = foreign_payload(event) or f"Records[0].eventSource is {f.short(source)}"
            raise EventError(f'Records[0].eventSource: expected "aws:sqs" ({what})')
    try:
        batch = _SqsBatch.model_validate(dict(event))
    except ValidationError as exc:
        raise f.from_validation_error(exc, "") from None
    return len(batch.records)


def validate_message(body: object) -> ValidateMessage:
    """One validate-queue message body (JSON text of at most 256 KiB, or the decoded object):
    exactly ``environment_id`` and an optional ``trigger``, each validated."""
    if isinstance(body, str | bytes):
        body = bounded_json.loads(
            body, limit=bounded_json.SQS_MESSAGE_LIMIT, field="body", error=EventError
        )
    else:
        _bounded(body, "body", bounded_json.SQS_MESSAGE_LIMIT)
    if not isinstance(body, Mapping):
        raise EventError(f"body: expected a validate message object, got {f.short(body)}")
    try:
        message = _MessageModel.model_validate(dict(body))
    except ValidationError as exc:
        raise f.from_validation_error(exc, "body") from None
    try:
        env_id = validate_environment_id(message.environment_id, "body.environment_id")
    except InputError as exc:
        raise f.as_event_error(exc) from None
    trigger = (
        None if message.trigger is None else trigger_from_dict(message.trigger, "body.trigger")
    )
    return ValidateMessage(env_id, trigger)
