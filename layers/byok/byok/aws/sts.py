"""Assume the platform role: every probe runs as the principal the customer's key policy names.

Why: the key policy trusts ``arn:aws:iam::<platform>:role/<name>``; checking with the Lambda's own
role would test a principal the contract never mentions. Credentials stay in memory and are never
logged.

Why cached (``PlatformAccess``): a container validates many environments with the same role, so
it assumes the role once per Region and keeps the session and its clients until the credentials
near expiry (``byok.aws.sessions.RefreshingSession``): 0 AssumeRole per warm validation. The
session name is therefore the function's, not an environment's: CloudTrail in the customer
account shows ``byok-guard-<function>``; which environment a call served is in the platform's logs.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from byok.aws.errors import client_config
from byok.aws.sessions import RefreshingSession, assumed_session
from byok.identifiers import RoleArn
from byok.permissions import Resource, declare

__all__ = ["PlatformAccess", "assume_platform_role", "session_name"]

PERMISSIONS = declare(("sts:AssumeRole",), Resource.PLATFORM_ROLE)

_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")
#: one hour: the shortest MaxSessionDuration a role can have, so AssumeRole never refuses it
DURATION_SECONDS = 3600


def session_name(suffix: str) -> str:
    """``byok-guard-<suffix>``, trimmed to STS's 64-character limit (shows in CloudTrail)."""
    return _SESSION_NAME_BAD.sub("-", f"byok-guard-{suffix}")[:64]


def assume_platform_role(
    base: boto3.session.Session,
    role_arn: str,
    environment_id: str,
    *,
    region: str | None = None,
    duration_seconds: int = 900,
) -> boto3.session.Session:
    """A session acting as the platform role, assumed now (raises botocore errors)."""
    role = str(RoleArn.parse(role_arn, "platform_role_arn"))
    sts = base.client("sts", region_name=region or base.region_name, config=client_config())
    return assumed_session(
        base,
        sts,
        role_arn=role,
        session_name=session_name(environment_id),
        region=region or base.region_name,
        duration_seconds=duration_seconds,
    )


class PlatformAccess:
    """The platform role's clients per Region, assumed once and refreshed before expiry."""

    def __init__(
        self,
        base: boto3.session.Session,
        role_arn: str,
        *,
        name: str | None = None,
        duration_seconds: int = DURATION_SECONDS,
        refresh_margin: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.role_arn = str(RoleArn.parse(role_arn, "platform_role_arn"))
        self._base = base
        self._name = session_name(name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or "cli")
        self._duration = duration_seconds
        self._margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._regions: dict[str | None, RefreshingSession] = {}

    def _region(self, region: str | None) -> RefreshingSession:
        with self._lock:
            found = self._regions.get(region)
            if found is None:
                found = RefreshingSession(
                    self._base,
                    lambda: self._base.client(
                        "sts", region_name=region or self._base.region_name, config=client_config()
                    ),
                    role_arn=self.role_arn,
                    session_name=self._name,
                    region=region or self._base.region_name,
                    duration_seconds=self._duration,
                    refresh_margin=self._margin,
                    clock=self._clock,
                    config=client_config(),
                )
                self._regions[region] = found
            return found

    def client(self, service: str, region: str | None = None) -> Any:
        """A client acting as the platform role (assumes it when needed; raises botocore errors)."""
        return self._region(region).client(service, region)

    @property
    def base(self) -> boto3.session.Session:
        """The function's own session (the role's policies are read with it, not assumed)."""
        return self._base

    @property
    def assumed(self) -> int:
        """AssumeRole calls made so far by this container."""
        with self._lock:
            return sum(r.assumed for r in self._regions.values())
