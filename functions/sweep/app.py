"""sweep: the scheduled safety net. Enqueues one validation per registered environment.

Events are best effort (docs/aws-notes.md); the sweep re-checks every environment on a schedule
through the validate queue (partial batch failures, DLQ), so a lost event about a key's state or
an S3 key's policy costs at most one period (the sweep reads the state and runs the S3 canary).
A lost ``PutKeyPolicy`` event of an **Aurora** key is not seen by the sweep at all (GetKeyPolicy
is not cross-account, Aurora has no probe): the remembered policy stands until the next
``PutKeyPolicy`` event or the next report of the customer's opt-in policy reporter
(docs/validation.md, "What a lost event can hide"). Thin:
``byok.sweep_continuation.sweep_start`` accepts only the schedule's "Scheduled Event" or the
sweep's own continuation (anything else: a structured error, ``InvalidEvents``, nothing
enqueued), then ``byok.sweep_continuation.sweep_invocation`` does the work (the sparse
``environments`` index, page by page, each environment marked queued first and held back while
its previous sweep message is unhandled, full batches of 10, a schedule trigger carrying nothing of
the event but its validated id and time); an invocation that nears its timeout invokes itself
with where it stopped, so a sweep of any size never depends on one invocation's timeout. A
``TransientError`` is raised (Lambda retries, then the failure destination keeps the event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from byok import lambda_support as support
from byok.errors import ByokError, EventError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = support.cached_deps(support.service_deps)


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    from byok.aws.self_invoke import lambda_client
    from byok.sweep_continuation import sweep_invocation, sweep_start

    event_id = support.event_id(event)
    try:  # only the schedule's own event or a continuation: anything else is answered
        start = sweep_start(event)
    except EventError as exc:
        return support.INVALID_EVENT.handle(exc, logger, metrics, event_id=event_id)
    deps = _deps()  # outside the try: a misconfigured function fails loudly (Errors alarm)
    try:
        progress = sweep_invocation(
            start,
            deps,
            time_left=lambda: context.get_remaining_time_in_millis() / 1000,
            function_arn=context.invoked_function_arn,
            lambda_client=lambda_client,
        )
    except ByokError as exc:  # retryable: raised again (Lambda retries, then the DLQ)
        return support.FAILED_SWEEP.handle(exc, logger, metrics, event_id=event_id)
    support.add_counts(metrics, {"SweepEnqueued": progress.sent, "SweepHeldBack": progress.held})
    status = "continued" if progress.after is not None else "ok"
    logger.info(
        "sweep done", extra={"enqueued": progress.sent, "held": progress.held, "status": status}
    )
    return {"status": status, "event_id": event_id, "enqueued": progress.sent}
