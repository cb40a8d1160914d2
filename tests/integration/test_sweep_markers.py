"""At most one queued sweep validation per environment (docs/validation.md, "One queued
validation per environment"), on the emulated world with each function as its deployed role:
the sweep marks the flag before it sends, a validation of the message frees the marker, a lost
message ages out, a failed send takes its marks back, and a flag write never erases a marker set
after its read."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from byok.errors import TransientError
from byok.service import (
    process_validate_message,
    schedule_trigger,
    sweep_from,
    validate_environment,
)
from byok_emulator import faults


def _bodies(world: Any) -> list[str]:
    """Every message queued for validation (received and deleted)."""
    sqs = world.platform.client("sqs")
    out: list[str] = []
    while got := sqs.receive_message(QueueUrl=world.validate_queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in got:
            out.append(m["Body"])
            sqs.delete_message(QueueUrl=world.validate_queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def _sweep(world: Any, minutes: int = 5) -> Any:
    world.clock.advance(minutes=minutes)
    return sweep_from(world.deps("sweep"), schedule_trigger(world.clock()))


@pytest.fixture
def flagged(world: Any) -> Any:
    """The world's environment, validated once (a flag to mark)."""
    validate_environment(world.env.environment_id, None, world.deps())
    return world


def test_a_second_sweep_holds_back_an_environment_whose_message_is_still_queued(flagged):
    world = flagged
    first = _sweep(world)
    assert (first.sent, first.held) == (1, 0)
    for _ in range(3):  # the validators fall behind: three more sweeps add nothing
        later = _sweep(world)
        assert (later.sent, later.held) == (0, 1)
    bodies = _bodies(world)
    assert len(bodies) == 1  # one queued validation, not four
    # handled: the validation notes the message, and the next sweep sends again
    outcome = process_validate_message(bodies[0], world.deps())
    assert not outcome.stale
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.swept_at == flag.queued_at == json_time(bodies[0])
    again = _sweep(world)
    assert (again.sent, again.held) == (1, 0)


def json_time(body: str) -> Any:
    from byok.times import parse_time

    return parse_time(json.loads(body)["trigger"]["event_time"])


def test_a_retried_sweep_sends_again_at_least_once(flagged):
    world = flagged
    world.clock.advance(minutes=5)
    trigger = schedule_trigger(world.clock())
    deps = world.deps("sweep")
    assert sweep_from(deps, trigger).sent == 1
    assert sweep_from(deps, trigger).sent == 1  # the same sweep: its marks are its own
    assert len(_bodies(world)) == 2


def test_a_marker_whose_message_was_lost_ages_out(flagged):
    world = flagged
    assert _sweep(world).sent == 1
    _bodies(world)  # the message is lost (deleted unhandled)
    assert _sweep(world, minutes=30).held == 1
    assert _sweep(world, minutes=31).sent == 1  # 61 minutes: older than the default 60


def test_a_failed_send_takes_its_marks_back(flagged):
    world = flagged
    with (
        faults.internal_error("sqs", operations={"SendMessageBatch"}),
        pytest.raises(TransientError),
    ):
        _sweep(world)
    assert world.store.get_flag(world.env.environment_id).queued_at is None
    assert _sweep(world).sent == 1  # nothing holds the next sweep back
    assert len(_bodies(world)) == 1


def test_a_validation_never_erases_a_marker_set_during_it(flagged):
    """The sweep marks the flag while a validation gathers its facts: that validation's write
    finds the flag moved, decides again, and keeps the marker (no second message later)."""
    from byok.aws.gather import gather_facts

    world = flagged
    world.clock.advance(minutes=5)
    sweep = schedule_trigger(world.clock())
    marked: list[bool] = []

    def gather_then_sweep(*args: Any, **kwargs: Any) -> Any:
        facts = gather_facts(*args, **kwargs)
        if not marked:
            marked.append(sweep_from(world.deps("sweep"), sweep).sent == 1)
        return facts

    outcome = validate_environment(
        world.env.environment_id, None, world.deps(gather=gather_then_sweep)
    )
    assert marked == [True] and not outcome.stale
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.checked_at == outcome.flag.checked_at  # the event's validation stood
    assert flag.queued_at == sweep.event_time  # and the marker with it
    assert _sweep(world).held == 1  # the sweep message is still queued: nothing added
    assert len(_bodies(world)) == 1


