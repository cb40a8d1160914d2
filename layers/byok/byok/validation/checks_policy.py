"""The key policy against the BYOK contract (``byok.contract.check_policy``).

The policy text comes from GetKeyPolicy, or, when the platform may not read it, from the
``PutKeyPolicy`` event that announced it (the gatherer records which in ``policy_source``).
A policy that no longer lets the platform through breaks S3 at once (KEY_UNUSABLE) but only puts
a running Aurora cluster AT_RISK: the cluster keeps the grant it took at creation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from byok.errors import InputError
from byok.models import CheckResult, CheckStatus, Purpose
from byok.reasons import ReasonCode
from byok.validation.registry import Check, CheckContext, register_check

#: contract check ids whose failure means the platform cannot do what it needs
_DENIES = frozenset({"required-access"})


def _statements(ctx: CheckContext, purpose: Purpose) -> str:
    from byok.contract import render_statements

    return json.dumps(
        render_statements(purpose, ctx.env.key_arn(purpose), ctx.platform_role_arn), indent=2
    )


@register_check(
    "key-policy", permissions=("kms:GetKeyPolicy",), inputs=("key.policy", "platform_role_arn")
)
class KeyPolicy(Check):
    """The key policy must let the platform role do exactly what the contract needs, no more."""

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        facts = ctx.key(purpose)
        if facts.policy is None:
            yield self._unreadable(ctx, purpose)
            return
        from byok.contract import check_policy

        evidence: dict[str, object] = {"policy_source": facts.policy_source}
        try:
            report = check_policy(
                facts.policy, purpose, ctx.env.key_arn(purpose), ctx.platform_role_arn
            )
        except InputError as exc:  # PolicyError, or parties the contract refuses
            yield self.result(
                ctx,
                purpose,
                ReasonCode.POLICY_UNPARSEABLE,
                f"key policy could not be parsed: {exc.message}",
                status=CheckStatus.WARN,
                evidence=evidence,
            )
            return
        failing = [c for c in report.checks if str(c.status) != "pass"]
        evidence["verdict"] = str(report.verdict)
        evidence["contract"] = [
            {"id": c.id, "status": str(c.status), "message": c.message} for c in failing
        ]
        denies = [c for c in failing if c.id in _DENIES and str(c.status) == "fail"]
        broad = [c for c in failing if c not in denies]
        statements = _statements(ctx, purpose)
        if denies:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.POLICY_DENIES_PLATFORM,
                "; ".join(c.message for c in denies),
                evidence=evidence,
                fix_values={"statements": statements},
            )
        if broad:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.POLICY_TOO_BROAD,
                "; ".join(f"{c.id}: {c.message}" for c in broad),
                status=CheckStatus.WARN,
                evidence=evidence,
                fix_values={"statements": statements},
            )
        if not failing:
            yield self.result(
                ctx, purpose, None, "key policy satisfies the BYOK contract", evidence=evidence
            )

    def _unreadable(self, ctx: CheckContext, purpose: Purpose) -> CheckResult:
        error = ctx.key(purpose).policy_error
        if error is not None and error.transient:
            return self.could_not_check(ctx, purpose, error, "key policy")
        return self.result(
            ctx,
            purpose,
            ReasonCode.POLICY_UNREADABLE,
            "key policy not readable by the platform and no PutKeyPolicy evidence; "
            "the probes decide",
            status=CheckStatus.SKIP,
            error=error,
        )
