"""Fault injection: make moto answer chosen calls with throttling, server errors or lost answers.

byok-guard must never mistake a transient error for a revoked key, and must never lose a health
change when a write's answer is lost, so tests and the demo need AWS's transient failures on
demand::

    from byok_emulator import faults

    with faults.throttle(service="kms", operations={"DescribeKey"}, times=2) as fault:
        ...                      # the next 2 DescribeKey calls fail with ThrottlingException
    assert fault.hits == 2

    faults.slow_down(operations={"PutObject"})          # S3 503 SlowDown until removed
    faults.internal_error(service="kms", rate=0.2, seed=7)  # KMSInternalException, 20% of calls
    faults.timeout("dynamodb", {"PutItem"}, after_processing=True, times=1,
                   tables={"envs"}, item={"sk": "HEALTH"})  # the write lands, its answer is lost
    faults.failed_entries(times=1)                        # PutEvents: 200, FailedEntryCount 1
    faults.reset()                                        # remove every fault

A fault is active from its creation until ``remove()`` / the end of its ``with`` block / ``reset()``
/ ``times`` hits. Which requests it hits:

- ``operations=None`` matches every operation of the service; ``accounts`` limits it to callers
  in those accounts;
- ``tables`` (DynamoDB table names, any table of a ``TransactWriteItems`` / batch request) and
  ``item`` (attribute values every one of which an item the request names must have, e.g.
  ``{"sk": "OUTBOX"}``): faults chosen by table or item key;
- ``where``: any predicate over the ``Request`` view (service, operation, account, tables, items);
- ``rate`` (0 < rate <= 1): each matching request is hit with that probability, drawn from the
  fault's own ``random.Random(seed)`` (reproducible for a fixed request order).

Kinds of fault (``FaultKind``):

- ``ERROR``: an error response (below). Nothing is processed.
- ``CONNECT_TIMEOUT``: the request is not processed; in process the caller gets botocore's
  ``ConnectTimeoutError``, through the server the connection is dropped unanswered
  (``ConnectionClosedError``).
- ``ANSWER_LOST``: the request **is processed** (the item written, the message sent), then the
  answer is lost: in process ``ReadTimeoutError``, through the server the connection is dropped
  after the work (``ConnectionClosedError``). botocore retries both, so the retry meets the effect
  of the first attempt: the case a conditional write must treat as its own success.
- ``failed_entries``: EventBridge ``PutEvents`` answers 200 with ``FailedEntryCount`` and the
  chosen entries failed (``InternalFailure`` by default); the other entries of the same call are
  put (delivered to rules) as usual.

Wire formats of ``ERROR`` follow each protocol (so botocore parses them as it would AWS's): JSON
services get ``{"__type": code, "message": ...}`` with ``x-amzn-ErrorType``; S3 gets
``<Error><Code>`` XML; query services (STS, IAM, RDS, ...) ``<ErrorResponse><Error>`` XML. Codes
and statuses: KMS ``ThrottlingException`` 400 (KMS quotas page: "You have exceeded the rate at
which you may call KMS"), S3 ``SlowDown`` 503 ("Please reduce your request rate."), S3
``InternalError`` 500, KMS ``KMSInternalException`` 500, DynamoDB
``ProvisionedThroughputExceededException`` 400 for throttling, other services
``ThrottlingException`` 400 / ``InternalFailure`` 500.

Note that boto3 retries throttling, 5xx and timeouts (3 attempts in ``standard`` mode, 5 in
``legacy``): a fault with ``times=N`` is used up by retries; use ``times=None`` or a client with
``Config(retries={"total_max_attempts": 1})`` to see the error.

How: ``BaseResponse.setup_class`` (run by every moto service for every request, in-process and in
the server) is wrapped; after moto parsed the request it looks for a matching fault. An error
raises an ``HTTPException`` carrying the error response, which both moto's in-process stubber and
the server's Flask app turn into that response. A timeout leaves a mark on the request's thread
that the in-process stubber (``BotocoreStubber.__call__``) or the server's WSGI application
(``DomainDispatcherApplication.__call__``) turns into the timeout / dropped connection once
moto is done. ``EventsBackend.put_events`` is wrapped for failed entries.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import itertools
import json
import random
import socket
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moto.core.botocore_stubber import BotocoreStubber
from moto.core.exceptions import HTTPException
from moto.core.responses import BaseResponse
from moto.events.models import EventsBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from ._patching import Patch
from .wire import json_error, query_error, s3_error

__all__ = [
    "Fault",
    "FaultKind",
    "Request",
    "active",
    "answer_lost",
    "failed_entries",
    "inject",
    "internal_error",
    "reset",
    "slow_down",
    "throttle",
    "timeout",
]

_lock = threading.Lock()
_faults: list[Fault] = []
_ids = itertools.count(1)
#: what the current thread's request must end in (set by setup_class, read when moto is done)
_marks = threading.local()


class FaultKind(enum.Enum):
    ERROR = "error"
    CONNECT_TIMEOUT = "connect-timeout"
    ANSWER_LOST = "answer-lost"
    FAILED_ENTRIES = "failed-entries"


@dataclass(frozen=True)
class Request:
    """What a fault can choose by: one request as moto parsed it."""

    service: str
    operation: str | None
    account: str
    #: DynamoDB: every table the request names
    tables: frozenset[str] = frozenset()
    #: DynamoDB: the items (key or whole item, string/number attributes as plain strings)
    items: tuple[Mapping[str, str], ...] = ()


@dataclass(eq=False)
class Fault:
    """One injected fault. Use as a context manager, or call ``remove()``."""

    service: str
    operations: frozenset[str] | None
    code: str
    message: str
    status: int
    times: int | None
    accounts: frozenset[str] | None = None
    kind: FaultKind = FaultKind.ERROR
    rate: float | None = None
    tables: frozenset[str] | None = None
    item: Mapping[str, str] | None = None
    where: Callable[[Request], bool] | None = None
    seed: int | None = None
    #: FAILED_ENTRIES: PutEvents entry field -> accepted values (all entries when empty)
    entries: Mapping[str, frozenset[str]] = field(default_factory=dict)
    hits: int = 0
    id: int = field(default_factory=lambda: next(_ids))
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def matches(self, services: Collection[str], operation: str | None, account: str) -> bool:
        """``services``: the names moto and boto3 give the service (``awslambda``/``lambda``)."""
        if self.service not in services:
            return False
        if self.operations is not None and operation not in self.operations:
            return False
        return self.accounts is None or account in self.accounts

    def chooses(self, request: Request) -> bool:
        """The content filters: tables, item key, ``where``."""
        if self.tables is not None and not (self.tables & request.tables):
            return False
        if self.item is not None and not any(
            all(item.get(k) == v for k, v in self.item.items()) for item in request.items
        ):
            return False
        return self.where is None or bool(self.where(request))

    def _roll(self) -> bool:
        """Under ``_lock``: does this matching request get hit (``rate``)?"""
        return self.rate is None or self._rng.random() < self.rate

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
    kind: FaultKind = FaultKind.ERROR,
    rate: float | None = None,
    seed: int | None = None,
    tables: Collection[str] | None = None,
    item: Mapping[str, str] | None = None,
    where: Callable[[Request], bool] | None = None,
) -> Fault:
    """Register a fault: matching requests get ``status`` with error ``code`` and ``message``.

    ``service`` is moto's service name (``kms``, ``s3``, ``sts``, ``dynamodb``, ``rds``, ...);
    ``operations`` are API operation names (``DescribeKey``, ``PutObject``).
    """
    if times is not None and times < 1:
        raise ValueError(f"times: expected a positive integer or None, got {times!r}")
    if kind is FaultKind.ERROR and not 400 <= status <= 599:
        raise ValueError(f"status: expected an HTTP error status 400..599, got {status!r}")
    if rate is not None and not 0 < rate <= 1:
        raise ValueError(f"rate: expected a probability in (0, 1], got {rate!r}")
    if isinstance(tables, str):
        raise ValueError(f"tables: expected a collection of table names, got the string {tables!r}")
    fault = Fault(
        service=service,
        operations=frozenset(operations) if operations is not None else None,
        code=code,
        message=message,
        status=status,
        times=times,
        accounts=frozenset(accounts) if accounts is not None else None,
        kind=kind,
        rate=rate,
        seed=seed,
        tables=frozenset(tables) if tables is not None else None,
        item=dict(item) if item is not None else None,
        where=where,
    )
    with _lock:
        _faults.append(fault)
    return fault


#: DynamoDB's item operations, throttled with ProvisionedThroughputExceededException (the control
#: plane, ListTables, DescribeTable..., answers ThrottlingException)
_ITEMS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)


def throttle(
    service: str = "kms",
    operations: Collection[str] | None = None,
    times: int | None = None,
    **choose: Any,
) -> Fault:
    """Throttling: ``ThrottlingException`` (400); S3 ``SlowDown`` (503); DynamoDB item
    operations ``ProvisionedThroughputExceededException`` (400). ``choose``: ``accounts``, ``rate``,
    ``seed``, ``tables``, ``item``, ``where`` as for ``inject``."""
    if service == "s3":
        return slow_down(operations, times, **choose)
    if service == "dynamodb" and (
        choose.get("tables") or choose.get("item") or (operations and set(operations) <= _ITEMS)
    ):
        code = "ProvisionedThroughputExceededException"
        message = "The level of configured provisioned throughput for the table was exceeded."
    elif service == "kms":
        code = "ThrottlingException"
        message = (
            "You have exceeded the rate at which you may call KMS. "
            "Reduce the frequency of your calls."
        )
    else:
        code, message = "ThrottlingException", "Rate exceeded"
    return inject(
        service,
        code=code,
        message=message,
        status=400,
        operations=operations,
        times=times,
        **choose,
    )


def slow_down(
    operations: Collection[str] | None = None, times: int | None = None, **choose: Any
) -> Fault:
    """S3's throttling answer: HTTP 503 ``SlowDown``."""
    return inject(
        "s3",
        code="SlowDown",
        message="Please reduce your request rate.",
        status=503,
        operations=operations,
        times=times,
        **choose,
    )


