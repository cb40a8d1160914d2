"""The platform's half of the contract: does the platform role's own IAM policy allow each
required request? Decided with the key policy by ``byok.policy.handshake`` (both halves).

Why a separate check: a request the key policy allows still fails when the platform role's
identity policies do not allow it (cross-account use needs both), and that gap is the platform
operator's to close, never the customer's. The report therefore names only identity-side
denials, with a fix addressed to the operator (a statement for the platform role's identity
policy, or the Deny to remove); key-policy denials stay with ``check_policy``'s
``required-access`` check and its customer fix.
"""

from __future__ import annotations

import json
from typing import Any, Final

from byok.contract.report import ContractCheck
from byok.contract.spec import GRANT_FOR_AWS, VIA_SERVICE, Expectation, expectations, parties
from byok.models import CheckStatus, Purpose
from byok.policy import Decision, Policy, Request
from byok.policy.handshake import IdentityPolicies, Side, decide

__all__ = [
    "IDENTITY_CHECK_ID",
    "OPERATOR",
    "check_identity",
    "identity_statement",
    "identity_text",
]

IDENTITY_CHECK_ID: Final = "platform-identity"
#: who acts on this check's findings
OPERATOR: Final = "platform operator"


def _request(e: Expectation, key_arn: str) -> Request:
    return Request(
        principal=e.principal, action=e.action, resource=key_arn, context=dict(e.context)
    )


def identity_statement(purpose: Purpose | str, key_arn: str, actions: list[str]) -> dict[str, Any]:
    """The statement the platform role's identity policy needs for these required actions."""
    p = parties(purpose, key_arn, f"arn:aws:iam::{_other_account(key_arn)}:role/x")
    condition: dict[str, Any] = {"StringEquals": {VIA_SERVICE: p.via()}}
    if any(a in ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant") for a in actions):
        condition["Bool"] = {GRANT_FOR_AWS: "true"}
    return {
        "Sid": f"BYOKCustomerKey{p.purpose.value.capitalize()}",
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": key_arn,
        "Condition": condition,
    }


def _other_account(key_arn: str) -> str:
    account = key_arn.split(":")[4]
    return "000000000000" if account != "000000000000" else "000000000001"


def check_identity(
    key_policy: Policy | None,
    identity: IdentityPolicies,
    purpose: Purpose | str,
    key_arn: str,
    platform_role_arn: str,
) -> ContractCheck:
    """PASS when the identity side allows every required request (with the key policy, when
    known, by the cross-account rules); FAIL naming the requests and the operator's fix."""
    p = parties(purpose, key_arn, platform_role_arn)
    required = [e for e in expectations(p) if e.must_allow]
    refused: list[tuple[Expectation, Any]] = []
    for e in required:
        got = decide(_request(e, key_arn), key_policy, identity, key_account=p.customer_account)
        if Side.IDENTITY in got.denied_by:
            refused.append((e, got))
    if not refused:
        return ContractCheck(
            IDENTITY_CHECK_ID,
            CheckStatus.PASS,
            "the platform role's identity policies allow every required request",
        )
    explicit = [e for e, got in refused if got.identity is Decision.EXPLICIT_DENY]
    actions = sorted({e.action for e, _ in refused})
    evidence = tuple(
        {
            "request": e.describe(),
            "identity": str(got.identity),
            "decision": str(got.decision),
            "actor": OPERATOR,
        }
        for e, got in refused
    )
    if explicit:
        message = (
            f"an explicit Deny in the platform role's identity policies (or its permissions "
            f"boundary) refuses {', '.join(sorted({e.action for e in explicit}))}; the platform "
            f"operator must remove it"
        )
        fix: tuple[dict[str, Any], ...] = (
            {
                "op": "remove-deny",
                "actor": OPERATOR,
                "where": "platform role identity policies / permissions boundary",
                "actions": sorted({e.action for e in explicit}),
                "policies": list(identity.names),
            },
        )
    else:
        message = (
            f"no identity-based policy of the platform role allows {', '.join(actions)} on "
            f"{key_arn}; the platform operator must add it to the platform role (not the "
            f"customer's key policy)"
        )
        fix = (
            {
                "op": "add-identity-statement",
                "actor": OPERATOR,
                "where": "platform role identity policy (platform/platform-role.yaml)",
                "statement": identity_statement(p.purpose, key_arn, actions),
            },
        )
    return ContractCheck(IDENTITY_CHECK_ID, CheckStatus.FAIL, message, fix=fix, evidence=evidence)


def identity_text(check: ContractCheck) -> str:
    """The identity half for people, after the key policy's report (its fix is the operator's)."""
    lines = ["", "platform role identity policies (the platform operator's half):"]
    lines.append(f"  {check.status.value.upper():<4}  {check.id}  {check.message}")
    for ev in check.evidence[:5]:
        lines.append(f"  identity {ev['identity']} for {ev['request']}")
    if len(check.evidence) > 5:
        lines.append(f"  ... and {len(check.evidence) - 5} more requests")
    for op in check.fix:
        if op["op"] == "add-identity-statement":
            lines.append(f"  fix ({op['actor']}): add to the {op['where']}:")
            lines += ["    " + ln for ln in json.dumps(op["statement"], indent=2).splitlines()]
        else:
            lines.append(
                f"  fix ({op['actor']}): remove the Deny of {', '.join(op['actions'])} from "
                f"the {op['where']} ({', '.join(op['policies']) or 'unnamed'})"
            )
    return "\n".join(lines) + "\n"
