"""Sessions that share botocore's parsed service models.

Why: every new ``boto3.Session`` re-reads and re-parses botocore's JSON service models and
endpoint rules (about 0.1-0.2 s per client here). A validation assumes the platform role and so
needs a fresh session each time; sharing the parent's data loader and endpoint resolver keeps
that cost out of the event-to-flag path (and out of the tests). Credentials are never shared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session

__all__ = [
    "RefreshingSession",
    "Session",
    "assumed_session",
    "default_session",
    "derived_session",
]

#: the session type the rest of byok-guard is handed (so it never imports boto3 itself)
Session = boto3.session.Session


def default_session() -> Session:
    """A session from the environment (the Lambda role's credentials, ``AWS_REGION``)."""
    return boto3.session.Session()


def derived_session(
    parent: boto3.session.Session,
    *,
    access_key: str,
    secret_key: str,
    token: str | None,
    region: str | None,
) -> boto3.session.Session:
    """A session with its own credentials reusing ``parent``'s loaded models."""
    core = botocore.session.Session()
    source = parent._session  # the public API has no way to share the loader
    core.register_component("data_loader", source.get_component("data_loader"))
    core._register_internal_component(
        "endpoint_resolver", source._get_internal_component("endpoint_resolver")
    )
    core.set_credentials(access_key, secret_key, token)
    return boto3.session.Session(botocore_session=core, region_name=region or parent.region_name)


def assumed_session(
    parent: boto3.session.Session,
    sts: object,
    *,
    role_arn: str,
    session_name: str,
    region: str | None,
    duration_seconds: int | None = None,
) -> boto3.session.Session:
    """``sts.assume_role(role_arn)`` as a session derived from ``parent`` (models shared).

    ``sts`` is the caller's STS client (its endpoint, retries and timeouts are the caller's).
    Raises botocore errors as they come: callers classify them.
    """
    request: dict[str, object] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if duration_seconds is not None:
        request["DurationSeconds"] = duration_seconds
    creds = sts.assume_role(**request)["Credentials"]  # type: ignore[attr-defined]
    return derived_session(
        parent,
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
        token=creds["SessionToken"],
        region=region,
    )


class RefreshingSession:
    """An assumed-role session and its clients, kept until the credentials near their expiry.

    Why: assuming the role and building fresh clients for every validation was a third of a
    validation's time (AssumeRole round trip, botocore client construction). One container
    validates many environments with the same role, so the session and each (service, Region)
    client are reused; ``refresh_margin`` before ``Expiration`` the role is assumed again and the
    clients are rebuilt. A failed AssumeRole raises (callers classify it) and keeps nothing, so
    the next call tries again. Thread-safe: the gather thread pool shares the clients.
    """

    def __init__(
        self,
        parent: boto3.session.Session,
        sts: Callable[[], object],
        *,
        role_arn: str,
        session_name: str,
        region: str | None,
        duration_seconds: int = 3600,
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        config: object | None = None,
    ) -> None:
        self._parent = parent
        self._sts = sts
        self._role_arn = role_arn
        self._session_name = session_name
        self._region = region
        self._duration = duration_seconds
        self._margin = refresh_margin
        self._clock = clock
        self._config = config
        self._lock = threading.Lock()
        self._session: boto3.session.Session | None = None
        self._expires: datetime | None = None
        self._clients: dict[tuple[str, str | None], object] = {}
        #: AssumeRole calls made (a container's figure; tests and benchmarks read it)
        self.assumed = 0

    def _fresh(self) -> bool:
        return (
            self._session is not None
            and self._expires is not None
            and self._clock() < self._expires - self._margin
        )

    def session(self) -> boto3.session.Session:
        """The assumed-role session, assuming the role (again) when needed."""
        with self._lock:
            if not self._fresh():
                self._assume()
            assert self._session is not None
            return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        """A client of the current session, built once per (service, Region) and credentials."""
        with self._lock:
            if not self._fresh():
                self._assume()
            key = (service, region or self._region)
            found = self._clients.get(key)
            if found is None:
                assert self._session is not None
                found = self._session.client(service, region_name=key[1], config=self._config)
                self._clients[key] = found
            return found

    def _assume(self) -> None:
        self._session = self._expires = None
        self._clients = {}
        request: dict[str, object] = {
            "RoleArn": self._role_arn,
            "RoleSessionName": self._session_name,
            "DurationSeconds": self._duration,
        }
        creds = self._sts().assume_role(**request)["Credentials"]  # type: ignore[attr-defined]
        self.assumed += 1
        # expiry on this container's clock: the duration asked, or STS's Expiration when that
        # is earlier and still ahead of the margin (a skewed clock never makes every call
        # assume the role again)
        now = self._clock()
        expires = now + timedelta(seconds=self._duration)
        reported = creds.get("Expiration")
        if isinstance(reported, str):
            from byok.times import parse_optional

            reported = parse_optional(reported)
        if isinstance(reported, datetime):
            reported = reported if reported.tzinfo else reported.replace(tzinfo=UTC)
            if now + self._margin < reported < expires:
                expires = reported
        self._session = derived_session(
            self._parent,
            access_key=creds["AccessKeyId"],
            secret_key=creds["SecretAccessKey"],
            token=creds["SessionToken"],
            region=self._region,
        )
        self._expires = expires
