"""Orchestration the Lambda handlers call: trigger -> environments -> validate -> flag -> publish.

Why one module: every entry point (key event, RDS event, platform error report, sweep message,
CLI) reaches a verdict through ``validate_environment``, the ONE code path: gather the facts as
they are now, validate them (pure), let ``byok.health.decide`` apply the state machine, write the
flag conditionally, and publish + audit only on a change. An event only says *what* to
re-check, so duplicates and out-of-order delivery cannot produce a wrong flag.

Dependencies are injected through ``Deps`` so tests run the real code against moto.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from byok.errors import (
    ByokError,
    EventError,
    FlagMovedError,
    InputError,
    NotFoundError,
    StaleWriteError,
    TransientError,
)
from byok.health import HealthFlag, HealthSettings, Transition, decide, health_changed_entry
from byok.identifiers import RoleArn, validate_environment_id
from byok.models import (
    DEFAULT_CANARY_PREFIX,
    Environment,
    HealthStatus,
    Purpose,
    Trigger,
    TriggerKind,
    ValidationReport,
)
from byok.probing import (
    ProbeReason,
    ProbeSettings,
    key_fingerprint,
    needs_full,
    needs_full_after_metadata,
)
from byok.store.records import FlagChange, HealthChangedRecord, OutboxEntry, RememberedPolicy
from byok.times import millis, to_wire
from byok.validation import Facts, validate

if TYPE_CHECKING:  # boto3 is imported lazily: cold start matters on the event-to-flag path
    from byok.aws.kms_limit import KmsRateLimiter
    from byok.aws.publisher import EventPublisher
    from byok.aws.sessions import Session
    from byok.aws.sts import PlatformAccess
    from byok.store import Storage

from byok.permissions import Resource, declare

#: the sweep's fan-out (SendMessageBatch is authorised as sqs:SendMessage)
PERMISSIONS = declare(("sqs:SendMessage",), Resource.VALIDATE_QUEUE)

__all__ = [
    "PERMISSIONS",
    "Deps",
    "Outcome",
    "ServiceSettings",
    "SweepProgress",
    "environments_for",
    "handle_trigger",
    "process_validate_message",
    "run_sweep",
    "schedule_trigger",
    "sweep_from",
    "validate_environment",
]

logger = logging.getLogger("byok.service")

_SQS_BATCH: Final = 10
#: decisions retried when concurrent validations keep replacing the flag under us
_DECIDE_ATTEMPTS: Final = 5
#: seconds of invocation time a sweep keeps in hand before it hands over to a continuation
SWEEP_MARGIN_S: Final = 15.0
#: ``SWEEP_REQUEUE_AFTER_MINUTES`` by default: the validate queue's visibility timeout (a message
#: whose validation failed transiently reappears after it; tests/template checks the two agree),
#: short enough that a marker whose message was lost holds its environment back one hour at most
DEFAULT_SWEEP_REQUEUE_AFTER: Final = timedelta(minutes=60)

#: gather(env, platform, *, platform_role_arn, trigger, canary_prefix, known_policies, limiter,
#: full) -> Facts (``byok.aws.gather.gather_facts``)
Gatherer = Callable[..., Facts]


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Configuration from the Lambda environment (see ``Deps.from_environment``)."""

    platform_role_arn: str
    health_event_bus: str | None = None
    validate_queue_url: str | None = None
    canary_prefix: str = DEFAULT_CANARY_PREFIX
    health: HealthSettings = field(default_factory=HealthSettings)
    #: how long a sweep's queued message holds back the next sweeps' for the same environment
    #: before it counts as lost (``SWEEP_REQUEUE_AFTER_MINUTES``; docs/validation.md)
    sweep_requeue_after: timedelta = DEFAULT_SWEEP_REQUEUE_AFTER

    def __post_init__(self) -> None:
        RoleArn.parse(self.platform_role_arn, "PLATFORM_ROLE_ARN")
        if self.sweep_requeue_after < timedelta(minutes=1):
            raise InputError(
                f"SWEEP_REQUEUE_AFTER_MINUTES: expected at least 1 minute, "
                f"got {self.sweep_requeue_after}"
            )
        if not self.canary_prefix or self.canary_prefix.startswith("/"):
            raise InputError(
                f"CANARY_PREFIX: expected a relative key prefix such as "
                f"'byok-guard/canary/', got {self.canary_prefix!r}"
            )


