"""The key policy against the BYOK contract (``byok.contract.check_policy``).

The policy text comes from GetKeyPolicy, or, when the platform may not read it, from the
``PutKeyPolicy`` event that announced it (the gatherer records which in ``policy_source``).
A policy that no longer lets the platform through breaks S3 at once (KEY_UNUSABLE) but only puts
a running Aurora cluster AT_RISK: the cluster keeps the grant it took at creation.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

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


@functools.lru_cache(maxsize=256)
def _contract(text: str, purpose: Purpose, key_arn: str, platform_role_arn: str) -> Any:
    """``byok.contract.check_policy``, remembered: it is pure, and the sweep judges the same
    remembered text every period (an ``InputError`` is not cached: it raises each time)."""
    from byok.contract import check_policy

    return check_policy(text, purpose, key_arn, platform_role_arn)


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
        evidence: dict[str, object] = {"policy_source": facts.policy_source}
        try:
            report = _contract(
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
        overruled = self._overruled(ctx, purpose, bool(denies), evidence)
        if overruled is not None:
            yield overruled
            return
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

    def _overruled(
        self, ctx: CheckContext, purpose: Purpose, denies: bool, evidence: dict[str, object]
    ) -> CheckResult | None:
        """Evidence over memory: a remembered policy (from events, not GetKeyPolicy) never
        outranks the live S3 canary, and a tie of two texts in one CloudTrail second is decided
        by the key's live truth, never by delivery order. None: the policy stands."""
        facts = ctx.key(purpose)
        if facts.policy_source == "GetKeyPolicy":
            return None
        probe = ctx.facts.s3_probe if purpose is Purpose.S3 else None
        live = None if probe is None else probe.ok
        tied = facts.policy_alternatives
        if tied and len({denies, *(self._denies(ctx, purpose, t) for t in tied)}) > 1:
            evidence["tied_policies"] = len(tied) + 1
            if live is None or not live:
                # Aurora has no probe; a refused S3 canary reports itself: neither text stands
                return self.result(
                    ctx,
                    purpose,
                    None,
                    "two key policies of the same CloudTrail second disagree and no live probe "
                    "tells which is current; re-checked at the next policy event or report",
                    status=CheckStatus.SKIP,
                    evidence=evidence,
                )
            # the live canary passed: the text that lets the platform in is current (below:
            # a denying primary is overruled, an allowing one stands)
        if denies and live:
            evidence["overruled_by"] = "s3-probe"
            return self.result(
                ctx,
                purpose,
                None,
                f"the remembered key policy ({facts.policy_source}) denies the platform, but the "
                "live S3 canary passed: the live probe wins, the remembered policy is outdated",
                status=CheckStatus.SKIP,
                evidence=evidence,
            )
        return None

    @staticmethod
    def _denies(ctx: CheckContext, purpose: Purpose, text: str) -> bool | None:
        try:
            report = _contract(text, purpose, ctx.env.key_arn(purpose), ctx.platform_role_arn)
        except InputError:
            return None
        return any(c.id in _DENIES and str(c.status) == "fail" for c in report.checks)

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
