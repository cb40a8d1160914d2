"""A refusal by the platform role's own IAM policy is the platform operator's problem.

AWS names the side that refused in the AccessDenied message ("because no identity-based policy
allows ..." / "with an explicit deny in an identity-based policy" versus "... resource-based
policy"); ``reason_for_error`` maps the identity side to ``PLATFORM_ROLE_DENIES`` (who acts: the
platform operator), the key policy side to the customer's ``POLICY_DENIES_PLATFORM``. A change
whose reasons are all the operator's never notifies the customer.
"""

from __future__ import annotations

import pytest

from byok.models import HealthStatus
from byok.reasons import Actor, ReasonCode, get_reason, operator_only
from byok.validation.facts import FactError
from byok.validation.interpret import reason_for_error

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
WHO = "User: arn:aws:sts::444455556666:assumed-role/byok-platform/byok-guard-acme"


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        (
            "AccessDeniedException",
            f"{WHO} is not authorized to perform: kms:Decrypt on resource: {KEY} because no "
            "identity-based policy allows the kms:Decrypt action",
            ReasonCode.PLATFORM_ROLE_DENIES,
        ),
        (
            "AccessDenied",
            f"{WHO} is not authorized to perform: kms:GenerateDataKey on resource: {KEY} with an "
            "explicit deny in an identity-based policy",
            ReasonCode.PLATFORM_ROLE_DENIES,
        ),
        (
            "AccessDeniedException",
            f"{WHO} is not authorized to perform: kms:Decrypt on resource: {KEY} because no "
            "resource-based policy allows the kms:Decrypt action",
            ReasonCode.POLICY_DENIES_PLATFORM,
        ),
    ],
)
def test_the_side_named_in_the_message_decides_who_acts(code, message, reason) -> None:
    assert (
        reason_for_error(FactError(code, message, transient=False, operation="GetObject")) == reason
    )


def test_platform_role_denies_is_the_operators_and_never_told_to_the_customer() -> None:
    entry = get_reason(ReasonCode.PLATFORM_ROLE_DENIES)
    assert entry.actor is Actor.PLATFORM_OPERATOR
    assert entry.impact_for(None) is HealthStatus.KEY_UNUSABLE
    assert entry.fix_template.startswith("Platform operator (not the customer)")
    assert operator_only(("PLATFORM_ROLE_DENIES",))
    assert not operator_only(("PLATFORM_ROLE_DENIES", "KEY_DISABLED"))  # the customer must act too
    assert not operator_only(())


def test_the_planner_notifies_nobody_for_an_operator_only_change() -> None:
    from datetime import UTC, datetime

    from byok.models import Environment
    from byok.remediation.model import ActionKind, HealthChange, RemediationContext
    from byok.remediation.plan import plan

    env = Environment.create(
        environment_id="acme",
        customer_account="111122223333",
        region="eu-west-1",
        s3_key_arn=KEY,
        aurora_key_arn=KEY.replace("1234abcd", "5678abcd"),
        bucket="platform-data-acme",
        cluster_id="acme-db",
    )
    ctx = RemediationContext(environment=env, now=datetime.now(UTC))

    def change(reasons: tuple[str, ...]) -> HealthChange:
        return HealthChange(
            environment_id="acme",
            previous_status=HealthStatus.HEALTHY,
            status=HealthStatus.KEY_UNUSABLE,
            reasons=reasons,
            fixes=(),
            errors=(),
            since="2026-12-01T09:00:00+00:00",
            checked_at="2026-12-01T09:00:00+00:00",
        )

    operator = [a.kind for a in plan(change(("PLATFORM_ROLE_DENIES",)), ctx)]
    assert operator == [ActionKind.PAUSE_WRITES]
    customer = [a.kind for a in plan(change(("KEY_DISABLED",)), ctx)]
    assert ActionKind.NOTIFY in customer
