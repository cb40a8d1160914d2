"""remediate: act on "BYOK Environment Health Changed" events, and run scheduled remediation.

Thin (STYLE.md): a health-changed event (source ``byok.guard``, default bus) becomes a
``HealthChange`` and goes to ``byok.remediation.executor.remediate``, which pauses or resumes
writes, starts a recoverable Aurora cluster and notifies the customer, each step once and audited.
The answer lists the steps (``StepResult.to_dict()``).

The same function has a schedule (``SweepSchedule``): a "Scheduled Event" runs
``executor.scheduled`` (deletion reminders, following a cluster start until ``available``) per
environment. Why here and not in the sweep: every customer-facing and RDS permission stays on this
one role (the sweep only lists environments and enqueues), and a remediation failure can never
stop the sweep's validations.

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
from aws_lambda_powertools.metrics import MetricUnit

from byok.errors import ByokError, EventError
from byok.lambda_support import cached_deps, handle_error, remediation_deps

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from byok.remediation.executor import StepResult

logger = Logger()
tracer = Tracer()
metrics = Metrics()

HEALTH_CHANGED = ("byok.guard", "BYOK Environment Health Changed")
SCHEDULED = ("aws.events", "Scheduled Event")


#: built on first use, once per container, from template.yaml's env vars
_deps = cached_deps(remediation_deps)


def _kind(event: object) -> tuple[str, str]:
    if not isinstance(event, Mapping):
        raise EventError("event: expected an EventBridge event object")
    shape = (event.get("source"), event.get("detail-type"))
    if shape not in (HEALTH_CHANGED, SCHEDULED):
        raise EventError(
            f"detail-type: expected {HEALTH_CHANGED[1]!r} from {HEALTH_CHANGED[0]} or "
            f"{SCHEDULED[1]!r} from {SCHEDULED[0]}, got {shape[1]!r} from {shape[0]!r}"
        )
    return shape  # type: ignore[return-value]


def _count(steps: list[StepResult]) -> None:
    for result, name in (
        ("done", "RemediationSteps"),
        ("skipped", "SkippedRemediationSteps"),  # repeated deliveries, already done
        ("failed", "FailedRemediationSteps"),
    ):
        n = sum(1 for s in steps if s.result == result)
        if n:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=n)


def _health_changed(event: Mapping[str, Any], event_id: str | None) -> dict[str, Any]:
    from byok.remediation.executor import remediate
    from byok.remediation.model import HealthChange

    try:
        change = HealthChange.from_detail(event.get("detail"))
    except EventError as exc:
        return handle_error(
            exc, logger, metrics, "InvalidEvents", message="invalid event", event_id=event_id
        )
    logger.append_keys(environment_id=change.environment_id, status=change.status.value)
    deps = _deps()  # outside the try: a misconfigured function fails loudly (Errors alarm)
    try:
        steps = remediate(change, deps)
    except ByokError as exc:  # transient: raised again for Lambda's retry
        return handle_error(
            exc,
            logger,
            metrics,
            "FailedEvents",
            message="remediation failed",
            event_id=event_id,
            environment_id=change.environment_id,
        )
    _count(steps)
    summary = {
        "status": "ok",
        "event_id": event_id,
        "environment_id": change.environment_id,
        "steps": [s.to_dict() for s in steps],
    }
    logger.info("remediation done", extra={"summary": summary})
    return summary


def _scheduled(event_id: str | None) -> dict[str, Any]:
    """Reminders and cluster follow-up, one environment at a time: one failing environment
    (throttling, a missing item) neither stops the others nor fails the run."""
    from byok.remediation.executor import scheduled

    deps = _deps()
    steps: list[StepResult] = []
    errors: list[dict[str, Any]] = []
    for env in deps.store.list_environments():
        try:
            steps += scheduled(deps, [env.environment_id])
        except ByokError as exc:
            metrics.add_metric(name="ScheduledRemediationFailures", unit=MetricUnit.Count, value=1)
            logger.warning(
                "scheduled remediation failed for one environment; the next schedule retries",
                extra={"environment_id": env.environment_id, "error": exc.to_dict()},
            )
            errors.append({"environment_id": env.environment_id, "error": exc.to_dict()})
    _count(steps)
    summary: dict[str, Any] = {
        "status": "partial" if errors else "ok",
        "event_id": event_id,
        "steps": [s.to_dict() for s in steps if s.result != "skipped"],
    }
    if errors:
        summary["errors"] = errors
    logger.info("scheduled remediation done", extra={"summary": summary})
    return summary


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def handler(event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
    event_id = event.get("id") if isinstance(event, Mapping) else None
    try:
        kind = _kind(event)
    except EventError as exc:
        return handle_error(
            exc, logger, metrics, "InvalidEvents", message="invalid event", event_id=event_id
        )
    # one data point per run of each kind, so a quiet run (nothing due) still reports itself
    runs = "ScheduledRemediationRuns" if kind == SCHEDULED else "HealthChangeRemediationRuns"
    metrics.add_metric(name=runs, unit=MetricUnit.Count, value=1)
    if kind == SCHEDULED:
        return _scheduled(event_id)
    return _health_changed(event, event_id)