def test_handling_a_marked_message_costs_no_extra_request(flagged):
    world = flagged
    assert _sweep(world).sent == 1
    (body,) = _bodies(world)
    deps = world.deps()
    calls: list[str] = []
    deps.store.client.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    world.clock.advance(minutes=1)
    assert not process_validate_message(body, deps).changed
    assert calls == ["Query", "PutItem"]  # the marker is freed by the flag's own write
    assert _sweep(world).sent == 1


def test_a_stale_sweep_validation_still_frees_the_marker(flagged):
    """A newer validation's result stood (this one is dropped as stale): the message counts as
    handled all the same, so the next sweep is not held back for an hour."""
    from byok.aws.gather import gather_facts

    world = flagged
    assert _sweep(world).sent == 1
    (body,) = _bodies(world)
    newer: list[bool] = []

    def gather_then_newer(*args: Any, **kwargs: Any) -> Any:
        facts = gather_facts(*args, **kwargs)
        if not newer:
            newer.append(True)
            world.clock.advance(seconds=1)  # an event's validation lands first, newer
            validate_environment(world.env.environment_id, None, world.deps())
        return facts

    world.clock.advance(seconds=1)
    outcome = process_validate_message(body, world.deps(gather=gather_then_newer))
    assert outcome.stale
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.swept_at is not None and flag.swept_at >= flag.queued_at
    assert _sweep(world).sent == 1


def test_a_sweep_split_by_its_deadline_holds_back_and_resumes_exactly(world, monkeypatch):
    """Held-back environments advance the continuation key too: a later invocation neither
    skips nor repeats one, and a sweep of only held-back environments still hands over."""
    from byok.health import HealthFlag
    from byok.models import HealthStatus

    deps = world.deps()
    validate_environment(world.env.environment_id, None, deps)
    ids = [world.env.environment_id, *world.register_registry_only(24)]
    for env_id in ids[1::2]:  # half of them have a flag (a marker can hold them back)
        world.store.commit_flag(
            HealthFlag(
                environment_id=env_id,
                status=HealthStatus.HEALTHY,
                since=world.clock(),
                checked_at=world.clock(),
            ),
            None,
            expect_previous=True,
        )
    flagged = {world.env.environment_id} | {f"env-{i:03d}" for i in range(0, 24, 2)}
    sweep_deps = world.deps("sweep")
    pages = sweep_deps.store.environment_page
    monkeypatch.setattr(
        sweep_deps.store, "environment_page", lambda after=None: pages(after, limit=4)
    )

    marks: list[int] = []
    mark = sweep_deps.store.mark_queued

    def counted(*args: Any) -> bool:
        marks[-1] += 1
        return mark(*args)

    monkeypatch.setattr(sweep_deps.store, "mark_queued", counted)

    def split_sweep() -> tuple[int, int, int]:
        """Every invocation finds itself out of time at its first check."""
        world.clock.advance(minutes=5)
        trigger = schedule_trigger(world.clock())
        sent = held = invocations = 0
        after = None
        while True:
            invocations += 1
            marks.append(0)
            progress = sweep_from(sweep_deps, trigger, after, time_left=lambda: 5.0)
            sent, held, after = sent + progress.sent, held + progress.held, progress.after
            if after is None:
                return sent, held, invocations

    sent, held, invocations = split_sweep()
    assert (sent, held) == (25, 0) and invocations > 1
    assert sorted(json.loads(b)["environment_id"] for b in _bodies(world)) == sorted(ids)
    sent, held, invocations = split_sweep()  # nothing handled: the flagged are held back
    assert (sent, held) == (25 - len(flagged), len(flagged)) and invocations > 1
    queued = [json.loads(b)["environment_id"] for b in _bodies(world)]
    assert sorted(queued) == sorted(set(ids) - flagged)  # each unflagged once, no flagged
    # out of time, an invocation hands over after one chunk, even in a run of held-back
    # environments with a batch half filled (it would otherwise mark on past its timeout)
    assert max(marks) <= 10, marks