_INTERNAL_ERRORS = {
    "kms": (
        "KMSInternalException",
        "The request was rejected because an internal exception occurred.",
    ),
    "s3": ("InternalError", "We encountered an internal error. Please try again."),
    "dynamodb": ("InternalServerError", "Internal server error"),
    "*": ("InternalFailure", "The request processing has failed because of an unknown error."),
}


def internal_error(
    service: str = "kms",
    operations: Collection[str] | None = None,
    times: int | None = None,
    **choose: Any,
) -> Fault:
    """A 500: ``KMSInternalException`` (KMS), ``InternalError`` (S3), ``InternalServerError``
    (DynamoDB), else ``InternalFailure``."""
    code, message = _INTERNAL_ERRORS.get(service, _INTERNAL_ERRORS["*"])
    return inject(
        service,
        code=code,
        message=message,
        status=500,
        operations=operations,
        times=times,
        **choose,
    )


def timeout(
    service: str,
    operations: Collection[str] | None = None,
    times: int | None = None,
    *,
    after_processing: bool,
    **choose: Any,
) -> Fault:
    """A timeout before (``CONNECT_TIMEOUT``, nothing done) or after the request was processed
    (``ANSWER_LOST``: done, the caller cannot know)."""
    kind = FaultKind.ANSWER_LOST if after_processing else FaultKind.CONNECT_TIMEOUT
    return inject(
        service,
        code=kind.value,
        message=f"injected {kind.value}",
        status=0,
        operations=operations,
        times=times,
        kind=kind,
        **choose,
    )


