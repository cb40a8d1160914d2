"""key_events: one key/cluster/error event in, the affected environments re-validated.

Thin on purpose (STYLE.md): parse the event into a ``Trigger`` (``byok.events``), drop what cannot
matter (failed calls, calls that cannot change a key, keys no environment uses: each counted in a
metric), drop duplicates (Powertools idempotency on the event id), hand the trigger to
``byok.service.handle_trigger`` and return a small JSON summary. All logic lives in the layer.

Errors: a malformed event (``EventError``) is logged and answered with a structured error, never
retried (a retry cannot fix it); a ``TransientError`` is raised so Lambda retries the async
invocation and, after that, the failure destination (a DLQ with an alarm) keeps it.

Cold start matters (event-to-flag time): the service, its boto3 clients and the idempotency layer
are imported and built on first use, once per container, so an ignorable event never pays for them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from byok.errors import ByokError, EventError
from byok.events import is_ignorable, normalise
from byok.lambda_support import cached_deps, count_operator_problems, handle_error, service_deps

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = cached_deps(service_deps)


@cache
def _idempotency() -> tuple[IdempotencyConfig, Callable[..., dict[str, Any]]]:
    """``_validate`` wrapped in Powertools idempotency keyed on the trigger's event id.

    A duplicate delivery (EventBridge is at-least-once, KMS deletion events repeat) gets the
    first result back without validating again; a run that raised leaves no record, so the
    retry runs."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(event_key_jmespath="event_id", raise_on_no_idempotency_key=True)
    store = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
    wrapped = idempotent_function(
        _validate, data_keyword_argument="trigger", persistence_store=store, config=config
    )
    return config, wrapped


def _validate(*, trigger: dict[str, Any], request_id: str) -> dict[str, Any]:
    """Re-validate the environments the trigger concerns. The result is stored by the
    idempotency layer: ``request_id`` names the invocation that did the work."""
    from byok.events import trigger_from_dict
    from byok.service import handle_trigger

    outcomes = handle_trigger(trigger_from_dict(trigger), _deps())
    return {"request_id": request_id, "outcomes": [_summary(o.to_dict()) for o in outcomes]}


def _summary(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The fields an operator reads after a test invoke (the full flag is in DynamoDB)."""
    keep = ("environment_id", "status", "previous_status", "changed", "stale", "reasons")
    return {k: outcome[k] for k in keep if k in outcome}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = event.get("id") if isinstance(event, Mapping) else None
    try:
        reason = is_ignorable(event)
        trigger = None if reason else normalise(event)
    except EventError as exc:
        return handle_error(
            exc, logger, metrics, "InvalidEvents", message="invalid event", event_id=event_id
        )
    if trigger is None:
        metrics.add_metric(name="IgnoredEvents", unit=MetricUnit.Count, value=1)
        logger.info("event ignored", extra={"reason": reason, "event_id": event_id})
        return {"status": "ignored", "event_id": event_id, "reason": reason}

    logger.append_keys(event_id=trigger.event_id, kind=trigger.kind.value)
    summary: dict[str, Any] = {
        "event_id": trigger.event_id,
        "kind": trigger.kind.value,
        "key_arn": trigger.key_arn,
    }
    if trigger.cluster_id is not None:
        summary["cluster_id"] = trigger.cluster_id
    deps = _deps()  # outside the try: a misconfigured function fails loudly, drops nothing
    try:
        from byok.service import environments_for

        if not environments_for(trigger, deps):
            metrics.add_metric(name="UnknownKeyEvents", unit=MetricUnit.Count, value=1)
            logger.info("no environment uses this key or cluster", extra=summary)
            return {"status": "unknown_key", **summary}
        config, validate = _idempotency()
        config.register_lambda_context(context)
        result = validate(trigger=trigger.to_dict(), request_id=context.aws_request_id)
    except ByokError as exc:  # retryable: raised again (Lambda retries, then the DLQ)
        return handle_error(exc, logger, metrics, "FailedEvents", **summary)

    duplicate = result["request_id"] != context.aws_request_id
    name = "DuplicateEvents" if duplicate else "ValidatedEvents"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if not duplicate:
        count_operator_problems(metrics, list(result.get("outcomes") or []))
    summary.update(status="validated", duplicate=duplicate, **result)
    logger.info("event handled", extra={"summary": summary})
    return summary
