"""What every thin handler in ``functions/`` repeats: lazily built deps and the error policy.

Why in the layer: the four handlers must agree on one rule for a ``ByokError`` (retryable: raise,
so Lambda retries and the failure destination keeps the event; otherwise: log, count, answer a
structured error, since a retry cannot fix it) and on building their boto3-backed dependencies
once per container, on first use (cold start: an ignorable event never imports boto3).
Powertools objects are passed in, not imported here, so this module stays import-light.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from byok.errors import ByokError
from byok.permissions import Resource, declare

if TYPE_CHECKING:
    from byok.remediation.executor import RemediationDeps
    from byok.service import Deps

T = TypeVar("T")

#: Powertools idempotency (key_events: one validation per event id) on the idempotency table
PERMISSIONS = declare(
    ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    Resource.IDEMPOTENCY_TABLE,
)

__all__ = [
    "OPERATOR_METRIC",
    "cached_deps",
    "count_operator_problems",
    "handle_error",
    "remediation_deps",
    "service_deps",
]


class _Logger(Protocol):
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
    **fields: Any,
) -> dict[str, Any]:
    """Raise ``exc`` again when it is retryable; otherwise log it, count it in ``metric`` and
    return ``{"status": "error", **fields, "error": exc.to_dict()}`` (the invocation succeeds,
    so nothing retries a failure a retry cannot fix)."""
    if exc.retryable:
        logger.warning("transient failure, Lambda will retry", extra={"error": exc.to_dict()})
        raise exc
    if metrics is not None and metric is not None:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.error(message, extra={"error": exc.to_dict(), **fields})
    return {"status": "error", **fields, "error": exc.to_dict()}


#: counted (template.yaml alarms on it) when a validation finds a problem on the platform side
OPERATOR_METRIC = "PlatformRoleDenied"


def count_operator_problems(metrics: _Metrics, outcomes: list[Any]) -> int:
    """Count validations whose flag carries ``PLATFORM_ROLE_DENIES`` (the platform role's own
    policy refuses): the customer is never told about it, so the operator's metric and alarm
    must be."""
    from byok.reasons import ReasonCode

    found = sum(
        1
        for outcome in outcomes
        if isinstance(outcome, dict)
        and ReasonCode.PLATFORM_ROLE_DENIES in (outcome.get("reasons") or ())
    )
    if found:
        from aws_lambda_powertools.metrics import MetricUnit

        metrics.add_metric(name=OPERATOR_METRIC, unit=MetricUnit.Count, value=found)
    return found