def test_requeue_age_is_configured_in_whole_minutes():
    from byok.errors import InputError
    from byok.service import _requeue_after

    assert _requeue_after(None) == timedelta(minutes=60)
    assert _requeue_after(" 15\n") == timedelta(minutes=15)
    for bad in ("0", "-5", "1.5", "10081", "\uff11\uff15", "x"):
        with pytest.raises(InputError, match="SWEEP_REQUEUE_AFTER_MINUTES"):
            _requeue_after(bad)


def test_a_mark_whose_answer_was_lost_is_taken_back(flagged):
    """One attempt per call here (the fixture): the lost answer fails the sweep after DynamoDB
    applied the mark; the mark is taken back, so the next sweep is not held back for an hour."""
    world = flagged
    with (
        faults.answer_lost("dynamodb", operations={"UpdateItem"}, times=1),
        pytest.raises(TransientError),
    ):
        _sweep(world)
    assert world.store.get_flag(world.env.environment_id).queued_at is None
    assert _sweep(world).sent == 1
    assert len(_bodies(world)) == 1


def test_a_sweep_message_dropped_for_good_frees_the_marker(flagged):
    """A validation that fails with an error no retry can fix drops the message (the validate
    handler acknowledges it): the next sweep sends again instead of waiting for the marker to
    age out. A transient failure keeps the marker (the message is redelivered)."""
    from byok.errors import ByokError

    world = flagged
    assert _sweep(world).sent == 1
    (body,) = _bodies(world)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ByokError("a failure no retry can fix", code="BROKEN")

    def flaky(*args: Any, **kwargs: Any) -> Any:
        raise TransientError("throttled")

    with pytest.raises(TransientError):
        process_validate_message(body, world.deps(gather=flaky))
    assert _sweep(world).held == 1  # redelivered later: still queued
    with pytest.raises(ByokError):
        process_validate_message(body, world.deps(gather=broken))
    assert _sweep(world).sent == 1


def _scheduled(world: Any, minutes_from_now: float) -> dict[str, Any]:
    from pathlib import Path

    from byok.times import wire_z

    path = Path(__file__).resolve().parents[2] / "events" / "sweep" / "scheduled_event.json"
    event = json.loads(path.read_text())
    event["time"] = wire_z(world.clock() + timedelta(minutes=minutes_from_now), millis=False)
    event["id"] = f"schedule-{minutes_from_now}"
    return event


def _invoke(world: Any, event: dict[str, Any]) -> Any:
    from byok.sweep_continuation import sweep_invocation, sweep_start

    def no_continuation() -> Any:
        raise AssertionError("a one-environment sweep needs no continuation")

    return sweep_invocation(
        sweep_start(event),
        world.deps("sweep"),
        time_left=lambda: 600.0,
        function_arn="arn:aws:lambda:eu-west-1:444455556666:function:SweepFunction",
        lambda_client=no_continuation,
    )


def test_a_retried_scheduled_invocation_is_the_same_sweep(flagged):
    """Lambda retries an invocation with the same event: its time makes it the same sweep, so
    the retry sends again (at least once); the next scheduled event is another sweep."""
    world = flagged
    event = _scheduled(world, -1)
    assert _invoke(world, event).sent == 1
    assert _invoke(world, event).sent == 1  # the retry: the same sweep's mark
    world.clock.advance(minutes=5)
    assert _invoke(world, _scheduled(world, 0)).held == 1
    from byok.times import parse_time

    times = {json_time(b) for b in _bodies(world)}
    assert times == {parse_time(event["time"])}  # both messages: the first event's sweep


def test_a_schedule_event_dated_ahead_is_a_sweep_of_now(flagged):
    """An invoker cannot date a sweep ahead (which would hold every environment back until
    that time plus the requeue age): the sweep's time is never later than the clock."""
    world = flagged
    assert _invoke(world, _scheduled(world, 24 * 60)).sent == 1
    from byok.times import millis

    (body,) = _bodies(world)
    assert json_time(body) == millis(world.clock())