def answer_lost(
    service: str, operations: Collection[str] | None = None, times: int | None = None, **choose: Any
) -> Fault:
    """The request is processed and its answer lost (``timeout(..., after_processing=True)``)."""
    return timeout(service, operations, times, after_processing=True, **choose)


def failed_entries(
    times: int | None = None,
    *,
    code: str = "InternalFailure",
    message: str = "Internal service error",
    sources: Collection[str] | None = None,
    detail_types: Collection[str] | None = None,
    rate: float | None = None,
    seed: int | None = None,
    accounts: Collection[str] | None = None,
) -> Fault:
    """EventBridge partial failure: chosen ``PutEvents`` entries come back with ``ErrorCode``
    (HTTP 200, ``FailedEntryCount`` > 0) and are not put. ``times`` counts failed entries.
    ``sources`` / ``detail_types`` choose entries; ``rate`` is per entry."""

    fault = inject(
        "events",
        code=code,
        message=message,
        status=200,
        operations={"PutEvents"},
        times=times,
        accounts=accounts,
        kind=FaultKind.FAILED_ENTRIES,
        rate=rate,
        seed=seed,
    )
    fault.entries = {
        name: frozenset(values)
        for name, values in (("Source", sources), ("DetailType", detail_types))
        if values is not None
    }
    return fault


