"""A sweep invocation, and the event it sends itself to continue where it stopped.

Why its own event: a sweep over 100,000 environments takes longer than one invocation may run,
so an invocation that nears its timeout hands over the index key of the last environment it
enqueued and the trigger the whole sweep stamps on its messages. The event arrives at the same
handler as the schedule; it is checked as strictly as any input (every field named, every
identifier validated), since anything able to invoke the function could send one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from byok.errors import EventError, InputError
from byok.identifiers import validate_account_id, validate_environment_id
from byok.models import Trigger, TriggerKind
from byok.times import parse_time

if TYPE_CHECKING:
    from byok.service import Deps, SweepProgress

__all__ = [
    "CONTINUATION",
    "SweepStart",
    "continuation_event",
    "parse_continuation",
    "sweep_invocation",
    "sweep_start",
]


#: the key that marks a continuation event (an EventBridge event never has it)
CONTINUATION: Final = "byok_sweep_continuation"
_AFTER_KEYS: Final = frozenset({"pk", "sk", "customer_account", "environment_id"})


def continuation_event(trigger: Trigger, after: Mapping[str, str]) -> dict[str, Any]:
    return {CONTINUATION: {"trigger": trigger.to_dict(), "after": dict(after)}}


def parse_continuation(event: object) -> tuple[Trigger, dict[str, str]] | None:
    """(trigger, index key to continue after) of a continuation event; None for any other."""
    if not isinstance(event, Mapping) or CONTINUATION not in event:
        return None
    body = event[CONTINUATION]
    if not isinstance(body, Mapping) or set(body) != {"trigger", "after"}:
        raise EventError(f"{CONTINUATION}: expected an object with 'trigger' and 'after'")
    from byok.events import trigger_from_dict

    trigger = trigger_from_dict(body["trigger"], f"{CONTINUATION}.trigger")
    if trigger.kind is not TriggerKind.SCHEDULE:
        raise EventError(f"{CONTINUATION}.trigger.kind: expected 'schedule', got {trigger.kind}")
    after = body["after"]
    where = f"{CONTINUATION}.after"
    if not isinstance(after, Mapping) or "environment_id" not in after:
        raise EventError(f"{where}: expected an object with 'environment_id'")
    unknown = set(after) - _AFTER_KEYS
    if unknown:
        raise EventError(f"{where}: unexpected field(s) {sorted(unknown)}")
    try:
        env_id = validate_environment_id(after["environment_id"], f"{where}.environment_id")
        if "customer_account" in after:
            validate_account_id(after["customer_account"], f"{where}.customer_account")
    except InputError as exc:
        raise EventError(str(exc)) from None
    from byok.store import keys

    expected = {"pk": keys.env_pk(env_id), "sk": keys.META}
    for name, value in expected.items():
        if name in after and after[name] != value:
            raise EventError(f"{where}.{name}: expected {value!r}, got {after[name]!r}")
    return trigger, {k: str(v) for k, v in after.items()}


@dataclass(frozen=True, slots=True)
class SweepStart:
    """What one sweep invocation was asked to do: a continuation's trigger and where to resume,
    or (``trigger`` None) a fresh sweep whose trigger carries only the schedule event's id."""

    trigger: Trigger | None
    event_id: str | None
    after: dict[str, str] | None
    #: the schedule event's time: a retried invocation of one scheduled event is the same sweep
    #: (its marks are its own, ``Storage.mark_queued``)
    at: datetime | None = None


def sweep_start(event: object) -> SweepStart:
    """The sweep function's input, checked before anything else runs: a continuation event
    (``parse_continuation``) or the schedule's own "Scheduled Event"
    (``byok.events.envelopes.schedule_event``); anything else is an ``EventError``."""
    resumed = parse_continuation(event)
    if resumed is not None:
        trigger, after = resumed
        return SweepStart(trigger=trigger, event_id=trigger.event_id, after=after)
    from byok.events.envelopes import schedule_event

    schedule = schedule_event(event)
    at = parse_time(schedule.time, "time")
    return SweepStart(trigger=None, event_id=schedule.event_id, after=None, at=at)


def sweep_invocation(
    start: SweepStart,
    deps: Deps,
    *,
    time_left: Callable[[], float],
    function_arn: str,
    lambda_client: Callable[[], Any],
) -> SweepProgress:
    """One invocation of the sweep function: a schedule event starts a sweep (a fresh trigger
    with nothing of the event but its validated id), a continuation resumes one; out of time,
    it invokes ``function_arn`` with where it stopped.

    Raises a ``TransientError`` when the continuation cannot be sent (Lambda retries this
    invocation).
    """
    from byok.service import schedule_trigger, sweep_from

    # the schedule's own time, never later than now (an invoker cannot date a sweep ahead)
    now = deps.clock()
    at = min(start.at, now) if start.at is not None else now
    trigger = start.trigger or schedule_trigger(at, start.event_id)
    progress = sweep_from(deps, trigger, start.after, time_left=time_left)
    if progress.after is not None:
        from byok.aws.self_invoke import invoke_async

        invoke_async(lambda_client(), function_arn, continuation_event(trigger, progress.after))
    return progress
