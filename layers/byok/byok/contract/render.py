"""Render the key policy statements a customer pastes, or a whole key policy.

The output is deterministic (same inputs, same JSON, same order) because the customer template
is compared against ``render_policy(..., full=True)`` in a drift test. Statement order of a full
policy:

1. ``EnableIAMUserPermissions``: the customer account root keeps ``kms:*`` (administration stays
   with the key owner; IAM policies of the customer account take effect);
2. ``AllowKeyAdministrators`` (only if administrators are given): the usual admin actions, no
   cryptographic ones;
3. the platform statements: ``BYOKPlatformS3ViaService`` | ``BYOKPlatformAuroraViaService``,
   ``BYOKPlatformAuroraGrants`` (aurora), ``BYOKPlatformHealthChecks`` (unless turned off).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from byok.contract.spec import (
    ADMIN_ACTIONS,
    CRYPTO_ACTIONS,
    GRANT_ACTIONS,
    GRANT_FOR_AWS,
    HEALTH_CHECK_ACTIONS,
    PRINCIPAL_ACCOUNT,
    SID_ADMINS,
    SID_AURORA,
    SID_AURORA_GRANTS,
    SID_HEALTH,
    SID_ROOT,
    SID_S3,
    VIA_SERVICE,
    Parties,
    parties,
)
from byok.errors import InputError, quote
from byok.identifiers import RoleArn, UserArn
from byok.models import Purpose

POLICY_VERSION = "2012-10-17"


def _platform_statement(
    sid: str, p: Parties, actions: Sequence[str], condition: dict[str, dict[str, str]]
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": p.role_arn},
        "Action": list(actions),
        "Resource": "*",
        "Condition": condition,
    }


def statements_for(p: Parties, *, health_checks: bool = True) -> list[dict[str, Any]]:
    """The platform statements for already-validated parties (used by render and by fixes)."""
    via = {VIA_SERVICE: p.via(), PRINCIPAL_ACCOUNT: p.platform_account}
    out: list[dict[str, Any]] = []
    if p.purpose is Purpose.S3:
        out.append(_platform_statement(SID_S3, p, CRYPTO_ACTIONS, {"StringEquals": via}))
    else:
        out.append(_platform_statement(SID_AURORA, p, CRYPTO_ACTIONS, {"StringEquals": via}))
        out.append(
            _platform_statement(
                SID_AURORA_GRANTS,
                p,
                GRANT_ACTIONS,
                {"StringEquals": dict(via), "Bool": {GRANT_FOR_AWS: "true"}},
            )
        )
    if health_checks:
        out.append(
            _platform_statement(
                SID_HEALTH,
                p,
                HEALTH_CHECK_ACTIONS,
                {"StringEquals": {PRINCIPAL_ACCOUNT: p.platform_account}},
            )
        )
    return out


def render_statements(
    purpose: Purpose | str,
    key_arn: str,
    platform_role_arn: str,
    *,
    health_checks: bool = True,
) -> list[dict[str, Any]]:
    """The statements a customer adds to the key policy for this purpose."""
    return statements_for(parties(purpose, key_arn, platform_role_arn), health_checks=health_checks)


def _administrators(p: Parties, administrators: Sequence[str]) -> list[str]:
    """Validate administrator ARNs: IAM roles or users of the customer account (an admin in
    another account would open the key to outsiders)."""
    seen: list[str] = []
    for i, arn in enumerate(administrators):
        field = f"administrators[{i}]"
        parsed = (
            UserArn.parse(arn, field)
            if isinstance(arn, str) and ":user/" in arn
            else RoleArn.parse(arn, field)
        )
        partition, account, arn = parsed.partition, parsed.account, str(parsed)
        if partition != p.key.partition or account != p.customer_account:
            raise InputError(
                f"{field}: key administrators must be in the customer account "
                f"{quote(p.customer_account)}, got {quote(arn)}"
            )
        if arn not in seen:
            seen.append(arn)
    return seen


def render_policy(
    purpose: Purpose | str,
    key_arn: str,
    platform_role_arn: str,
    *,
    health_checks: bool = True,
    full: bool = False,
    administrators: Sequence[str] = (),
) -> dict[str, Any]:
    """A key policy document: the platform statements alone, or (``full``) a whole key policy in
    which the customer account keeps administration. See the module docstring for the order."""
    p = parties(purpose, key_arn, platform_role_arn)
    statements: list[dict[str, Any]] = []
    if full:
        statements.append(
            {
                "Sid": SID_ROOT,
                "Effect": "Allow",
                "Principal": {"AWS": p.root_arn},
                "Action": "kms:*",
                "Resource": "*",
            }
        )
        admins = _administrators(p, administrators)
        if admins:
            statements.append(
                {
                    "Sid": SID_ADMINS,
                    "Effect": "Allow",
                    "Principal": {"AWS": admins[0] if len(admins) == 1 else admins},
                    "Action": list(ADMIN_ACTIONS),
                    "Resource": "*",
                }
            )
    elif administrators:
        raise InputError("administrators: only allowed with full=True (--full)")
    statements.extend(statements_for(p, health_checks=health_checks))
    return {"Version": POLICY_VERSION, "Statement": statements}
