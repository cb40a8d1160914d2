"""remediate: act on "BYOK Environment Health Changed" events, and run scheduled remediation.

Thin (docs/architecture.md, section 7): ``byok.remediation.runner.remediation_work`` reads the
event through the events registry (``byok.events.envelopes.remediate_event``: a health change
from ``byok.guard``, or the function's schedule), ``runner.run`` carries it out (pause or resume
writes, start a recoverable Aurora cluster, notify the customer, each step once and audited; on
the schedule, deletion reminders and following a cluster start, environment by environment), and
this maps the ``RemediationRun`` to metrics and its answer (``StepResult.to_dict()`` per step).

Why the schedule runs here and not in the sweep: every customer-facing and RDS permission stays on
this one role, and a remediation failure can never stop the sweep's validations.

Errors: a malformed event (``EventError``) is answered with a structured error and never retried;
a ``TransientError`` of a health-changed event is raised (Lambda retries the async invocation,
then the failure destination, a DLQ with an alarm, keeps it; steps already done are skipped on the
retry). A scheduled run logs and counts a failing environment and goes on: the next schedule is its
retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics, Tracer

from byok import lambda_support as support
from byok.errors import ByokError, EventError
from byok.remediation.runner import remediation_work, run

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()

#: built on first use, once per container, from template.yaml's env vars
_deps = support.cached_deps(support.remediation_deps)


@support.lambda_entry(logger, tracer, metrics)
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = support.event_id(event)
    try:
        work = remediation_work(event)
    except EventError as exc:
        return support.INVALID_EVENT.handle(exc, logger, metrics, event_id=event_id)
    # one data point per run of each kind, so a quiet run (nothing due) still reports itself
    support.add_counts(metrics, {work.run_metric: 1})
    logger.append_keys(**work.ids)
    deps = _deps()  # outside the try: a misconfigured function fails loudly (Errors alarm)
    try:
        result = run(work, deps)
    except ByokError as exc:  # transient: raised again for Lambda's retry
        return support.FAILED_REMEDIATION.handle(exc, logger, metrics, **work.ids)
    for failure in result.errors:
        logger.warning("scheduled remediation failed for one environment", extra=dict(failure))
    support.add_counts(metrics, result.metrics())
    logger.info(result.message, extra={"summary": result.to_dict()})
    return result.to_dict()
