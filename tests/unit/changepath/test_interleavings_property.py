"""Property: concurrent validations of one environment, interleaved in every order hypothesis can
find, with the customer flipping the S3 key in between, never leave a false flag, and the last
flag is the truth of the newest observation.

Each validation is the real ``byok.service.validate_environment`` on its own thread. A
scheduler (this test's main thread) lets exactly one of them run at a time, from one yield
point to the next: before it observes the key (the injected ``gather``, which reads the test's
key state and returns the facts an enabled / disabled key gives), before it reads the stored
flag, before it commits. Between any two steps the customer may disable or enable the key. The
store is ``MemoryStore``, the in-memory twin of ``DynamoDBStore`` that tests/store/test_contract.py
holds to the same contract (the conditional flag write, the atomic change commit); the same race
on the real store through moto's server is tests/integration/test_concurrent_validations.py.

The truth function: the S3 key enabled -> HEALTHY, disabled -> KEY_UNUSABLE (every other fact
is healthy and complete, so no HOLD).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from soak import examples
from validation_facts import NOW, ROLE, environment, healthy_facts, metadata, with_key

from byok.models import HealthStatus, Purpose
from byok.service import Deps, Outcome, ServiceSettings, validate_environment
from byok.store import AuditKind, MemoryStore

ENV = environment()


def truth(enabled: bool) -> HealthStatus:
    return HealthStatus.HEALTHY if enabled else HealthStatus.KEY_UNUSABLE


def facts_for(enabled: bool):
    facts = healthy_facts()
    if enabled:
        return facts
    disabled = metadata(ENV.s3_key_arn, key_state="Disabled")
    return with_key(facts, Purpose.S3, metadata=disabled)


@dataclass
class Actor:
    """One validation on its own thread, stopping at each yield point until told to go on."""

    name: str
    go: threading.Event = field(default_factory=threading.Event)
    parked: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    observed: bool | None = None
    checked_at: str | None = None
    outcome: Outcome | None = None
    error: BaseException | None = None


class World:
    """The key's state, the store, and the scheduler's yield points."""

    def __init__(self) -> None:
        self.enabled = True
        self.store = _SteppedStore(self)
        self.store.register(ENV)
        self.local = threading.local()
        ticks = itertools.count(1)
        self._clock_lock = threading.Lock()
        self._ticks = ticks

    def clock(self):
        with self._clock_lock:
            return NOW + timedelta(seconds=next(self._ticks))

    def point(self) -> None:
        """A yield point: park and wait for the scheduler's go (no-op off an actor thread)."""
        actor: Actor | None = getattr(self.local, "actor", None)
        if actor is None:
            return
        actor.go.clear()
        actor.parked.set()
        actor.go.wait()

    def gather(self, env, session, **_: Any):
        self.point()  # the customer may act before this validation looks at the key
        actor: Actor | None = getattr(self.local, "actor", None)
        if actor is not None:
            actor.observed = self.enabled
        return facts_for(self.enabled)

    def deps(self) -> Deps:
        return Deps(
            store=self.store,
            session_factory=lambda: None,
            settings=ServiceSettings(platform_role_arn=ROLE),
            clock=self.clock,
            gather=self.gather,
        )


class _SteppedStore(MemoryStore):
    """MemoryStore with the scheduler's yield points before a flag (or state) read and before a
    commit."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self._world = world

    def get_flag(self, environment_id: str):
        self._world.point()
        return super().get_flag(environment_id)

    def load_environment_state(self, environment_id: str):
        self._world.point()  # the validation's state read carries its flag
        return super().load_environment_state(environment_id)

    def commit_flag(self, flag, previous_checked_at=None, change=None, **kw: Any) -> None:
        self._world.point()
        super().commit_flag(flag, previous_checked_at, change, **kw)


def _start(world: World, actor: Actor) -> threading.Thread:
    def run() -> None:
        world.local.actor = actor
        actor.go.wait()
        try:
            actor.outcome = validate_environment(ENV.environment_id, None, world.deps(), env=ENV)
            actor.checked_at = actor.outcome.flag.checked_at
        except BaseException as exc:  # reported by the test, never swallowed
            actor.error = exc
        finally:
            actor.done = True
            actor.parked.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _step(actor: Actor) -> None:
    """Let ``actor`` run to its next yield point (or to its end)."""
    actor.parked.clear()
    actor.go.set()
    assert actor.parked.wait(timeout=10), f"{actor.name} did not reach a yield point"


@pytest.mark.property
@settings(max_examples=examples(500, 10000), deadline=None)
@given(st.integers(2, 3), st.data())
def test_interleaved_validations_never_leave_a_false_flag(validations: int, data) -> None:
    world = World()
    actors = [Actor(f"v{i}") for i in range(validations)]
    threads = [_start(world, a) for a in actors]
    flips = 0
    while not all(a.done for a in actors):
        live = [a for a in actors if not a.done]
        choices = [*live, "flip"] if flips < 4 else live
        choice = data.draw(st.sampled_from(choices), label="next")
        if choice == "flip":
            flips += 1
            world.enabled = not world.enabled
        else:
            _step(choice)
    for thread in threads:
        thread.join(timeout=10)
    for actor in actors:
        assert actor.error is None, actor.error
        outcome = actor.outcome
        assert outcome is not None
        if not outcome.stale:  # what it wrote is what it saw: no false flag
            assert outcome.status is truth(actor.observed)
    newest = max(actors, key=lambda a: a.checked_at)
    stored = world.store.get_flag(ENV.environment_id)
    assert stored.checked_at == newest.checked_at  # the newest result stands
    assert stored.status is truth(newest.observed)
    # the last change is recorded for publishing, and every committed change audited once
    pending = world.store.pending_event(ENV.environment_id)
    assert pending is not None and pending.checked_at == stored.changed_at
    committed = [a for a in actors if a.outcome.changed and not a.outcome.stale]
    audited = [
        e for e in world.store.list_audit(ENV.environment_id) if e.kind is AuditKind.HEALTH_CHANGED
    ]
    assert sorted(e.recorded_at for e in audited) == sorted(a.checked_at for a in committed)
    # once the races are over, one more validation says what the key is
    final = validate_environment(ENV.environment_id, None, world.deps(), env=ENV)
    assert final.status is truth(world.enabled)
