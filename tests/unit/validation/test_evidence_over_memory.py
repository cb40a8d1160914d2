"""Evidence over memory: a remembered key policy never outranks a live probe that passes, and two
policies of one CloudTrail second are decided by the key's live truth, not delivery order."""

from __future__ import annotations

import json
from dataclasses import replace

from validation_facts import AURORA_KEY, NOW, ROLE, S3_KEY, environment, healthy_facts, with_key

from byok.contract import render_policy
from byok.health import decide
from byok.models import CheckStatus, HealthStatus, Purpose
from byok.reasons import ReasonCode
from byok.validation import FactError, validate

KEYS = {Purpose.S3: S3_KEY, Purpose.AURORA: AURORA_KEY}
EVENT = "PutKeyPolicy event e1 at 2026-11-25T03:59:59Z"


def good(purpose: Purpose) -> str:
    return json.dumps(render_policy(purpose, KEYS[purpose], ROLE, full=True))


def bad(purpose: Purpose) -> str:
    """The same policy with the platform's use of the key removed (health checks kept)."""
    policy = render_policy(purpose, KEYS[purpose], ROLE, full=True)
    kept = ("EnableIAMUserPermissions", "BYOKPlatformHealthChecks")
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] in kept]
    return json.dumps(policy)


def remembered(purpose: Purpose, text: str, *tied: str, probe_ok: bool = True):
    facts = with_key(
        healthy_facts(), purpose, policy=text, policy_source=EVENT, policy_alternatives=tied
    )
    if not probe_ok:
        denied = FactError(
            "AccessDenied",
            f"User: {ROLE} is not authorized to perform: kms:GenerateDataKey on {S3_KEY}",
            transient=False,
            operation="PutObject",
        )
        probe = replace(facts.s3_probe, ok=False, failed_step="put", error=denied)
        facts = replace(facts, s3_probe=probe)
    return facts


def status(facts) -> HealthStatus:
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    return decide(None, report).flag.status


def policy_check(facts, purpose: Purpose):
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    (check,) = [c for c in report.checks if c.check_id == "key-policy" and c.purpose is purpose]
    return check


def test_a_passing_canary_overrules_a_remembered_denial() -> None:
    """The restore's event was lost: memory says the platform is shut out, the live canary
    just wrote and read with the key. No KEY_UNUSABLE, the evidence says why."""
    facts = remembered(Purpose.S3, bad(Purpose.S3))
    check = policy_check(facts, Purpose.S3)
    assert (check.status, check.reason) == (CheckStatus.SKIP, None)
    assert check.evidence["overruled_by"] == "s3-probe"
    assert status(facts) is HealthStatus.HEALTHY


def test_a_refused_canary_and_a_remembered_denial_agree() -> None:
    facts = remembered(Purpose.S3, bad(Purpose.S3), probe_ok=False)
    assert policy_check(facts, Purpose.S3).reason == ReasonCode.POLICY_DENIES_PLATFORM
    assert status(facts) is HealthStatus.KEY_UNUSABLE


def test_a_policy_read_live_is_never_overruled() -> None:
    facts = with_key(
        healthy_facts(), Purpose.S3, policy=bad(Purpose.S3), policy_source="GetKeyPolicy"
    )
    assert policy_check(facts, Purpose.S3).reason == ReasonCode.POLICY_DENIES_PLATFORM


def test_a_tie_is_decided_by_the_canary_whatever_the_delivery_order() -> None:
    """A bad policy and its restore in the same CloudTrail second, delivered in either order."""
    for primary, other in ((bad, good), (good, bad)):
        facts = remembered(Purpose.S3, primary(Purpose.S3), other(Purpose.S3))
        assert status(facts) is HealthStatus.HEALTHY
        refused = remembered(Purpose.S3, primary(Purpose.S3), other(Purpose.S3), probe_ok=False)
        assert status(refused) is HealthStatus.KEY_UNUSABLE  # the canary itself says so


def test_an_aurora_tie_without_live_evidence_raises_no_alarm_and_no_all_clear() -> None:
    for primary, other in ((bad, good), (good, bad)):
        facts = remembered(Purpose.AURORA, primary(Purpose.AURORA), other(Purpose.AURORA))
        check = policy_check(facts, Purpose.AURORA)
        assert (check.status, check.impact) == (CheckStatus.SKIP, None)
        assert check.evidence["tied_policies"] == 2
    agreeing = remembered(Purpose.AURORA, bad(Purpose.AURORA), bad(Purpose.AURORA) + " ")
    assert policy_check(agreeing, Purpose.AURORA).reason == ReasonCode.POLICY_DENIES_PLATFORM


def test_an_aurora_memory_without_a_tie_still_stands() -> None:
    """No probe can contradict an Aurora policy: the remembered denial stays AT_RISK."""
    facts = remembered(Purpose.AURORA, bad(Purpose.AURORA))
    assert policy_check(facts, Purpose.AURORA).reason == ReasonCode.POLICY_DENIES_PLATFORM
    assert status(facts) is HealthStatus.AT_RISK
