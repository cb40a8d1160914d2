"""Envelope checks of sweep, remediate and validate: their own input only, anything else refused
with the field named (pure: no AWS)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from event_samples import load

from byok.errors import EventError
from byok.events.envelopes import (
    HealthChangedEvent,
    ScheduleEvent,
    remediate_event,
    schedule_event,
    sqs_batch,
    validate_message,
)
from byok.models import TriggerKind


def _schedule() -> dict[str, Any]:
    return load("sweep/scheduled_event")


def _batch() -> dict[str, Any]:
    return load("validate/sqs_batch")


def test_schedule_event_keeps_only_id_time_and_rule() -> None:
    event = schedule_event(_schedule())
    assert event == ScheduleEvent(
        "59b1082a-8c43-4dde-ba61-0b2c3daebfc6",
        "2026-11-24T09:20:00Z",
        "arn:aws:events:eu-west-1:444455556666:rule/byok-guard-sweep",
    )


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, r"^event: expected an EventBridge event object, got null$"),
        ([], r"^event: expected an EventBridge event object, got \[\]$"),
        ({}, r"^id: required$"),
        ({"Records": [{"eventSource": "aws:s3"}]}, r"^event: this is an S3 event notification"),
        ({"Records": [{"eventSource": "aws:sqs"}]}, r"^event: this is an SQS message batch"),
        (load("disable_key"), r'^detail-type: expected "Scheduled Event" from "aws.events"'),
        ({**_schedule(), "detail": {"huge": "x"}}, r"^detail.huge: not an accepted field"),
        ({**_schedule(), "id": "a\nb"}, r"^id: contains characters"),
        ({**_schedule(), "id": "ab\n"}, r"^id: contains characters"),
        ({**_schedule(), "resources": ["x" * 5000]}, r"^resources\[0\]: "),
        ({**_schedule(), "resources": ["arn:aws:events:x"] * 6}, r"^resources: too many entries"),
        ({**_schedule(), "account": "\uff11" * 12}, r"^account: expected a 12-digit"),
        ({**_schedule(), "time": "yesterday"}, r"^time: expected an ISO 8601"),
    ],
)
def test_sweep_refuses_everything_but_its_schedule(event: object, message: str) -> None:
    with pytest.raises(EventError, match=message):
        schedule_event(event)


def test_deep_or_huge_events_are_refused_before_validation() -> None:
    deep: Any = {}
    for _ in range(100):
        deep = {"a": deep}
    with pytest.raises(EventError, match=r"^event: nested deeper than 64 levels$"):
        schedule_event({**_schedule(), "extra": deep})
    with pytest.raises(EventError, match=r"^event: larger than the 262144-byte limit$"):
        schedule_event({**_schedule(), "extra": "x" * 300_000})


def test_remediate_takes_health_changes_and_its_schedule_only() -> None:
    changed = remediate_event(load("remediate/key_disabled"))
    assert isinstance(changed, HealthChangedEvent) and changed.detail["status"] == "KEY_UNUSABLE"
    assert isinstance(remediate_event(load("remediate/scheduled_event")), ScheduleEvent)
    with pytest.raises(EventError, match=r'^detail-type: expected "BYOK Environment Health'):
        remediate_event(load("disable_key"))


def test_sqs_batch_and_messages() -> None:
    batch = _batch()
    assert sqs_batch(batch) == 2
    message = validate_message(batch["Records"][0]["body"])
    assert message.environment_id == "acme-prod"
    assert message.trigger is not None and message.trigger.kind is TriggerKind.SCHEDULE
    assert validate_message({"environment_id": "acme-prod"}).trigger is None


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, r"^event: expected an SQS batch object, got null$"),
        ({}, r"^Records: required$"),
        ({"Records": []}, r"^Records: must not be empty"),
        (
            {"Records": [{"eventSource": "aws:s3"}]},
            r'^Records\[0\].eventSource: expected "aws:sqs"',
        ),
        (load("sweep/scheduled_event"), r"^Records: required$"),
    ],
)
def test_validate_refuses_what_is_not_an_sqs_batch(event: object, message: str) -> None:
    with pytest.raises(EventError, match=message):
        sqs_batch(event)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", r"^body: not valid JSON"),
        ("[" * 100 + "]" * 100, r"^body: JSON nested deeper than 64"),
        ('{"environment_id": "acme", "environment_id": "evil"}', r"^body: duplicate JSON key"),
        ("[]", r"^body: expected a validate message object, got \[\]$"),
        ('{"environment_id": "acme", "copy": {}}', r"^body.copy: not an accepted field"),
        ('{"environment_id": "acme\\n"}', r"^body.environment_id: expected 1-63"),
        ('{"environment_id": "acme", "trigger": {"kind": "x"}}', r"^body.trigger.kind: expected"),
        (json.dumps({"environment_id": "a", "trigger": {"p": "x" * 270_000}}), r"^body: .*262144"),
    ],
)
def test_validate_messages_must_have_the_schema(body: str, message: str) -> None:
    with pytest.raises(EventError, match=message):
        validate_message(body)


def test_an_event_without_account_is_accepted_as_moto_delivers_it_to_sqs() -> None:
    """EventBridge always sends ``account``; moto's delivery to an SQS target drops it, and the
    demo routes health changes captured in such a queue: optional, but checked when present."""
    event = load("remediate/key_disabled")
    del event["account"]
    assert isinstance(remediate_event(event), HealthChangedEvent)