def active() -> list[Fault]:
    """The faults currently registered (a copy)."""
    with _lock:
        return list(_faults)


def reset() -> None:
    """Remove every fault."""
    with _lock:
        _faults.clear()


def _hit(fault: Fault) -> None:
    """Under ``_lock``: count a hit, retiring the fault when used up."""
    fault.hits += 1
    if fault.times is not None and fault.hits >= fault.times and fault in _faults:
        _faults.remove(fault)


def _first_hit(accepts: Callable[[Fault], bool]) -> Fault | None:
    """The first registered fault ``accepts`` and its ``rate`` lets through, its hit counted."""
    with _lock:
        for fault in _faults:
            if accepts(fault) and fault._roll():
                _hit(fault)
                return fault
    return None


def _take(
    services: Collection[str],
    operation: str | None,
    account: str,
    request: Callable[[], Request] | None = None,
) -> Fault | None:
    """The first request-level fault that hits (entry faults are taken per entry in
    ``_put_events``). ``request`` builds the content view only when a fault needs it."""
    view: list[Request] = []

    def accepts(fault: Fault) -> bool:
        if fault.kind is FaultKind.FAILED_ENTRIES or not fault.matches(
            services, operation, account
        ):
            return False
        if fault.tables is None and fault.item is None and fault.where is None:
            return True
        if not view:
            view.append(request() if request is not None else Request("", operation, account))
        return fault.chooses(view[0])

    return _first_hit(accepts)


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
        self.code = fault.status if fault.kind is FaultKind.ERROR else 500
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


def _plain(item: Any) -> dict[str, str]:
    """A DynamoDB item / key in wire form -> its string and number attributes as strings."""
    if not isinstance(item, Mapping):
        return {}
    plain: dict[str, str] = {}
    for name, value in item.items():
        if isinstance(value, Mapping):
            for tag in ("S", "N"):
                if isinstance(value.get(tag), str):
                    plain[str(name)] = value[tag]
    return plain


def _dynamodb_request(body: Mapping[str, Any]) -> tuple[set[str], list[dict[str, str]]]:
    tables: set[str] = set()
    items: list[dict[str, str]] = []
    if isinstance(body.get("TableName"), str):
        tables.add(body["TableName"])
    for part in ("Key", "Item"):
        if part in body:
            items.append(_plain(body[part]))
    for transact in body.get("TransactItems") or []:
        if not isinstance(transact, Mapping):
            continue
        for op in transact.values():
            if isinstance(op, Mapping):
                if isinstance(op.get("TableName"), str):
                    tables.add(op["TableName"])
                items.append(_plain(op.get("Key") or op.get("Item")))
    for table, requests in (body.get("RequestItems") or {}).items():
        tables.add(str(table))
        if isinstance(requests, Mapping):  # BatchGetItem
            items.extend(_plain(k) for k in requests.get("Keys") or [])
            continue
        for request in requests or []:
            for op in request.values() if isinstance(request, Mapping) else ():
                if isinstance(op, Mapping):
                    items.append(_plain(op.get("Key") or op.get("Item")))
    return tables, items


def _request_view(response: BaseResponse, service: str, operation: str | None) -> Request:
    account = getattr(response, "current_account", "")
    if service != "dynamodb":
        return Request(service, operation, account)
    try:
        body = json.loads(response.body or "{}")
    except (TypeError, ValueError):
        body = {}
    tables, items = _dynamodb_request(body if isinstance(body, Mapping) else {})
    return Request(service, operation, account, frozenset(tables), tuple(items))


