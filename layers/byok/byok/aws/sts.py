"""Assume the platform role: every probe runs as the principal the customer's key policy names.

Why: the key policy trusts ``arn:aws:iam::<platform>:role/<name>``; checking with the Lambda's own
role would test a principal the contract never mentions. Credentials stay in memory and are never
logged.
"""

from __future__ import annotations

import re

import boto3

from byok.aws.errors import client_config
from byok.aws.sessions import assumed_session
from byok.identifiers import RoleArn
from byok.permissions import Resource, declare

__all__ = ["assume_platform_role", "session_name"]

PERMISSIONS = declare(("sts:AssumeRole",), Resource.PLATFORM_ROLE)

_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")


def session_name(environment_id: str) -> str:
    """``byok-guard-<env>``, trimmed to STS's 64-character limit (shows in CloudTrail)."""
    return _SESSION_NAME_BAD.sub("-", f"byok-guard-{environment_id}")[:64]


def assume_platform_role(
    base: boto3.session.Session,
    role_arn: str,
    environment_id: str,
    *,
    region: str | None = None,
    duration_seconds: int = 900,
) -> boto3.session.Session:
    """A session acting as the platform role (raises botocore errors; callers classify)."""
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
