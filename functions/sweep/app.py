"""sweep: the scheduled safety net. Enqueues one validation per registered environment.

Events are best effort (docs/aws-notes.md); the sweep re-checks every environment on a schedule
through the validate queue (partial batch failures, DLQ), so a lost event about a key's state or
an S3 key's policy costs at most one period (the sweep reads the state and runs the S3 canary).
A lost ``PutKeyPolicy`` event of an **Aurora** key is not seen by the sweep at all (GetKeyPolicy
is not cross-account, Aurora has no probe): the remembered policy stands until the next
``PutKeyPolicy`` event or the next report of the customer's opt-in policy reporter
(docs/validation.md, "What a lost event can hide"). Thin:
``byok.events.envelopes.schedule_event`` accepts only the schedule's "Scheduled Event"
(anything else: a structured error, ``InvalidEvents``, nothing enqueued), then
``byok.service.run_sweep`` does the work with a fresh schedule trigger carrying nothing of the
event but its validated id. A ``TransientError`` is raised (Lambda retries, then the failure
destination keeps the event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from byok import lambda_support as support
from byok.errors import ByokError, EventError
from byok.events.envelopes import schedule_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = support.cached_deps(support.service_deps)


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    from byok.service import run_sweep, schedule_trigger

    event_id = support.event_id(event)
    try:  # only the schedule's own event: anything else is answered, nothing is enqueued
        schedule = schedule_event(event)
    except EventError as exc:
        return support.INVALID_EVENT.handle(exc, logger, metrics, event_id=event_id)
    deps = _deps()  # outside the try: a misconfigured function fails loudly (Errors alarm)
    try:  # a fresh trigger: nothing of the incoming event but its validated id is sent on
        enqueued = run_sweep(deps, schedule_trigger(deps.clock(), schedule.event_id))
    except ByokError as exc:  # retryable: raised again (Lambda retries, then the DLQ)
        return support.FAILED_SWEEP.handle(exc, logger, metrics, event_id=event_id)
    support.add_counts(metrics, {"SweepEnqueued": enqueued})
    logger.info("sweep done", extra={"enqueued": enqueued})
    return {"status": "ok", "event_id": event_id, "enqueued": enqueued}
