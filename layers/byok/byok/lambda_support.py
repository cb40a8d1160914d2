"""What every thin handler in ``functions/`` repeats: lazily built deps and the error policy.

Why in the layer: the four handlers must agree on one rule for a ``ByokError`` (retryable: raise,
so Lambda retries and the failure destination keeps the event; otherwise: log, count, answer a
structured error, since a retry cannot fix it) and on building their boto3-backed dependencies
once per container, on first use (cold start: an ignorable event never imports boto3).
Powertools objects are passed in, not imported here, so this module stays import-light.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from byok.errors import ByokError
from byok.permissions import Resource, declare

if TYPE_CHECKING:
    from byok.remediation.executor import RemediationDeps
    from byok.service import Deps

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

#: Powertools idempotency (key_events: one validation per event id) on the idempotency table
PERMISSIONS = declare(
    ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    Resource.IDEMPOTENCY_TABLE,
)

__all__ = [
    "DROPPED_MESSAGE",
    "FAILED_EVENT",
    "FAILED_REMEDIATION",
    "FAILED_SWEEP",
    "INVALID_EVENT",
    "OPERATOR_METRIC",
    "ErrorPolicy",
    "add_counts",
    "cached_deps",
    "count_operator_problems",
    "defer_if_out_of_time",
    "event_id",
    "handle_error",
    "idempotency_error",
    "idempotent_on_event_id",
    "lambda_entry",
    "log_validation",
    "remediation_deps",
    "service_deps",
]


class _Logger(Protocol):
    def debug(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def info(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...
    def error(self, msg: str, *args: Any, **kwargs: Any) -> Any: ...


class _Metrics(Protocol):
    def add_metric(self, name: str, unit: Any, value: float) -> None: ...


def cached_deps(factory: Callable[[], T]) -> Callable[[], T]:
    """``factory`` called on first use only, then its result reused for the container's life.

    ``factory`` imports what it builds (``from byok.service import Deps``) so the import happens
    on first use too. A factory that raises (a missing env var) is not cached: the next invocation
    tries again and fails as loudly."""
    return cache(factory)


def service_deps() -> Deps:
    """``byok.service.Deps`` from the environment (uncached: wrap it in ``cached_deps`` in the
    handler module, so each loaded handler, and each test's fresh import, has its own)."""
    from byok.service import Deps

    return Deps.from_environment()


def remediation_deps() -> RemediationDeps:
    """``byok.remediation.executor.RemediationDeps`` from the environment (uncached, as above)."""
    from byok.remediation.executor import RemediationDeps

    return RemediationDeps.from_environment()


def handle_error(
    exc: ByokError,
    logger: _Logger,
    metrics: _Metrics | None = None,
    metric: str | None = None,
    *,
    message: str = "event not handled",
    retry_metric: str | None = None,
    retry_message: str = "transient failure, Lambda will retry",
    **fields: Any,
) -> dict[str, Any]:
    """Raise ``exc`` again when it is retryable (counted in ``retry_metric``, if given);
    otherwise log it, count it in ``metric`` and return ``{"status": "error", **fields,
    "error": exc.to_dict()}`` (the invocation succeeds, so nothing retries a failure a retry
    cannot fix)."""
    if exc.retryable:
        if metrics is not None and retry_metric is not None:
            add_counts(metrics, {retry_metric: 1})
        logger.warning(retry_message, extra={"error": exc.to_dict(), **fields})
        raise exc
    if metrics is not None and metric is not None:
        add_counts(metrics, {metric: 1})
    logger.error(message, extra={"error": exc.to_dict(), **fields})
    return {"status": "error", **fields, "error": exc.to_dict()}


@dataclass(frozen=True, slots=True)
class ErrorPolicy:
    """What a handler does with a ``ByokError`` (see ``handle_error``): the metric and log line
    of a definitive one, and the metric and log line of a retryable one (raised again)."""

    metric: str | None
    message: str = "event not handled"
    retry_metric: str | None = None
    retry_message: str = "transient failure, Lambda will retry"

    def handle(
        self, exc: ByokError, logger: _Logger, metrics: _Metrics | None = None, **fields: Any
    ) -> dict[str, Any]:
        return handle_error(
            exc,
            logger,
            metrics,
            self.metric,
            message=self.message,
            retry_metric=self.retry_metric,
            retry_message=self.retry_message,
            **fields,
        )


#: the error policies of the four handlers, named once
INVALID_EVENT: Final = ErrorPolicy("InvalidEvents", "invalid event")
FAILED_EVENT: Final = ErrorPolicy("FailedEvents")
FAILED_REMEDIATION: Final = ErrorPolicy("FailedEvents", "remediation failed")
FAILED_SWEEP: Final = ErrorPolicy("FailedSweeps", "sweep failed")
DROPPED_MESSAGE: Final = ErrorPolicy(
    "DroppedMessages",
    "message dropped",
    retry_metric="ValidateRetries",
    retry_message="transient failure, message will be redelivered",
)


def lambda_entry(logger: Any, tracer: Any, metrics: Any) -> Callable[[F], F]:
    """The Powertools decorators every handler wears, in one order: the Lambda context in the
    logs (state cleared per invocation), an X-Ray segment (responses not captured: they may
    name keys) and the metrics flushed at the end, even when the handler raises."""

    def wrap(fn: F) -> F:
        traced = tracer.capture_lambda_handler(capture_response=False)(metrics.log_metrics(fn))
        return logger.inject_lambda_context(clear_state=True)(traced)  # type: ignore[no-any-return]

    return wrap


_EVENT_ID_RE: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}", re.ASCII)


