"""The platform's half of the handshake: the platform role's own IAM policies.

Cross-account use needs the key policy AND the platform role's identity policy to allow each
request (``byok.policy.handshake``). This check reads the identity half (gathered from IAM in the
platform account, ``Facts.platform_identity``) and decides every required contract request by
both halves (the key policy when its text is known); an identity-side refusal is reported as
``PLATFORM_ROLE_DENIES``, whose fix is addressed to the platform operator, never the customer
(the customer's key policy may be perfect). Key-policy refusals stay with the ``key-policy``
check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from byok.errors import InputError
from byok.models import CheckResult, CheckStatus, Purpose
from byok.reasons import ReasonCode
from byok.validation.registry import Check, CheckContext, register_check


def operator_fix_values(
    ctx: CheckContext, purpose: Purpose, actions: list[str] | None = None
) -> dict[str, Any]:
    """``PLATFORM_ROLE_DENIES``'s fix fields: the identity statement the platform role needs."""
    from byok.contract import expectations, parties
    from byok.contract.identity import identity_statement

    key_arn = ctx.env.key_arn(purpose)
    if actions is None:
        p = parties(purpose, key_arn, ctx.platform_role_arn)
        actions = sorted({e.action for e in expectations(p) if e.must_allow})
    statement = identity_statement(purpose, key_arn, actions)
    return {
        "statements": json.dumps(statement, indent=2),
        "platform_role_arn": ctx.platform_role_arn,
    }


# The platform role's own policies are read by the function's role (byok.aws.iam_policies), not
# by the platform role.
@register_check(
    "platform-role-policy",
    permissions=(
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
    ),
    inputs=("platform_identity", "key.policy"),
)
class PlatformRolePolicy(Check):
    """The platform role's identity policies must allow what the contract requires of it."""

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        identity = ctx.facts.platform_identity
        if identity is None:
            yield self.skipped(ctx, purpose, "platform role identity policies not read")
            return
        if identity.error is not None:
            if identity.error.transient:
                yield self.could_not_check(
                    ctx, purpose, identity.error, "platform role identity policies"
                )
            else:
                yield self.skipped(
                    ctx,
                    purpose,
                    f"platform role identity policies not readable ({identity.error.code}); "
                    "the probes decide",
                )
            return
        from byok.contract.identity import check_identity
        from byok.policy import parse_policy
        from byok.policy.handshake import identity_from_texts

        key_arn = ctx.env.key_arn(purpose)
        facts = ctx.key(purpose)
        try:
            parsed = identity_from_texts(
                identity.policies,
                ctx.platform_role_arn,
                identity.boundary[1] if identity.boundary else None,
            )
            key_policy = parse_policy(facts.policy) if facts.policy else None
        except InputError as exc:
            yield self.skipped(ctx, purpose, f"policy could not be parsed: {exc.message}")
            return
        try:
            found = check_identity(key_policy, parsed, purpose, key_arn, ctx.platform_role_arn)
        except InputError as exc:  # parties the contract refuses (same-account keys)
            yield self.skipped(ctx, purpose, f"not checked: {exc.message}")
            return
        evidence: dict[str, Any] = {
            "policies": [name for name, _ in identity.policies],
            "boundary": identity.boundary[0] if identity.boundary else None,
            "key_policy_known": key_policy is not None,
        }
        if found.status is CheckStatus.PASS:
            yield self.result(ctx, purpose, None, found.message, evidence=evidence)
            return
        evidence["refused"] = list(found.evidence)
        actions = sorted({str(ev["request"]).split(" ")[1] for ev in found.evidence})
        yield self.result(
            ctx,
            purpose,
            ReasonCode.PLATFORM_ROLE_DENIES,
            found.message,
            evidence=evidence,
            fix_values=operator_fix_values(ctx, purpose, actions),
        )
