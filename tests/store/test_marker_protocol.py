"""The sweep-marker protocol as a state machine, on both stores (moto's DynamoDB evaluates the
real condition expressions; ``MemoryStore`` its twin), against a model of one environment's
queue (docs/validation.md, "One queued validation per environment").

Steps, in any order: a sweep (mark, then send, or a failed send that takes its mark back), a
validator receiving the oldest queued message and reading the flag, an event validation reading
the flag, either validation writing later (``commit_flag`` with the marker carried forward, and
decided again when the flag moved, as ``byok.service.validate_environment`` does), a message
lost unhandled, time passing. What must hold after every step:

- **never two**: of the messages queued and the sweep messages being validated, at most one is
  younger than the requeue age (an older one counts as lost);
- **never stuck**: with nothing queued or in flight and no message lost within the requeue age,
  the next sweep may send.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws
from soak import examples
from store_data import AUDIT_TABLE, ENV_TABLE, REGION, flag

from byok.errors import FlagMovedError, StaleWriteError
from byok.health import HealthFlag
from byok.store import DynamoDBStore, MemoryStore, Storage, create_tables
from byok.times import parse_time

ENV_ID = "acme-prod"
REQUEUE = timedelta(minutes=60)
T0 = parse_time("2026-11-25T04:00:00+00:00")
_tables = itertools.count()


@dataclass
class _Validation:
    """A validation between its read and its write: its message's sweep time (None: an
    event), and the flag it read."""

    sweep_at: datetime | None
    read: HealthFlag | None


class MarkerProtocol(RuleBasedStateMachine):
    store: Storage  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.queue: list[datetime] = []  # sweep times of the queued messages, oldest first
        self.validating: list[_Validation] = []
        self.lost_at: datetime | None = None  # when a message was last lost unhandled
        # the flag item alone (no registration: its transaction makes moto copy the table,
        # so a long run would slow down with every example)
        self.env_id = env_id = f"env-{next(_tables)}"
        first = replace(flag("2026-11-25T03:59:00+00:00"), environment_id=env_id)
        self.store.commit_flag(first, None, expect_previous=True)

    def _tick(self, seconds: int = 1) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    @rule(send_fails=st.booleans())
    def sweep(self, send_fails: bool) -> None:
        at = self._tick(300)
        if self.store.mark_queued(self.env_id, at, at - REQUEUE):
            if send_fails:
                self.store.unmark_queued(self.env_id, at)
            else:
                self.queue.append(at)

    @precondition(lambda self: bool(self.queue))
    @rule()
    def receive(self) -> None:
        sweep_at = self.queue.pop(0)
        self.validating.append(_Validation(sweep_at, self.store.get_flag(self.env_id)))

    @rule()
    def event_read(self) -> None:
        self.validating.append(_Validation(None, self.store.get_flag(self.env_id)))

    @precondition(lambda self: bool(self.validating))
    @rule(data=st.data())
    def write(self, data: st.DataObject) -> None:
        """``validate_environment``'s decide-and-write loop, reduced to the bookkeeping."""
        i = data.draw(st.integers(0, len(self.validating) - 1))
        validation = self.validating.pop(i)
        checked_at = self._tick()
        previous = validation.read
        for _ in range(5):
            assert previous is not None
            swept = previous.swept_at
            if validation.sweep_at is not None and (swept is None or validation.sweep_at > swept):
                swept = validation.sweep_at
            new = replace(previous, checked_at=checked_at, swept_at=swept)
            try:
                self.store.commit_flag(new, previous.checked_at, expect_previous=True)
                return
            except FlagMovedError as moved:
                previous = moved.stored if isinstance(moved.stored, HealthFlag) else None
            except StaleWriteError:
                if validation.sweep_at is not None:
                    self.store.note_swept(self.env_id, validation.sweep_at)
                return
        raise AssertionError("the flag kept moving")

    @precondition(lambda self: bool(self.queue))
    @rule()
    def lose(self) -> None:
        self.queue.pop(0)
        self.lost_at = self.now

    @rule(minutes=st.integers(1, 90))
    def wait(self, minutes: int) -> None:
        self._tick(60 * minutes)

    @invariant()
    def never_two(self) -> None:
        """Of the sweep messages queued or being validated, at most one is younger than the
        requeue age (an older one counts as lost: its validation failed and waits for SQS's
        redelivery, or it is gone)."""
        outstanding = [*self.queue, *(v.sweep_at for v in self.validating if v.sweep_at)]
        young = [at for at in outstanding if at >= self.now - REQUEUE]
        assert len(young) <= 1, (self.queue, self.validating)

    @invariant()
    def never_stuck(self) -> None:
        if self.queue or any(v.sweep_at is not None for v in self.validating):
            return
        at = self.now + timedelta(minutes=5)
        if self.lost_at is not None and self.lost_at >= at - REQUEUE:
            return  # a lost message's marker may hold until it ages out
        stored = self.store.get_flag(self.env_id)
        assert stored is not None
        free = stored.queued_at is None or (
            stored.swept_at is not None and stored.queued_at <= stored.swept_at
        )
        assert free or stored.queued_at < at - REQUEUE, stored


@pytest.fixture(scope="module")
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("dynamodb", region_name=REGION)


@pytest.mark.property
@pytest.mark.parametrize("kind", ["memory", "dynamodb"])
def test_the_marker_protocol_never_queues_two_and_never_sticks(kind: str, dynamodb: Any) -> None:
    if kind == "dynamodb":
        n = next(_tables)
        create_tables(dynamodb, f"{ENV_TABLE}-m{n}", f"{AUDIT_TABLE}-m{n}")
        store: Storage = DynamoDBStore(f"{ENV_TABLE}-m{n}", f"{AUDIT_TABLE}-m{n}", client=dynamodb)
    else:
        store = MemoryStore()
    MarkerProtocol.store = store
    fast, soak = (400, 10000) if kind == "memory" else (20, 1000)
    run_state_machine_as_test(
        MarkerProtocol,
        settings=settings(
            max_examples=examples(fast, soak),
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