def event_id(event: object) -> str | None:
    """The EventBridge ``id`` of an event, for logs and answers: None when there is none, or
    when it is not a plain short id (the event is not trusted yet; a huge or odd ``id`` never
    reaches a log line or an answer)."""
    value = event.get("id") if isinstance(event, Mapping) else None
    return value if isinstance(value, str) and _EVENT_ID_RE.fullmatch(value) else None


def add_counts(metrics: _Metrics, counts: Mapping[str, float]) -> None:
    """Add each named count as a ``Count`` metric (one call per handler result)."""
    from aws_lambda_powertools.metrics import MetricUnit

    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def idempotent_on_event_id(
    fn: Callable[..., T], data_keyword: str = "request"
) -> Callable[[Any], Callable[..., T]]:
    """``fn`` behind Powertools idempotency keyed on ``<data>["event_id"]``, in the table named
    by ``IDEMPOTENCY_TABLE``; call the result with the invocation's ``LambdaContext``.

    A duplicate delivery (EventBridge is at-least-once, KMS deletion events repeat) gets the
    first result back without running ``fn`` again; a run that raised leaves no record, so the
    retry runs. Built on first use, once per container (cold start: an ignorable event never
    imports the idempotency layer)."""

    @cache
    def build() -> tuple[Any, Callable[..., T]]:
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        config = IdempotencyConfig(event_key_jmespath="event_id", raise_on_no_idempotency_key=True)
        store = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
        wrapped = idempotent_function(
            fn, data_keyword_argument=data_keyword, persistence_store=store, config=config
        )
        return config, wrapped

    def bind(context: Any) -> Callable[..., T]:
        def call(**data: Any) -> T:
            config, wrapped = build()
            config.register_lambda_context(context)
            try:
                return wrapped(**data)
            except ByokError:
                raise
            except Exception as exc:  # the idempotency layer's own failures: ByokErrors
                error = idempotency_error(exc)
                if error is None:
                    raise  # a bug: the Errors alarm, the retries and the DLQ see it
                raise error from exc

        return call

    return bind


#: counted (template.yaml alarms on it) when a validation finds a problem on the platform side:
#: the platform role's own policy refusing (``PLATFORM_ROLE_DENIES``), and the platform's set-up
#: wrong (``OPERATOR_REASONS``: bucket missing, S3 or the role refusing the platform)
OPERATOR_METRIC = "PlatformRoleDenied"
CONFIGURATION_METRIC = "PlatformConfigurationErrors"
OPERATOR_METRICS = (OPERATOR_METRIC, CONFIGURATION_METRIC)


