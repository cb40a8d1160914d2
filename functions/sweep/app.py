"""sweep: the scheduled safety net. Enqueues one validation per registered environment.

Events are best effort (docs/aws-notes.md); the sweep re-checks every environment on a schedule
through the validate queue (partial batch failures, DLQ), so a lost event costs at most one
period. Thin: ``byok.service.run_sweep`` does the work, stamping each message with the schedule
event as its trigger; this only wires Powertools and reports the count. A ``TransientError`` is
raised (Lambda retries, then the failure destination keeps the event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from byok import lambda_support as support
from byok.errors import ByokError, EventError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from byok.models import Trigger

logger = Logger()
tracer = Tracer()
metrics = Metrics()


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = support.cached_deps(support.service_deps)


def _trigger(event: Mapping[str, Any]) -> Trigger | None:
    """The schedule event as the messages' trigger; an odd one still sweeps (fresh trigger):
    the sweep is the safety net and must not depend on the event's shape."""
    from byok.events import normalise

    try:
        return normalise(event)
    except EventError as exc:
        logger.warning("schedule event not understood", extra={"error": exc.to_dict()})
        return None


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    from byok.service import run_sweep

    event_id = support.event_id(event)
    deps = _deps()  # outside the try: a misconfigured function fails loudly (Errors alarm)
    try:
        enqueued = run_sweep(deps, _trigger(event))
    except ByokError as exc:  # retryable: raised again (Lambda retries, then the DLQ)
        return support.FAILED_SWEEP.handle(exc, logger, event_id=event_id)
    support.add_counts(metrics, {"SweepEnqueued": enqueued})
    logger.info("sweep done", extra={"enqueued": enqueued})
    return {"status": "ok", "event_id": event_id, "enqueued": enqueued}
