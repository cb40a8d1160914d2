"""Fault injection: make moto answer chosen calls with throttling or server errors.

byok-guard must never mistake a transient error for a revoked key, so tests and the demo need
AWS's transient errors on demand::

    from byok_emulator import faults

    with faults.throttle(service="kms", operations={"DescribeKey"}, times=2) as fault:
        ...                      # the next 2 DescribeKey calls fail with ThrottlingException
    assert fault.hits == 2

    faults.slow_down(operations={"PutObject"})          # S3 503 SlowDown until removed
    faults.internal_error(service="kms")                  # KMSInternalException (500)
    faults.reset()                                        # remove every fault

A fault is active from its creation until ``remove()`` / the end of its ``with`` block / ``reset()``
/ ``times`` matching requests. ``operations=None`` matches every operation of the service;
``accounts`` limits it to callers in those accounts. Thread-safe: the server answers on its own
threads.

Wire formats follow each protocol (so botocore parses them as it would AWS's): JSON services get
``{"__type": code, "message": ...}`` with ``x-amzn-ErrorType``; S3 gets ``<Error><Code>`` XML;
query services (STS, IAM, RDS, ...) ``<ErrorResponse><Error>`` XML. Codes and statuses: KMS
``ThrottlingException`` 400 (KMS quotas page: "You have exceeded the rate at which you may call
KMS"), S3 ``SlowDown`` 503 ("Please reduce your request rate."), S3 ``InternalError`` 500, KMS
``KMSInternalException`` 500, other services ``ThrottlingException`` 400 / ``InternalFailure`` 500.

Note that boto3 retries throttling and 5xx errors (3 attempts in ``standard`` mode, 5 in
``legacy``): a fault with ``times=N`` is used up by retries; use ``times=None`` or a client with
``Config(retries={"total_max_attempts": 1})`` to see the error.

How: ``BaseResponse.setup_class`` (run by every moto service for every request, in-process and in
the server) is wrapped; after moto parsed the request it looks for a matching fault and raises an
``HTTPException`` carrying the error response, which both moto's in-process stubber and the
server's Flask app turn into that response.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import HTTPException
from moto.core.responses import BaseResponse

from ._patching import Patch
from .wire import json_error, query_error, s3_error

_lock = threading.Lock()
_faults: list[Fault] = []
_ids = itertools.count(1)


@dataclass(eq=False)
class Fault:
    """One injected error. Use as a context manager, or call ``remove()``."""

    service: str
    operations: frozenset[str] | None
    code: str
    message: str
    status: int
    times: int | None
    accounts: frozenset[str] | None = None
    hits: int = 0
    id: int = field(default_factory=lambda: next(_ids))

    def matches(self, services: Collection[str], operation: str | None, account: str) -> bool:
        """``services``: the names moto and boto3 give the service (``awslambda``/``lambda``)."""
        if self.service not in services:
            return False
        if self.operations is not None and operation not in self.operations:
            return False
        return self.accounts is None or account in self.accounts

    @property
    def active(self) -> bool:
        with _lock:
            return self in _faults

    def remove(self) -> None:
        with _lock:
            if self in _faults:
                _faults.remove(self)

    def __enter__(self) -> Fault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def inject(
    service: str,
    *,
    code: str,
    message: str,
    status: int,
    operations: Collection[str] | None = None,
    times: int | None = None,
    accounts: Collection[str] | None = None,
) -> Fault:
    """Register a fault: matching requests get ``status`` with error ``code`` and ``message``.

    ``service`` is moto's service name (``kms``, ``s3``, ``sts``, ``dynamodb``, ``rds``, ...);
    ``operations`` are API operation names (``DescribeKey``, ``PutObject``).
    """
    if times is not None and times < 1:
        raise ValueError(f"times: expected a positive integer or None, got {times!r}")
    if not 400 <= status <= 599:
        raise ValueError(f"status: expected an HTTP error status 400..599, got {status!r}")
    fault = Fault(
        service=service,
        operations=frozenset(operations) if operations is not None else None,
        code=code,
        message=message,
        status=status,
        times=times,
        accounts=frozenset(accounts) if accounts is not None else None,
    )
    with _lock:
        _faults.append(fault)
    return fault


def throttle(
    service: str = "kms",
    operations: Collection[str] | None = None,
    times: int | None = None,
    *,
    accounts: Collection[str] | None = None,
) -> Fault:
    """Throttling: ``ThrottlingException`` (400); for S3 ``SlowDown`` (503)."""
    if service == "s3":
        return slow_down(operations, times, accounts=accounts)
    message = (
        "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
        if service == "kms"
        else "Rate exceeded"
    )
    return inject(
        service,
        code="ThrottlingException",
        message=message,
        status=400,
        operations=operations,
        times=times,
        accounts=accounts,
    )


def slow_down(
    operations: Collection[str] | None = None,
    times: int | None = None,
    *,
    accounts: Collection[str] | None = None,
) -> Fault:
    """S3's throttling answer: HTTP 503 ``SlowDown``."""
    return inject(
        "s3",
        code="SlowDown",
        message="Please reduce your request rate.",
        status=503,
        operations=operations,
        times=times,
        accounts=accounts,
    )