@dataclass
class Deps:
    """Everything the service needs from the outside world, injectable for tests."""

    #: registry, flags, audit, the outbox of health-changed events (published at least once) and
    #: the last PutKeyPolicy text per key (GetKeyPolicy does not work across accounts)
    store: Storage
    session_factory: Callable[[], Session]
    settings: ServiceSettings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    publisher: EventPublisher | None = None
    sqs: Any = None
    gather: Gatherer | None = None
    #: the platform role's cached session and clients (built from session_factory on first use)
    platform: PlatformAccess | None = None
    #: this container's share of the KMS request quotas (None: unpaced)
    kms_limiter: KmsRateLimiter | None = None
    #: when a scheduled validation runs the S3 canary and the rotation reads (byok.probing)
    probe: ProbeSettings = field(default_factory=ProbeSettings)

    def platform_access(self) -> PlatformAccess:
        """The platform role's clients, assumed once per container (refreshed near expiry)."""
        if self.platform is None:
            from byok.aws.sts import PlatformAccess

            self.platform = PlatformAccess(self.session_factory(), self.settings.platform_role_arn)
        return self.platform

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Deps:
        """Build from the Lambda env vars; a missing or bad variable raises ``InputError``."""
        env = os.environ if environ is None else environ

        def required(name: str) -> str:
            value = env.get(name, "")
            if not value:
                raise InputError(f"{name}: required environment variable is not set")
            return value

        from byok.aws.sessions import default_session
        from byok.store import Store

        settings = ServiceSettings(
            platform_role_arn=required("PLATFORM_ROLE_ARN"),
            health_event_bus=env.get("HEALTH_EVENT_BUS") or None,
            validate_queue_url=env.get("VALIDATE_QUEUE_URL") or None,
            canary_prefix=env.get("CANARY_PREFIX") or DEFAULT_CANARY_PREFIX,
            health=HealthSettings.from_env(env),
            sweep_requeue_after=_requeue_after(env.get("SWEEP_REQUEUE_AFTER_MINUTES")),
        )
        session = default_session()
        from byok.aws.errors import client_config

        store = Store(
            required("ENVIRONMENTS_TABLE"),
            required("AUDIT_TABLE"),
            client=session.client("dynamodb", config=client_config()),
        )
        from byok.aws.kms_limit import KmsRateLimiter
        from byok.aws.publisher import EventPublisher

        return cls(
            kms_limiter=KmsRateLimiter.from_env(env),
            probe=ProbeSettings.from_env(env),
            store=store,
            session_factory=lambda: session,
            settings=settings,
            publisher=EventPublisher(
                session.client("events", config=client_config()), settings.health_event_bus
            ),
            sqs=session.client("sqs", config=client_config())
            if settings.validate_queue_url
            else None,
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one validation did: the decided flag, whether it changed, whether it was stale."""

    environment_id: str
    status: HealthStatus
    previous_status: HealthStatus | None
    changed: bool
    stale: bool
    flag: HealthFlag
    report: ValidationReport
    published: bool = False

    @property
    def operator_reasons(self) -> tuple[str, ...]:
        """Reasons about the platform's own set-up in this validation (bucket missing, S3 or the
        role refusing the platform): the operator's to fix, counted by the handlers in the
        ``PlatformConfigurationErrors`` metric (alarmed), never told to the customer."""
        from byok.reasons import OPERATOR_REASONS

        return tuple(sorted({c.reason for c in self.report.checks if c.reason in OPERATOR_REASONS}))

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment_id,
            "status": self.status.value,
            "previous_status": self.previous_status.value if self.previous_status else None,
            "changed": self.changed,
            "stale": self.stale,
            "published": self.published,
            "reasons": list(self.flag.reasons),
            "fixes": list(self.flag.fixes),
            "errors": list(self.flag.errors),
            "checked_at": to_wire(self.flag.checked_at),
            "operator_reasons": list(self.operator_reasons),
        }


# ---- entry points -----------------------------------------------------------------------------


def environments_for(trigger: Trigger, deps: Deps) -> list[Environment]:
    """The environments a trigger concerns (empty when no registered environment uses the key)."""
    if trigger.key_arn:
        return deps.store.environments_for_key(trigger.key_arn)
    if trigger.cluster_id:
        if not trigger.region:
            raise EventError("region: an RDS cluster trigger needs the cluster's region")
        env = deps.store.environment_for_cluster(trigger.region, trigger.cluster_id)
        return [env] if env else []
    env_id = trigger.evidence.environment_id
    if env_id is not None:
        try:
            return [deps.store.get_environment(validate_environment_id(env_id))]
        except NotFoundError:
            return []
    return []


def handle_trigger(trigger: Trigger, deps: Deps) -> list[Outcome]:
    """Re-validate every environment the trigger names; keys nobody uses give ``[]``."""
    return [
        validate_environment(env.environment_id, trigger, deps, env=env)
        for env in environments_for(trigger, deps)
    ]


def validate_environment(
    env_id: str, trigger: Trigger | None, deps: Deps, *, env: Environment | None = None
) -> Outcome:
    """The one code path: facts now -> report -> decide -> conditional write -> publish/audit.

    DynamoDB: one strongly consistent Query reads the environment, its flag, its pending event
    and its remembered key policies (``load_environment_state``), one conditional write stores
    the flag (with a change: its audit record and outbox entry in the same transaction). The
    flag read before the facts is safe: the write is conditional on it (``expect_previous``),
    and a flag replaced meanwhile is decided against again.
    """
    state = deps.store.load_environment_state(validate_environment_id(env_id))
    env = env or state.environment
    now = deps.clock()
    previous = state.flag
    facts, probed = _gather(env, trigger, previous, now, deps, state.policies)
    report = validate(
        env,
        facts,
        platform_role_arn=deps.settings.platform_role_arn,
        now=now,
        trigger=trigger,
    )
    fingerprint = key_fingerprint({p: k.metadata for p, k in facts.keys.items()})
    for _ in range(_DECIDE_ATTEMPTS):
        transition = decide(previous, report, deps.settings.health)
        # probing bookkeeping rides on the flag: when the canary last answered, the keys' digest
        probed_at = report.checked_at if probed else (previous.probed_at if previous else None)
        transition = replace(
            transition,
            flag=replace(
                transition.flag,
                probed_at=probed_at,
                key_fingerprint=fingerprint,
                # sweep bookkeeping rides on the flag too: the stored marker carried forward
                # (the write requires it unchanged), this message noted as handled
                queued_at=previous.queued_at if previous else None,
                swept_at=_swept(previous, trigger, now),
            ),
        )
        outcome, entry, change = _change(env, trigger, report, transition, deps)
        try:
            # flag, audit record and pending event in ONE atomic write, and only if the flag
            # is still the one decided against (docs/health.md, "Every change is published
            # and acted on"): a crash, a lost answer or a concurrent validation can no longer
            # leave a changed flag that no event announces
            deps.store.commit_flag(
                transition.flag,
                previous.checked_at if previous else None,
                change,
                expect_previous=True,
            )
            break
        except FlagMovedError as moved:
            # an older validation wrote between our read and our write: decide again against
            # what it wrote (our result is newer and will stand)
            previous = moved.stored if isinstance(moved.stored, HealthFlag) else None
        except StaleWriteError as exc:
            # a newer validation already wrote its result: it stands, this one is dropped; if
            # that newer change's event has not gone out yet, help it out (best effort)
            logger.info(
                "stale validation dropped", extra={"environment_id": env_id, "why": str(exc)}
            )
            handled = _swept(None, trigger, now)
            if handled is not None:  # the sweep's marker must not wait for this message
                _free_marker(
                    deps.store.note_swept,
                    env.environment_id,
                    handled,
                    "handled sweep message not noted",
                )
            published = _publish_pending(env.environment_id, deps)
            return replace(outcome, stale=True, changed=False, published=published)
    else:
        raise TransientError(
            f"health flag of {env.environment_id!r}: replaced {_DECIDE_ATTEMPTS} times while "
            "deciding; retried later"
        )
    if change is None:
        # a change whose event could not go out earlier is published now (at least once); the
        # state read says whether there is one (no read of its own) unless the flag moved
        known = (lambda: state.pending_event) if previous is state.flag else None
        return replace(outcome, published=_publish_pending(env.environment_id, deps, known))
    logger.info(
        "health changed",
        extra={
            "environment_id": env.environment_id,
            "previous_status": outcome.previous_status,
            "status": outcome.status,
            "reasons": list(transition.flag.reasons),
        },
    )
    published = _publish(env.environment_id, entry, report.checked_at, deps)
    return replace(outcome, published=published)


def _change(
    env: Environment,
    trigger: Trigger | None,
    report: ValidationReport,
    transition: Transition,
    deps: Deps,
) -> tuple[Outcome, dict[str, Any], FlagChange | None]:
    """The outcome of a decision, its event entry, and what a change records with its flag."""
    outcome = Outcome(
        environment_id=env.environment_id,
        status=transition.flag.status,
        previous_status=transition.previous_status,
        changed=transition.changed,
        stale=False,
        flag=transition.flag,
        report=report,
    )
    entry = health_changed_entry(transition, deps.settings.health_event_bus)
    if not transition.changed:
        return outcome, entry, None
    change = FlagChange(
        audit=HealthChangedRecord(
            previous_status=outcome.previous_status,
            status=outcome.status,
            reasons=transition.flag.reasons,
            checked_at=report.checked_at,
            trigger=trigger.to_dict() if trigger else None,
            checks=tuple(c.to_dict() for c in report.checks if c.status.value != "pass"),
        ),
        entry=entry,
    )
    return outcome, entry, change


def _publish(env_id: str, entry: Mapping[str, Any], checked_at: datetime, deps: Deps) -> bool:
    """Publish a change already pending in the outbox, then mark it published.

    A failure raises (a ``ByokError``; ``TransientError`` when a retry may help): the validation
    is retried, finds no change and publishes the pending entry, and so does any later
    validation of the environment (the sweep's at the latest)."""
    if deps.publisher is None:
        return False
    deps.publisher.publish(entry)
    deps.store.mark_event_published(env_id, checked_at)
    return True


def _publish_pending(
    env_id: str, deps: Deps, known: Callable[[], OutboxEntry | None] | None = None
) -> bool:
    """Publish the newest health change if its event never went out (a failed put_events);
    ``known``: what the validation's state read found (no read of its own), else it is read."""
    if deps.publisher is None:
        return False
    try:
        pending = known() if known is not None else deps.store.pending_event(env_id)
        if pending is None:
            return False
        logger.info(
            "publishing an unpublished health change",
            extra={"checked_at": to_wire(pending.checked_at)},
        )
        deps.publisher.publish(pending.entry)
        deps.store.mark_event_published(env_id, pending.checked_at)
    except ByokError as exc:
        # this validation itself succeeded; the change stays pending for the next one (the
        # validation that made the change failed and is retried anyway)
        logger.warning("pending health change still not published", extra={"error": str(exc)})
        return False
    return True


def schedule_trigger(now: datetime, event_id: str | None = None) -> Trigger:
    """The trigger a sweep stamps on each message (kind SCHEDULE, no key)."""
    return Trigger(
        kind=TriggerKind.SCHEDULE,
        key_arn=None,
        account=None,
        region=None,
        event_name="Scheduled Sweep",
        # whole milliseconds: the messages carry it as wire_z text, and the sweep's marker
        # must equal what a validation reads back (mark_queued, swept_at)
        event_time=millis(now),
        event_id=event_id or str(uuid.uuid4()),
    )


@dataclass(frozen=True, slots=True)
class SweepProgress:
    """What one sweep invocation enqueued, and where the next one continues (None: done)."""

    sent: int
    batches: int
    after: dict[str, str] | None
    #: environments whose previous sweep message is still queued (not sent again)
    held: int = 0


def run_sweep(deps: Deps, trigger: Trigger | None = None) -> int:
    """Enqueue one validate message per registered environment; returns how many were sent.

    The whole sweep in this process (the CLI, tests): ``sweep_from`` with no deadline."""
    return sweep_from(deps, trigger).sent


def sweep_from(
    deps: Deps,
    trigger: Trigger | None = None,
    after: Mapping[str, str] | None = None,
    time_left: Callable[[], float] | None = None,
) -> SweepProgress:
    """Enqueue validations from ``after`` on, in full batches of 10, until done or out of time.

    The listing is the sparse ``environments`` index, page by page. Each environment is first
    marked queued by this sweep (``Storage.mark_queued``, one conditional write, ten at a
    time): one whose previous sweep message is still queued is held back, so a backlog never
    holds two sweep validations of one environment (docs/validation.md, "One queued
    validation per environment"). Messages go out in batches of exactly 10 (the last one of the
    whole sweep excepted): at most ceil(N/10) SendMessageBatch calls however the sweep is split.
    When ``time_left()`` (seconds) falls under ``SWEEP_MARGIN_S`` with work left, it stops and
    returns the index key of the last environment sent or held back: the next invocation (same
    trigger, so its marks are this sweep's) continues right after it.
    """
    if not deps.settings.validate_queue_url or deps.sqs is None:
        raise InputError("VALIDATE_QUEUE_URL: required environment variable is not set")
    trig = trigger or schedule_trigger(deps.clock())
    body_trigger = trig.to_dict()
    at = trig.event_time
    requeue_before = at - deps.settings.sweep_requeue_after
    pending: deque[dict[str, str]] = deque()  # popped from the left: linear in the page
    ready: list[str] = []  # marked for this sweep, not sent yet (at most one batch)
    done: dict[str, str] | None = None  # every row up to this one is sent or held back
    last: dict[str, str] = {}  # the last row marked
    sent = batches = held = 0
    held_after_done = 0  # of ``held``, the environments after ``done`` (among ``ready``)
    page_after: Mapping[str, str] | None = after

    def short() -> bool:
        return time_left is not None and time_left() < SWEEP_MARGIN_S

    def mark(chunk: list[dict[str, str]]) -> list[bool]:
        """Ten conditional writes at once; a failed one is raised after the others' marks
        are known. Those, and the failed ones (a write whose answer was lost may have been
        applied), are taken back with the rest of ``ready``: only a mark of this sweep is."""
        futures = [
            pool.submit(deps.store.mark_queued, row["environment_id"], at, requeue_before)
            for row in chunk
        ]
        failure = next((f.exception() for f in futures if f.exception() is not None), None)
        if failure is not None:
            ready.extend(
                r["environment_id"]
                for r, f in zip(chunk, futures, strict=True)
                if f.exception() is not None or f.result()
            )
            raise failure
        return [f.result() for f in futures]

    with ThreadPoolExecutor(max_workers=_SQS_BATCH, thread_name_prefix="sweep-mark") as pool:
        try:
            while True:
                rows, next_page = deps.store.environment_page(page_after)
                pending.extend(rows)
                while True:
                    while len(ready) < _SQS_BATCH and pending:
                        take = min(_SQS_BATCH - len(ready), len(pending))
                        chunk = [pending.popleft() for _ in range(take)]
                        last = chunk[-1]
                        for row, free in zip(chunk, mark(chunk), strict=True):
                            if free:
                                ready.append(row["environment_id"])
                            elif not ready:
                                held, done = held + 1, dict(row)
                            else:
                                held, held_after_done = held + 1, held_after_done + 1
                        if (pending or next_page is not None) and short():
                            # checked after every chunk: a long run of held-back environments
                            # must not run past the timeout with a batch half filled
                            if done is None:  # nothing behind us finished: send what is ready
                                _send_batch(deps, ready, body_trigger)
                                sent, batches, ready = sent + len(ready), batches + 1, []
                                done, held_after_done = dict(last), 0
                            # what comes after ``done`` (``ready``, unsent, and environments
                            # held back among it) the continuation marks again (the same
                            # sweep's marks are its own) and counts
                            return SweepProgress(sent, batches, done, held - held_after_done)
                    if not ready or (len(ready) < _SQS_BATCH and next_page is not None):
                        break  # the next page fills the batch, or nothing is left
                    _send_batch(deps, ready, body_trigger)
                    sent, batches, ready = sent + len(ready), batches + 1, []
                    done, held_after_done = dict(last), 0
                    if (pending or next_page is not None) and short():
                        return SweepProgress(sent, batches, done, held)
                if next_page is None:
                    return SweepProgress(sent, batches, None, held)
                page_after = next_page
        except BaseException:
            # marked but never sent: take the marks back, or the next sweeps would hold these
            # environments back until the marks age out (a retry of this sweep sends them)
            for env_id in ready:
                _free_marker(deps.store.unmark_queued, env_id, at, "sweep marker not taken back")
            raise


def _swept(previous: HealthFlag | None, trigger: Trigger | None, now: datetime) -> datetime | None:
    """The newest sweep message handled, this validation's included: a sweep trigger's time
    (never later than now: a message cannot vouch for a sweep still to come)."""
    before = previous.swept_at if previous else None
    if trigger is None or trigger.kind is not TriggerKind.SCHEDULE:
        return before
    this = min(trigger.event_time, now)
    return this if before is None or this > before else before


def _free_marker(
    write: Callable[[str, datetime], None], environment_id: str, at: datetime, failed: str
) -> None:
    """A marker write that frees the next sweep (``note_swept``, ``unmark_queued``): best
    effort, since a marker left behind ages out after SWEEP_REQUEUE_AFTER_MINUTES."""
    try:
        write(environment_id, at)
    except ByokError as exc:
        logger.warning(failed, extra={"environment_id": environment_id, "error": str(exc)})


def _requeue_after(raw: str | None) -> timedelta:
    """``SWEEP_REQUEUE_AFTER_MINUTES``: whole minutes from 1 to 10080 (a week); empty: 60."""
    text = (raw or "").strip()
    if not text:
        return DEFAULT_SWEEP_REQUEUE_AFTER
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 7 * 24 * 60:
        raise InputError(
            f"SWEEP_REQUEUE_AFTER_MINUTES: expected whole minutes from 1 to 10080, got {raw!r}"
        )
    return timedelta(minutes=int(text))


def process_validate_message(body: Mapping[str, Any] | str, deps: Deps) -> Outcome:
    """Validate the environment one SQS message body names; a body without the message schema
    (``byok.events.envelopes.validate_message``) is an ``EventError`` and validates nothing."""
    from byok.events.envelopes import validate_message

    message = validate_message(body)
    try:
        return validate_environment(message.environment_id, message.trigger, deps)
    except ByokError as exc:
        handled = None if exc.retryable else _swept(None, message.trigger, deps.clock())
        if handled is not None:
            # dropped for good (a retry cannot fix it): the sweep's marker must not wait for it
            _free_marker(
                deps.store.note_swept,
                message.environment_id,
                handled,
                "handled sweep message not noted",
            )
        raise


# ---- helpers ----------------------------------------------------------------------------------


def _gather(
    env: Environment,
    trigger: Trigger | None,
    previous: HealthFlag | None,
    now: datetime,
    deps: Deps,
    remembered: Mapping[str, RememberedPolicy],
) -> tuple[Facts, bool]:
    """The facts, and whether the S3 canary gave an answer (it then counts as probed now).

    Adaptive probing (``byok.probing``): what calls for the full set is known before any call
    (the trigger, the previous flag, the canary's age) or after the key metadata (a change).
    """
    gather = deps.gather
    if gather is None:
        from byok.aws.gather import gather_facts

        gather = gather_facts
    reasons: list[ProbeReason] = []
    upfront = needs_full(trigger, previous, now, deps.probe)

    def after_metadata(metadata: Mapping[Purpose, Any]) -> bool:
        reasons.append(needs_full_after_metadata(previous, metadata))
        return reasons[-1] is not ProbeReason.LIGHT

    facts = gather(
        env,
        deps.platform_access(),
        platform_role_arn=deps.settings.platform_role_arn,
        trigger=trigger,
        canary_prefix=deps.settings.canary_prefix,
        known_policies=_known_policies(env, trigger, deps, remembered),
        limiter=deps.kms_limiter,
        full=None if upfront else after_metadata,
    )
    probe = facts.s3_probe
    answered = probe is not None and (probe.ok or probe.error is None or not probe.error.transient)
    logger.debug(
        "probing",
        extra={
            "environment_id": env.environment_id,
            "why": (upfront or (reasons[-1] if reasons else ProbeReason.LIGHT)).value,
        },
    )
    return facts, answered


def _known_policies(
    env: Environment,
    trigger: Trigger | None,
    deps: Deps,
    remembered: Mapping[str, RememberedPolicy],
) -> dict[Purpose, tuple[str, ...]]:
    """Policy texts from PutKeyPolicy events: this trigger's, remembered, newest first wins;
    (text, source, *other texts of the same CloudTrail second).

    ``remembered`` comes with the environment's state (same Query); a carried policy is stored
    first (conditional on its event time), and only when a newer one won meanwhile without
    being in ``remembered`` is it read back.
    """
    from byok.aws.gather import event_policy

    known: dict[Purpose, tuple[str, ...]] = {}
    for purpose in Purpose:
        arn = env.key_arn(purpose)
        carried = event_policy(trigger, arn)
        found = remembered.get(arn)
        if carried is not None and trigger is not None:
            text, when, event_id = carried[0], trigger.event_time, trigger.event_id
            if deps.store.remember_policy(
                arn, text, when, event_id, environment_id=env.environment_id
            ):
                # stored as the store does: a tie of the same second keeps the other texts
                ties = dict(found.ties) if found and found.event_time == when else {}
                found = RememberedPolicy(arn, text, when, event_id, {**ties, event_id: text})
            elif found is None or found.event_time < when:
                found = deps.store.recall_policy(arn, environment_id=env.environment_id)
        if found is not None:
            known[purpose] = (found.policy, found.source, *found.alternatives)
    return known


def _send_batch(deps: Deps, env_ids: list[str], trigger: Mapping[str, Any]) -> None:
    """One ``SendMessageBatch``, its failures classified like every AWS call (never a raw
    error): refused by SQS for the sender's fault a ``ByokError``, else a ``TransientError``."""
    entries = [
        {
            "Id": str(i),
            "MessageBody": json.dumps(
                {"environment_id": env_id, "trigger": trigger}, sort_keys=True
            ),
        }
        for i, env_id in enumerate(env_ids)
    ]
    try:
        answer = dict(
            deps.sqs.send_message_batch(QueueUrl=deps.settings.validate_queue_url, Entries=entries)
        )
    except Exception as exc:
        from byok.aws.errors import classify

        fact = classify(exc, "SendMessageBatch")
        error = TransientError if fact.transient else ByokError
        raise error(f"send_message_batch: {fact.code}: {fact.message}") from exc
    failed = answer.get("Failed") or []
    if failed and all(f.get("SenderFault") for f in failed):
        raise ByokError(
            f"send_message_batch: {len(failed)} of {len(entries)} messages refused "
            f"({failed[0].get('Code')}: {failed[0].get('Message')})",
            code="SEND_FAILED",
        )
    if failed:
        raise TransientError(
            f"send_message_batch: {len(failed)} of {len(entries)} messages failed "
            f"({failed[0].get('Code')}: {failed[0].get('Message')})"
        )
