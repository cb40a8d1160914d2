"""validate: one environment per SQS message (sent by the sweep), partial batch failures.

Thin (docs/architecture.md section 7, Powertools ``getting_started_sqs``):
``process_partial_response`` runs ``byok.service.process_validate_message`` on each record's JSON
body. A record that fails
transiently fails alone (``batchItemFailures``): SQS redelivers it, and after five receives the
redrive policy moves it to the validate DLQ (alarmed). A malformed message (``EventError``) is
logged and counted, then acknowledged: redelivery cannot fix it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities import batch

from byok import lambda_support as support
from byok.errors import ByokError, EventError
from byok.events.envelopes import sqs_batch

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = batch.BatchProcessor(event_type=batch.EventType.SQS)


#: the service dependencies, built on first use, once per container, from template.yaml's env
_deps = support.cached_deps(support.service_deps)


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> dict[str, Any]:
    """Validate one environment; raise to fail this record only (it will be redelivered).
    Started only while a worst-case validation fits (``support.defer_if_out_of_time``)."""
    from byok.service import process_validate_message

    support.defer_if_out_of_time(lambda_context, metrics)
    deps = _deps()  # outside the try: a misconfigured function fails every record, drops none
    try:
        outcome = process_validate_message(record.body, deps)
    except ByokError as exc:  # retryable: raised, so this record alone is redelivered
        return support.DROPPED_MESSAGE.handle(exc, logger, metrics, message_id=record.message_id)
    support.add_counts(metrics, {"Validations": 1})
    result = outcome.to_dict()
    support.count_operator_problems(metrics, logger, [result])
    support.log_validation(logger, record.message_id, result)
    return result


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:  # only an SQS batch; each body is checked against the message schema in the service
        sqs_batch(event)
    except EventError as exc:
        return support.INVALID_EVENT.handle(exc, logger, metrics)
    return batch.process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