_INTERNAL_ERRORS = {
    "kms": (
        "KMSInternalException",
        "The request was rejected because an internal exception occurred.",
    ),
    "s3": ("InternalError", "We encountered an internal error. Please try again."),
    "*": ("InternalFailure", "The request processing has failed because of an unknown error."),
}


def internal_error(
    service: str = "kms",
    operations: Collection[str] | None = None,
    times: int | None = None,
    *,
    accounts: Collection[str] | None = None,
) -> Fault:
    """A 500: ``KMSInternalException`` (KMS), ``InternalError`` (S3), else ``InternalFailure``."""
    code, message = _INTERNAL_ERRORS.get(service, _INTERNAL_ERRORS["*"])
    return inject(
        service,
        code=code,
        message=message,
        status=500,
        operations=operations,
        times=times,
        accounts=accounts,
    )


def active() -> list[Fault]:
    """The faults currently registered (a copy)."""
    with _lock:
        return list(_faults)


def reset() -> None:
    """Remove every fault."""
    with _lock:
        _faults.clear()


def _take(services: Collection[str], operation: str | None, account: str) -> Fault | None:
    """The first matching fault, counting the hit (and retiring it when used up)."""
    with _lock:
        for fault in _faults:
            if fault.matches(services, operation, account):
                fault.hits += 1
                if fault.times is not None and fault.hits >= fault.times:
                    _faults.remove(fault)
                return fault
    return None


@functools.cache
def _protocol(service: str) -> str:
    """botocore's protocol of a service (json, rest-json, rest-xml, query, ec2)."""
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(service)
    except Exception:  # unknown to botocore: moto-only names
        return "json"
    return str(model.metadata.get("protocol", "json"))


class FaultResponse(HTTPException):
    """An error response in the service's wire format, raised out of moto's request setup."""

    def __init__(self, fault: Fault, protocol: str) -> None:
        super().__init__()
        self.code = fault.status
        self.fault = fault
        if protocol in ("json", "rest-json"):
            self.content_type = "application/x-amz-json-1.1"
            self.body = json_error(fault.code, fault.message)
        elif protocol == "rest-xml":
            self.content_type = "application/xml"
            self.body = s3_error(fault.code, fault.message)
        else:
            self.content_type = "text/xml"
            self.body = query_error(fault.code, fault.message)

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", self.content_type), ("x-amzn-ErrorType", self.fault.code)]

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.body


def _operation(response: BaseResponse) -> str | None:
    try:
        return response._get_action() or None
    except Exception:  # moto cannot name it (e.g. an unrouted S3 URL): only service-wide faults
        return None


def _hook_setup(original: Callable[..., Any]) -> Callable[..., Any]:
    def setup_class(self: BaseResponse, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service = self.service_name or ""
        if not _faults or not service:
            return
        services = {service, self.boto3_service_name}
        fault = _take(services, _operation(self), getattr(self, "current_account", ""))
        if fault is not None:
            raise FaultResponse(fault, _protocol(self.boto3_service_name))

    setup_class.__wrapped__ = original  # type: ignore[attr-defined]
    return setup_class


PATCHES: list[Patch] = [
    Patch(BaseResponse, "setup_class", _hook_setup, why="answer matching requests with a fault"),
]
