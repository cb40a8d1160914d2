"""Counting AWS requests with botocore event hooks, and answering them with botocore's Stubber.

Why a hook on client creation: byok-guard builds its clients inside its own code (the platform
role's session, the store's client), so the benchmark cannot reach them to register handlers.
``CallCounter`` wraps ``botocore.client.ClientCreator.create_client`` for its lifetime and
registers a ``before-call`` handler on every client created meanwhile: each API call is counted
once (retries are not), whoever made it. Nothing is estimated: every figure is a counted call.

``ResponderStubber`` is botocore's ``Stubber`` (responses validated against the service model's
output shapes, returned from the ``before-call`` event, so no request leaves the process) with
one change: a response comes from a function of (operation, parameters) instead of a queue, so
paginated listings and batches of any size can be answered. A benchmark only; tests use moto.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import botocore.client
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

__all__ = ["CallCounter", "ResponderStubber", "dynamodb_item_size"]

Responder = Callable[[str, Mapping[str, Any]], dict[str, Any]]


class CallCounter:
    """``counts[(service, operation)]``: API calls made by every client created while active."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def _count(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.counts[(model.service_model.service_name, model.name)] += 1

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-call.*.*", self._count, unique_id=f"count-{id(self)}")
        return client

    @contextmanager
    def active(self) -> Iterator[CallCounter]:
        original = botocore.client.ClientCreator.create_client
        counter = self

        def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
            return counter.watch(original(self, *args, **kwargs))

        botocore.client.ClientCreator.create_client = create_client  # type: ignore[method-assign]
        try:
            yield self
        finally:
            botocore.client.ClientCreator.create_client = original  # type: ignore[method-assign]

    def snapshot(self) -> Counter[tuple[str, str]]:
        with self._lock:
            return Counter(self.counts)

    @staticmethod
    def by_service(counts: Mapping[tuple[str, str], int]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for (service, _), n in counts.items():
            out[service] += n
        return dict(out)


class ResponderStubber(Stubber):
    """A ``Stubber`` whose responses come from ``responder(operation, params)`` (any order)."""

    def __init__(self, client: Any, responder: Responder) -> None:
        super().__init__(client)
        self._responder = responder
        self._asked = threading.local()

    def _assert_expected_params(self, model: Any, params: Any, context: Any, **kwargs: Any) -> None:
        # no expectations: the responder answers what is asked. ``before-call`` only sees the
        # serialised request, so the API parameters are kept from here (same thread, same call)
        self._asked.params = dict(params)

    def _get_response_handler(
        self, model: Any, params: Any, context: Any, **kwargs: Any
    ) -> tuple[AWSResponse, dict[str, Any]]:
        response = self._responder(model.name, self._asked.params)
        self._validate_operation_response(model.name, response)
        return AWSResponse(None, 200, {}, None), response


def _value_size(value: Mapping[str, Any]) -> int:
    """Size of one DynamoDB attribute value (the DynamoDB developer guide's item size rules)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        digits = str(inner).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in inner.items())
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind!r}")


def dynamodb_item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes DynamoDB counts for ``item`` (attribute names plus values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())
