"""Fuzz the four Lambda handlers in process on moto: whatever the event, the answer is a result
or a structured error (a retryable ``ByokError`` may be raised: Lambda retries it), and an
answer ``status: error`` comes with an ``InvalidEvents`` metric and leaves DynamoDB and SQS as
they were. ``make soak`` runs 10,000 events per handler."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from byok_world import World
from event_samples import EVENTS_DIR, load
from hostile import events_like, json_values, mutated
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from in_process import SPECS, emf_metrics, in_process_world, run, state
from local_invoke import load_handler_module
from soak import examples

from byok.errors import ByokError
from byok.events.envelopes import validate_message

FUZZ = {"deadline": None, "suppress_health_check": list(HealthCheck)}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One world for the module (building one costs about a second): every test and example
    compares the state before and after itself, so they cannot disturb each other."""
    with pytest.MonkeyPatch.context() as patch, in_process_world(patch) as world:
        yield world


_LOADED: dict[str, Any] = {}


def _module(function: str) -> Any:
    """The handler module, loaded once per test module (one cold start, then warm calls)."""
    if function not in _LOADED:
        _LOADED[function] = load_handler_module(SPECS[function])
    return _LOADED[function]


def _samples(folder: str, world: World) -> list[Any]:
    """The samples of one function, naming this world's environment and keys."""
    out = []
    for path in sorted((EVENTS_DIR / folder).glob("*.json")):
        text = path.read_text()
        text = text.replace(
            "1111aaaa-1111-4111-8111-111111111111", world.env.s3_key_arn.split("/")[1]
        )
        text = text.replace(
            "2222bbbb-2222-4222-8222-222222222222", world.env.aurora_key_arn.split("/")[1]
        )
        out.append(json.loads(text.replace('"acme-prod"', json.dumps(world.env.environment_id))))
    return out


def drain(world: World) -> None:
    """Empty the validate queue (PurgeQueue is allowed once a minute only)."""
    sqs = world.platform.client("sqs")
    while found := sqs.receive_message(
        QueueUrl=world.validate_queue_url, MaxNumberOfMessages=10
    ).get("Messages"):
        for message in found:
            sqs.delete_message(
                QueueUrl=world.validate_queue_url, ReceiptHandle=message["ReceiptHandle"]
            )


def answer(function: str, event: Any, module: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The handler's answer, or None when it raised a retryable ``ByokError`` (Lambda retries)."""
    try:
        result = run(function, event, monkeypatch, module)
    except ByokError as exc:
        assert exc.retryable, exc
        hypothesis.event("raised a retryable error")
        return None
    status = result.get("status") if isinstance(result, dict) else None
    hypothesis.event(f"status {status or sorted(result)}")
    return result


def check_refused(result: Any, before: list[Any], world: World, out: str) -> bool:
    """If the handler refused the event: it said so with a metric and wrote nothing."""
    if not (isinstance(result, dict) and result.get("status") == "error"):
        return False
    assert result["error"]["code"] and result["error"]["message"]
    assert "InvalidEvents" in emf_metrics(out) or "FailedEvents" in emf_metrics(out), out
    assert state(world) == before
    return True


@pytest.mark.property
@settings(max_examples=examples(20, 10_000), **FUZZ)
@given(data=st.data())
def test_key_events(world, monkeypatch, capsys, data) -> None:
    samples = _samples("key_events", world)
    module = _module("key_events")
    event = data.draw(events_like(samples))
    capsys.readouterr()
    before = state(world)
    result = answer("key_events", event, module, monkeypatch)
    out = capsys.readouterr().out
    if result is not None and not check_refused(result, before, world, out):
        assert result["status"] in ("validated", "ignored", "unknown_key"), result


@pytest.mark.property
@settings(max_examples=examples(20, 10_000), **FUZZ)
@given(data=st.data())
def test_sweep(world, monkeypatch, capsys, data) -> None:
    module = _module("sweep")
    event = data.draw(events_like([*_samples("sweep", world), load("disable_key")]))
    drain(world)
    capsys.readouterr()
    before = state(world)
    result = answer("sweep", event, module, monkeypatch)
    out = capsys.readouterr().out
    if result is None or check_refused(result, before, world, out):
        return
    assert result == {"status": "ok", "event_id": event["id"], "enqueued": 1}
    sqs = world.platform.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=world.validate_queue_url)["Messages"]
    body = json.loads(message["Body"])
    assert set(body) == {"environment_id", "trigger"}  # nothing of the event is copied
    assert body["trigger"]["evidence"] == {} and body["trigger"]["event_id"] == event["id"]


@pytest.mark.property
@settings(max_examples=examples(20, 10_000), **FUZZ)
@given(data=st.data())
def test_remediate(world, monkeypatch, capsys, data) -> None:
    samples = _samples("remediate", world)
    module = _module("remediate")
    event = data.draw(events_like([*samples, load("disable_key")]))
    capsys.readouterr()
    before = state(world)
    result = answer("remediate", event, module, monkeypatch)
    out = capsys.readouterr().out
    if result is not None and not check_refused(result, before, world, out):
        assert result["status"] in ("ok", "partial"), result


@st.composite
def sqs_events(draw: st.DrawFn, batch: dict[str, Any]) -> Any:
    """SQS batches whose bodies are hostile (mutated messages, any JSON, any text), or events
    that are no SQS batch at all."""
    messages = [json.loads(r["body"]) for r in batch["Records"]]
    bodies = st.one_of(
        mutated(messages).map(json.dumps),
        json_values().map(json.dumps),
        st.text(max_size=50),
    )
    records = []
    for i in range(draw(st.integers(1, 3))):
        record = dict(batch["Records"][i % len(batch["Records"])])
        record["messageId"] = f"m-{i}"
        record["body"] = draw(bodies)
        records.append(record)
    return draw(st.one_of(st.just({"Records": records}), events_like([{"Records": records}])))


def _parses(body: object) -> bool:
    try:
        validate_message(body)
    except ByokError:
        return False
    return True


@pytest.mark.property
@settings(max_examples=examples(15, 10_000), **FUZZ)
@given(data=st.data())
def test_validate(world, monkeypatch, capsys, data) -> None:
    (batch,) = _samples("validate", world)
    module = _module("validate")
    event = data.draw(sqs_events(batch))
    capsys.readouterr()
    before = state(world)
    result = answer("validate", event, module, monkeypatch)
    out = capsys.readouterr().out
    if result is None or check_refused(result, before, world, out):
        return
    assert set(result) == {"batchItemFailures"}, result
    records = event["Records"]
    if not any(_parses(r.get("body")) for r in records):  # no message: nothing validated
        assert state(world) == before
        assert emf_metrics(out).get("DroppedMessages", 0) >= 1