def _hook_setup(original: Callable[..., Any]) -> Callable[..., Any]:
    def setup_class(self: BaseResponse, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service = self.service_name or ""
        if not _faults or not service:
            return
        services = {service, self.boto3_service_name}
        operation = _operation(self)
        fault = _take(
            services,
            operation,
            getattr(self, "current_account", ""),
            lambda: _request_view(self, service, operation),
        )
        if fault is None:
            return
        if fault.kind is FaultKind.ANSWER_LOST:
            _marks.kind = FaultKind.ANSWER_LOST  # processed as usual, the answer dropped later
            return
        if fault.kind is FaultKind.CONNECT_TIMEOUT:
            _marks.kind = FaultKind.CONNECT_TIMEOUT
        raise FaultResponse(fault, _protocol(self.boto3_service_name))

    setup_class.__wrapped__ = original  # type: ignore[attr-defined]
    return setup_class


def _take_mark() -> FaultKind | None:
    kind = getattr(_marks, "kind", None)
    _marks.kind = None
    return kind


def _hook_stubber(original: Callable[..., Any]) -> Callable[..., Any]:
    """In process: a marked request ends in botocore's own timeout exception."""

    def __call__(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        _marks.kind = None
        answer = original(self, event_name, request, **kwargs)
        kind = _take_mark()
        if kind is FaultKind.CONNECT_TIMEOUT:
            raise ConnectTimeoutError(endpoint_url=request.url)
        if kind is FaultKind.ANSWER_LOST:
            raise ReadTimeoutError(endpoint_url=request.url)
        return answer

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    return __call__


class _Dropped(ConnectionResetError):
    """Raised into werkzeug after the socket was shut: it counts a dropped connection, silently."""


def _hook_wsgi(original: Callable[..., Any]) -> Callable[..., Any]:
    """Through the server: a marked request's connection is shut without an answer."""

    def __call__(self: DomainDispatcherApplication, environ: dict[str, Any], start: Any) -> Any:
        _marks.kind = None
        answer = original(self, environ, start)
        if getattr(_marks, "kind", None) is None:
            return answer
        body = list(answer)  # let moto finish the work (ANSWER_LOST: it is processed)
        if hasattr(answer, "close"):
            answer.close()
        kind = _take_mark()
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            raise _Dropped(f"injected {kind.value if kind else 'fault'}: connection dropped")
        return body

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    return __call__


def _entry_fault(entry: Mapping[str, Any], account: str) -> Fault | None:
    return _first_hit(
        lambda fault: (
            fault.kind is FaultKind.FAILED_ENTRIES
            and (fault.accounts is None or account in fault.accounts)
            and all(str(entry.get(k)) in v for k, v in fault.entries.items())
        )
    )


def _hook_put_events(original: Callable[..., Any]) -> Callable[..., Any]:
    def put_events(self: EventsBackend, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not _faults or len(events) > 10:
            return original(self, events)
        chosen = [_entry_fault(e, self.account_id) for e in events]
        kept = [e for e, f in zip(events, chosen, strict=True) if f is None]
        results: Iterable[dict[str, Any]] = iter(original(self, kept) if kept else [])
        out: list[dict[str, Any]] = []
        for fault in chosen:
            if fault is None:
                out.append(next(results))  # type: ignore[call-overload]
            else:
                out.append({"ErrorCode": fault.code, "ErrorMessage": fault.message})
        return out

    put_events.__wrapped__ = original  # type: ignore[attr-defined]
    return put_events


PATCHES: list[Patch] = [
    Patch(BaseResponse, "setup_class", _hook_setup, why="answer matching requests with a fault"),
    Patch(BotocoreStubber, "__call__", _hook_stubber, why="timeouts in process"),
    Patch(DomainDispatcherApplication, "__call__", _hook_wsgi, why="timeouts through the server"),
    Patch(EventsBackend, "put_events", _hook_put_events, why="EventBridge failed entries"),
]
