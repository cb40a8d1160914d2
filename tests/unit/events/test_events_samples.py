"""Every file in events/ parses, every accepted shape has a sample, the SQS batch is coherent."""

from __future__ import annotations

import hashlib
import json

import pytest
from event_samples import EVENTS_DIR, load, trigger_sample_names

from byok.events import SHAPES, normalise, trigger_from_dict
from byok.models import Trigger

EVENTBRIDGE_FILES = trigger_sample_names()
#: shapes without a deployed function to receive them (built by the CLI / tests instead)
NO_SAMPLE_NEEDED = {("byok.manual", "BYOK Manual Validation")}


def test_samples_exist():
    assert len(EVENTBRIDGE_FILES) >= 17


@pytest.mark.parametrize("name", EVENTBRIDGE_FILES)
def test_every_sample_normalises(name):
    trigger = normalise(load(name))
    assert isinstance(trigger, Trigger)
    assert trigger.key_arn or trigger.cluster_id or trigger.kind.value == "schedule"
    json.dumps(trigger.to_dict())  # evidence must be JSON as is


def test_every_shape_has_a_sample():
    seen = {(e["source"], e["detail-type"]) for e in map(load, EVENTBRIDGE_FILES)}
    assert set(SHAPES) - NO_SAMPLE_NEEDED <= seen
    assert seen <= set(SHAPES)


def test_readme_describes_every_file():
    readme = (EVENTS_DIR / "README.md").read_text()
    for path in EVENTS_DIR.glob("*/*.json"):
        assert f"`{path.name}`" in readme, path.name


def test_sqs_batch_bodies_carry_valid_triggers():
    records = load("validate/sqs_batch")["Records"]
    assert len(records) == 2
    triggers = []
    for record in records:
        assert record["eventSource"] == "aws:sqs"
        assert hashlib.md5(record["body"].encode()).hexdigest() == record["md5OfBody"]
        body = json.loads(record["body"])
        assert body["environment_id"] == "acme-prod"
        triggers.append(trigger_from_dict(body["trigger"]))
    assert triggers[0] == normalise(load("sweep/scheduled_event"))
    assert triggers[1] == normalise(load("disable_key"))
