"""key_events: one key/cluster/error event in, the affected environments re-validated.

Thin (docs/architecture.md, section 7): ``byok.intake.intake_event`` parses the event into a
``Trigger`` (or says why it cannot matter: a failed call, a call that cannot change a key),
``byok.intake.revalidate`` looks the environments up once and validates them at most once per
event id (Powertools idempotency, ``lambda_support.idempotent_on_event_id``); this maps the
results to metrics and a small JSON answer.

Errors: a malformed event (``EventError``) is logged and answered with a structured error, never
retried (a retry cannot fix it); a ``TransientError`` is raised so Lambda retries the async
invocation and, after that, the failure destination (a DLQ with an alarm) keeps it.

Cold start matters (event-to-flag time): the service, its boto3 clients and the idempotency layer
are imported and built on first use, once per container, so an ignorable event never pays for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from byok import intake
from byok import lambda_support as support
from byok.errors import ByokError, EventError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()

#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = support.cached_deps(support.service_deps)


def _validate(*, request: dict[str, Any]) -> dict[str, Any]:
    return intake.validate_request(request, _deps())


#: ``_validate`` at most once per event id (a duplicate delivery gets the first result)
_validate_once = support.idempotent_on_event_id(_validate)


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = support.event_id(event)
    try:
        trigger = intake.intake_event(event)
    except EventError as exc:
        return support.INVALID_EVENT.handle(exc, logger, metrics, event_id=event_id)
    if isinstance(trigger, intake.Ignored):
        support.add_counts(metrics, {trigger.metric: 1})
        logger.info("event ignored", extra={"reason": trigger.reason, "event_id": event_id})
        return trigger.to_dict()
    logger.append_keys(event_id=trigger.event_id, kind=trigger.kind.value)
    deps = _deps()  # outside the try: a misconfigured function fails loudly, drops nothing
    try:
        result = intake.revalidate(trigger, deps, _validate_once(context), context.aws_request_id)
    except ByokError as exc:  # retryable: raised again (Lambda retries, then the DLQ)
        return support.FAILED_EVENT.handle(exc, logger, metrics, **intake.summary_of(trigger))
    support.add_counts(metrics, {result.metric: 1})
    summary = result.to_dict()
    if not summary.get("duplicate"):
        support.count_operator_problems(metrics, logger, list(summary.get("outcomes") or []))
    logger.info("event handled", extra={"summary": summary})
    return summary
