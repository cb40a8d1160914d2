"""``validate``: run every registered check over the gathered facts. ONE code path for all triggers.

Pure: the same facts, role and clock always give the same report, whatever event asked for it.
That is what makes duplicate and out-of-order events harmless: the trigger is recorded on the
report for the audit trail, but it never changes a verdict.
"""

from __future__ import annotations

from datetime import datetime

from byok.identifiers import RoleArn
from byok.models import (
    CheckResult,
    CheckStatus,
    Environment,
    Purpose,
    Trigger,
    ValidationReport,
)
from byok.reasons import ReasonCode
from byok.times import parse_time
from byok.validation import (  # noqa: F401  (registration)
    checks_key,
    checks_policy,
    checks_probe,
    checks_role,
)
from byok.validation.facts import Facts
from byok.validation.registry import REGISTRY, Check, CheckContext

__all__ = ["validate"]


def validate(
    env: Environment,
    facts: Facts,
    *,
    platform_role_arn: str,
    now: datetime,
    trigger: Trigger | None = None,
) -> ValidationReport:
    """Validate one environment from its facts; ``now`` is the report's ``checked_at``."""
    role = str(RoleArn.parse(platform_role_arn, "platform_role_arn"))
    now = parse_time(now, "now")
    ctx = CheckContext(env=env, facts=facts, platform_role_arn=role, now=now, trigger=trigger)
    results: list[CheckResult] = []
    for check in REGISTRY.values():
        for purpose in check.purposes:
            if facts.access_error is not None:
                results.append(_no_access(check, ctx, purpose))
            else:
                results.extend(check.run(ctx, purpose))
    return ValidationReport(
        environment_id=env.environment_id,
        checked_at=now,
        checks=tuple(results),
        trigger=trigger,
    )


def _no_access(check: Check, ctx: CheckContext, purpose: Purpose) -> CheckResult:
    """Without the platform role nothing could be observed: every check is an ERROR."""
    error = ctx.facts.access_error
    if error is None:  # pragma: no cover - guarded by the caller
        raise ValueError("no access error")
    reason = ReasonCode.TRANSIENT_ERROR if error.transient else ReasonCode.PLATFORM_ROLE_UNAVAILABLE
    return check.result(
        ctx,
        purpose,
        reason,
        f"could not assume the platform role ({error.code})",
        status=CheckStatus.ERROR,
        error=error,
    )
