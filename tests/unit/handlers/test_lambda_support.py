"""``byok.lambda_support``: the one error policy and deps cache the four handlers share."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from byok.errors import ConflictError, EventError, InputError, TransientError
from byok.lambda_support import cached_deps, handle_error


class Counted:
    """Records ``add_metric`` calls the way Powertools ``Metrics`` receives them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.calls.append((name, value))


def test_retryable_error_is_raised_again_and_not_counted(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Counted()
    exc = TransientError("kms throttled")
    with caplog.at_level(logging.WARNING), pytest.raises(TransientError) as raised:
        handle_error(exc, logging.getLogger("t"), metrics, "FailedEvents", event_id="e1")
    assert raised.value is exc
    assert metrics.calls == []
    assert "Lambda will retry" in caplog.text


@pytest.mark.parametrize("exc", [EventError("detail.status: bad"), ConflictError("taken")])
def test_definitive_error_is_answered_counted_and_logged(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Counted()
    with caplog.at_level(logging.ERROR):
        answer = handle_error(
            exc,  # type: ignore[arg-type]
            logging.getLogger("t"),
            metrics,
            "InvalidEvents",
            message="invalid event",
            event_id="e1",
            environment_id="acme",
        )
    assert answer == {
        "status": "error",
        "event_id": "e1",
        "environment_id": "acme",
        "error": exc.to_dict(),  # type: ignore[attr-defined]
    }
    assert metrics.calls == [("InvalidEvents", 1)]
    assert [r.getMessage() for r in caplog.records] == ["invalid event"]


def test_no_metric_when_none_is_named() -> None:
    metrics = Counted()
    answer = handle_error(InputError("x: bad"), logging.getLogger("t"), metrics)
    assert answer["status"] == "error" and metrics.calls == []


def test_cached_deps_builds_once_and_retries_a_failed_build() -> None:
    built: list[int] = []
    failures = [InputError("ENVIRONMENTS_TABLE: required environment variable is not set")]

    def factory() -> dict[str, int]:
        if failures:
            raise failures.pop()
        built.append(1)
        return {"n": len(built)}

    deps = cached_deps(factory)
    with pytest.raises(InputError):
        deps()  # a misconfigured container fails loudly, and is not cached as failed
    first = deps()
    assert deps() is first
    assert built == [1]
    assert cached_deps(factory)() is not first  # each handler module has its own cache
