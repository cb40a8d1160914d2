"""Sweeps, sweep validations and event validations of one environment on real threads against
moto's ThreadedMotoServer (``byok_emulator.server``), with and without lost answers.

What must hold whatever the interleaving (docs/validation.md, "One queued validation per
environment"): after any sweep at most one sweep validation of the environment waits in the
queue (the backlog never grows), and once the queue is drained a new sweep sends again (no
marker is left behind that would hold the environment back until it ages out).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from byok_world import World

from byok.errors import ByokError
from byok.service import (
    process_validate_message,
    schedule_trigger,
    sweep_from,
    validate_environment,
)
from byok_emulator import faults

SWEEPS = 12


@pytest.fixture
def retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")  # a lost answer is retried by botocore


@pytest.fixture
def world(retried: None, server_world: World) -> World:
    """The emulator server's world, built after ``retried`` so every client retries."""
    return server_world


def _clock() -> datetime:
    return datetime.now(UTC)  # distinct times per call, as in Lambda


def _visible(world: World) -> int:
    attrs = world.platform.client("sqs").get_queue_attributes(
        QueueUrl=world.validate_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _race(world: World) -> tuple[list[int], int]:
    """A sweeper, two sweep validators and an event validator at once; returns the queue's
    visible messages after each sweep and the sweep validations handled."""
    deps = world.deps(clock=_clock)
    sqs = world.platform.client("sqs")
    env_id = world.env.environment_id
    validate_environment(env_id, None, deps)  # a flag to mark
    done = threading.Event()
    after_sweep: list[int] = []
    handled: list[int] = []

    def sweeper() -> None:
        try:
            for _ in range(SWEEPS):
                try:
                    sweep_from(deps, schedule_trigger(_clock()))
                except ByokError:
                    continue  # a failed sweep: Lambda would retry it; the next one comes
                after_sweep.append(_visible(world))
        finally:
            done.set()

    def sweep_validator() -> None:
        while not done.is_set() or _visible(world):
            got = sqs.receive_message(
                QueueUrl=world.validate_queue_url, MaxNumberOfMessages=1, VisibilityTimeout=300
            ).get("Messages", [])
            for m in got:
                try:
                    process_validate_message(m["Body"], deps)
                except ByokError:
                    continue  # retried by SQS after the visibility timeout in Lambda
                sqs.delete_message(
                    QueueUrl=world.validate_queue_url, ReceiptHandle=m["ReceiptHandle"]
                )
                handled.append(1)

    def event_validator() -> None:
        while not done.is_set():
            with contextlib.suppress(ByokError):
                validate_environment(env_id, None, deps)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(f) for f in (sweeper, sweep_validator, sweep_validator)]
        futures.append(pool.submit(event_validator))
        for f in futures:
            f.result(timeout=300)
    return after_sweep, len(handled)


def _no_marker_left(world: World) -> None:
    deps = world.deps(clock=_clock)
    progress = sweep_from(deps, schedule_trigger(_clock()))
    assert (progress.sent, progress.held) == (1, 0), world.store.get_flag(world.env.environment_id)


def test_racing_sweeps_and_validations_never_queue_two(world: World) -> None:
    after_sweep, handled = _race(world)
    assert after_sweep and max(after_sweep) <= 1, after_sweep
    assert handled >= 1
    _no_marker_left(world)


def test_lost_answers_on_marks_and_flag_writes_never_queue_two(world: World) -> None:
    lost = [
        faults.answer_lost("dynamodb", operations={"UpdateItem"}, rate=0.2, seed=13),
        faults.answer_lost("dynamodb", operations={"PutItem"}, rate=0.2, seed=14),
    ]
    try:
        after_sweep, handled = _race(world)
    finally:
        for fault in lost:
            fault.remove()
    assert after_sweep and max(after_sweep) <= 1, after_sweep
    assert handled >= 1
    assert any(f.hits for f in lost), "no answer was lost: the test proved nothing"
    _no_marker_left(world)
