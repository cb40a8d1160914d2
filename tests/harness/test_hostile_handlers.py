"""Issue 10's handler cases, in process on moto: the sweep used to take any event (an S3 event,
``null``, a list), enqueue every environment and answer ok, and an accepted event with a huge
field made ``SendMessageBatch`` fail with a raw botocore error. Now each handler answers a
structured error with an ``InvalidEvents`` metric, and DynamoDB and SQS stay as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from byok_world import World
from event_samples import load
from in_process import emf_metrics, in_process_world, run, state

from byok.errors import ByokError, TransientError
from byok.service import Deps, run_sweep


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One world for the module (building one costs about a second): every test and example
    compares the state before and after itself, so they cannot disturb each other."""
    with pytest.MonkeyPatch.context() as patch, in_process_world(patch) as world:
        yield world


SCHEDULE = load("sweep/scheduled_event")
NOT_FOR_THE_SWEEP: list[Any] = [
    {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "x"}}}]},
    None,
    [],
    [SCHEDULE],
    load("disable_key"),
    {**SCHEDULE, "detail": {"huge": "x" * 200_000}},
    {**SCHEDULE, "resources": ["arn:aws:events:eu-west-1:444455556666:rule/" + "x" * 3000]},
    {**SCHEDULE, "id": "59b1082a\n"},
]


@pytest.mark.parametrize("event", NOT_FOR_THE_SWEEP, ids=range(len(NOT_FOR_THE_SWEEP)))
def test_sweep_refuses_what_is_not_its_schedule(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], event: Any
) -> None:
    before = state(world)
    result = run("sweep", event, monkeypatch)
    assert result["status"] == "error" and result["error"]["code"] == "INVALID_EVENT"
    assert emf_metrics(capsys.readouterr().out) == {"InvalidEvents": 1.0}
    assert state(world) == before  # nothing enqueued, nothing written


@pytest.mark.parametrize(
    ("function", "event"),
    [
        ("remediate", None),
        ("remediate", load("disable_key")),
        ("remediate", {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
        ("validate", None),
        ("validate", SCHEDULE),
        ("validate", {"Records": [{"eventSource": "aws:s3"}]}),
        ("key_events", {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}),
        ("key_events", [SCHEDULE]),
    ],
)
def test_other_handlers_refuse_foreign_events(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    function: str,
    event: Any,
) -> None:
    before = state(world)
    result = run(function, event, monkeypatch)
    assert result["status"] == "error" and result["error"]["code"] == "INVALID_EVENT"
    assert emf_metrics(capsys.readouterr().out) == {"InvalidEvents": 1.0}
    assert state(world) == before


def test_validate_drops_bodies_without_the_message_schema(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = load("validate/sqs_batch")
    bodies = [
        json.dumps({"environment_id": world.env.environment_id, "extra": "copied event"}),
        json.dumps({"environment_id": world.env.environment_id + "\n"}),
        "[" * 100 + "]" * 100,
    ]
    batch["Records"] = [
        {**batch["Records"][0], "messageId": f"m{i}", "body": body} for i, body in enumerate(bodies)
    ]
    before = state(world)
    assert run("validate", batch, monkeypatch) == {"batchItemFailures": []}
    assert emf_metrics(capsys.readouterr().out) == {"DroppedMessages": 3.0}
    assert state(world) == before


def test_sweep_messages_carry_a_fresh_trigger(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run("sweep", SCHEDULE, monkeypatch)["enqueued"] == 1
    sqs = world.platform.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=world.validate_queue_url)["Messages"]
    trigger = json.loads(message["Body"])["trigger"]
    assert trigger["kind"] == "schedule" and trigger["event_id"] == SCHEDULE["id"]
    assert trigger["evidence"] == {} and trigger["event_name"] == "Scheduled Sweep"


def test_a_send_message_batch_failure_is_a_byok_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VALIDATE_QUEUE_URL", world.validate_queue_url + "-gone")
    deps = Deps.from_environment()
    with pytest.raises(ByokError, match=r"^send_message_batch: ") as info:
        run_sweep(deps)
    assert not isinstance(info.value, TransientError)  # a missing queue is no transient fault
