"""Read the platform role's identity policies from IAM (the identity half of the handshake).

Why: cross-account KMS use needs the platform role's own IAM policy to allow each request, and
that policy lives in the platform account, where the functions can read it: inline policies
(ListRolePolicies + GetRolePolicy), attached managed policies (ListAttachedRolePolicies +
GetPolicy + GetPolicyVersion of the default version) and the permissions boundary (GetRole).
Read by the function's own role (template.yaml grants these reads on the platform role and on
managed policies only), cached per container for ``TTL_SECONDS``: the role changes with a
deployment, not per event, and IAM's read quotas are small.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.identifiers import RoleArn
from byok.permissions import Resource, declare
from byok.validation.facts import PlatformIdentity

__all__ = ["TTL_SECONDS", "cached_platform_identity", "read_platform_identity"]

TTL_SECONDS: Final = 300.0

#: read by the function's own role: the platform role itself, and its managed policies
PERMISSIONS: Final = declare(
    ("iam:GetRole", "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"),
    Resource.PLATFORM_ROLE,
) + declare(("iam:GetPolicy", "iam:GetPolicyVersion"), Resource.MANAGED_POLICY)


def _document(value: Any) -> str:
    """IAM returns policy documents URL-encoded (boto3 decodes them to dicts)."""
    if isinstance(value, str):
        return urllib.parse.unquote(value)
    import json

    return json.dumps(value)


def _managed(iam: Any, policy_arn: str) -> str:
    version = iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
    got = iam.get_policy_version(PolicyArn=policy_arn, VersionId=version)
    return _document(got["PolicyVersion"]["Document"])


def read_platform_identity(iam: Any, role_arn: str) -> PlatformIdentity:
    """Every identity policy of the role; a failed read becomes ``error`` (never raises)."""
    name = RoleArn.parse(role_arn, "platform_role_arn").name
    try:
        role = iam.get_role(RoleName=name)["Role"]
        policies: list[tuple[str, str]] = []
        for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
            for policy_name in page["PolicyNames"]:
                got = iam.get_role_policy(RoleName=name, PolicyName=policy_name)
                policies.append((policy_name, _document(got["PolicyDocument"])))
        for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
            for attached in page["AttachedPolicies"]:
                policies.append((attached["PolicyArn"], _managed(iam, attached["PolicyArn"])))
        boundary = None
        boundary_arn = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary_arn:
            boundary = (boundary_arn, _managed(iam, boundary_arn))
    except (ClientError, BotoCoreError) as exc:
        return PlatformIdentity(role_arn, error=classify(exc))
    return PlatformIdentity(role_arn, tuple(policies), boundary)


_cache: dict[str, tuple[float, PlatformIdentity]] = {}
_lock = threading.Lock()


def cached_platform_identity(
    iam_factory: Callable[[], Any],
    role_arn: str,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> PlatformIdentity:
    """``read_platform_identity`` once per ``TTL_SECONDS`` per container; a failed read is not
    cached (the next validation tries again)."""
    now = clock()
    with _lock:
        hit = _cache.get(role_arn)
        if hit is not None and now - hit[0] < TTL_SECONDS:
            return hit[1]
    got = read_platform_identity(iam_factory(), role_arn)
    if got.error is None:
        with _lock:
            _cache[role_arn] = (now, got)
    return got


def clear_cache() -> None:
    """Forget every cached read (tests; a new deployment of the role)."""
    with _lock:
        _cache.clear()
