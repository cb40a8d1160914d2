"""validate: one environment per SQS message (sent by the sweep), partial batch failures.

Thin (STYLE.md, Powertools ``getting_started_sqs``): ``process_partial_response`` runs
``byok.service.process_validate_message`` on each record's JSON body. A record that fails
transiently fails alone (``batchItemFailures``): SQS redelivers it, and after five receives the
redrive policy moves it to the validate DLQ (alarmed). A malformed message (``EventError``) is
logged and counted, then acknowledged: redelivery cannot fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)

from byok.errors import ByokError
from byok.lambda_support import cached_deps, count_operator_problems, service_deps

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = cached_deps(service_deps)


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> dict[str, Any]:
    """Validate one environment; raise to fail this record only (it will be redelivered)."""
    from byok.service import process_validate_message

    deps = _deps()  # outside the try: a misconfigured function fails every record, drops none
    try:
        outcome = process_validate_message(record.body, deps)
    except ByokError as exc:
        if exc.retryable:
            metrics.add_metric(name="ValidateRetries", unit=MetricUnit.Count, value=1)
            logger.warning(
                "transient failure, message will be redelivered",
                extra={"message_id": record.message_id, "error": exc.to_dict()},
            )
            raise
        metrics.add_metric(name="DroppedMessages", unit=MetricUnit.Count, value=1)
        logger.error(
            "message dropped",
            extra={"message_id": record.message_id, "error": exc.to_dict()},
        )
        return {"status": "error", "error": exc.to_dict()}
    metrics.add_metric(name="Validations", unit=MetricUnit.Count, value=1)
    result = outcome.to_dict()
    count_operator_problems(metrics, [result])
    logger.info("validated", extra={"message_id": record.message_id, "outcome": result})
    return result


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
