"""trigger_from_dict (queue messages) and manual_trigger (operator requests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from event_samples import S3_KEY, load, trigger_sample_names

from byok.errors import EventError
from byok.events import manual_trigger, normalise, trigger_from_dict
from byok.models import TriggerKind
from byok.times import wire_z

NAMES = trigger_sample_names()


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name):
    trigger = normalise(load(name))
    assert trigger_from_dict(trigger.to_dict()) == trigger


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "email"}, r"^trigger.kind: expected one of api_call, "),
        ({"key_arn": "alias/x"}, r"^trigger.key_arn: expected a KMS key ARN"),
        ({"account": "12"}, r"^trigger.account: expected a 12-digit"),
        ({"region": "mars"}, r"^trigger.region: expected an AWS region"),
        ({"event_id": ""}, r"^trigger.event_id: expected a non-empty string"),
        ({"event_time": "soon"}, r"^trigger.event_time: expected an ISO 8601"),
        ({"evidence": []}, r"^trigger.evidence: expected an object"),
        ({"cluster_id": "-x"}, r"^trigger.cluster_id: expected an Aurora cluster"),
    ],
)
def test_bad_trigger_dict(change, message):
    data = normalise(load("disable_key")).to_dict() | change
    with pytest.raises(EventError, match=message):
        trigger_from_dict(data)


def test_trigger_dict_must_be_an_object():
    with pytest.raises(EventError, match=r"^body.trigger: expected an object"):
        trigger_from_dict("x", "body.trigger")


def test_manual_trigger():
    when = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    trigger = manual_trigger(key_arn=S3_KEY, environment_id="acme-prod", reason="cli", now=when)
    assert trigger.kind is TriggerKind.MANUAL
    assert (trigger.key_arn, trigger.account, trigger.region) == (
        S3_KEY,
        "111122223333",
        "eu-west-1",
    )
    assert wire_z(trigger.event_time) == "2026-11-24T09:00:00Z"
    assert trigger.evidence == {"reason": "cli", "environment_id": "acme-prod"}
    assert manual_trigger().event_id != manual_trigger().event_id
    with pytest.raises(EventError, match=r"^key_arn: "):
        manual_trigger(key_arn="nope")