def count_operator_problems(metrics: _Metrics, logger: _Logger, outcomes: list[Any]) -> int:
    """Count validations that found the platform's side at fault, in the operator's metrics
    (``OPERATOR_METRICS``, alarmed) with an error log line each: the customer is never told about
    them, so the operator's alarm must be. Both handlers that validate (key_events and validate)
    call this; it returns how many outcomes had a problem of either kind."""
    from byok.reasons import ReasonCode

    counts = dict.fromkeys(OPERATOR_METRICS, 0)
    flagged = 0
    for outcome in outcomes:
        if not isinstance(outcome, dict):
            continue
        role = ReasonCode.PLATFORM_ROLE_DENIES in (outcome.get("reasons") or ())
        setup = bool(outcome.get("operator_reasons"))
        if not (role or setup):
            continue
        counts[OPERATOR_METRIC] += role
        counts[CONFIGURATION_METRIC] += setup
        flagged += 1
        logger.error("platform configuration problem (operator)", extra={"outcome": outcome})
    add_counts(metrics, {name: n for name, n in counts.items() if n})
    return flagged


def idempotency_error(exc: BaseException) -> ByokError | None:
    """A failure of the Powertools idempotency layer (or of the boto3 call under it) as a
    ``ByokError``, retryable when a retry can help; None for anything else (a bug: let it raise).

    Why: key_events wraps its validation in the idempotency layer, whose own errors (a record in
    progress in another container, a throttled or timed-out idempotency table) are no
    ``ByokError`` and would escape the handler's error policy."""
    from aws_lambda_powertools.utilities.idempotency import exceptions as idem

    from byok.aws.errors import AWS_ERRORS, as_byok_error
    from byok.errors import TransientError

    if isinstance(exc, ByokError):
        return exc
    if isinstance(exc, AWS_ERRORS):
        return as_byok_error(exc, "idempotency table")
    if isinstance(
        exc, idem.IdempotencyAlreadyInProgressError | idem.IdempotencyInconsistentStateError
    ):
        return TransientError(f"idempotency: {exc} (another delivery is being handled)")
    if isinstance(exc, idem.IdempotencyPersistenceLayerError):
        cause = exc.__cause__
        if cause is None or isinstance(cause, (*AWS_ERRORS, ByokError)):
            inner = idempotency_error(cause) if cause is not None else None
            if inner is None or inner.retryable:
                return TransientError(f"idempotency table: {exc}")
            return ByokError(f"idempotency table: {exc}", code=inner.code)
        return TransientError(f"idempotency table: {exc}")
    if isinstance(exc, idem.BaseError):
        return ByokError(f"idempotency: {exc}", code="IDEMPOTENCY_FAILED")
    return None


def defer_if_out_of_time(context: Any, metrics: _Metrics) -> None:
    """validate starts a record only while one worst-case validation still fits in the time
    left (``byok.aws.budget.record_seconds``); otherwise the record fails untouched
    (``TransientError``, redelivered) instead of the whole batch being killed at the timeout."""
    from byok.aws.budget import record_seconds
    from byok.errors import TransientError

    budget_ms = record_seconds() * 1000
    left = context.get_remaining_time_in_millis()
    if left < budget_ms:
        add_counts(metrics, {"DeferredRecords": 1})
        raise TransientError(
            f"{left} ms left, a validation may take {budget_ms} ms: record deferred"
        )


def log_validation(logger: _Logger, message_id: str, result: dict[str, Any]) -> None:
    """The validate function's line per validation: INFO for a change, DEBUG otherwise (at
    100,000 environments every 5 minutes an INFO line per unchanged validation would be most
    of the log volume, docs/cost.md; the ``Validations`` metric counts them all)."""
    log = logger.info if result.get("changed") else logger.debug
    log("validated", extra={"message_id": message_id, "outcome": result})
