"""The health state machine: every rule of docs/architecture.md section 4, table-driven, plus
properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from byok.errors import InputError
from byok.health import (
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    REASON_UNAVAILABLE,
    TRANSITIONS,
    Evidence,
    HealthFlag,
    HealthSettings,
    State,
    classify,
    decide,
    health_changed_entry,
    health_changed_event,
)
from byok.models import CheckResult, CheckStatus, HealthStatus, Purpose, ValidationReport
from byok.times import to_wire

ENV = "acme-prod"
T0 = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
KEY = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"

H, R, U, X = (
    HealthStatus.HEALTHY,
    HealthStatus.AT_RISK,
    HealthStatus.KEY_UNUSABLE,
    HealthStatus.UNKNOWN,
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ---- check builders ------------------------------------------------------------------------


def ok(check_id: str = "key-state") -> CheckResult:
    return CheckResult(check_id, CheckStatus.PASS, impact=H)


def disabled() -> CheckResult:
    return CheckResult(
        "key-state",
        CheckStatus.FAIL,
        reason="KEY_DISABLED",
        message="the S3 key is disabled",
        fix=f"aws kms enable-key --key-id {KEY}",
        purpose=Purpose.S3,
        error=f"DisabledException: {KEY} is disabled.",
        impact=U,
    )


def drift() -> CheckResult:
    return CheckResult(
        "policy-contract",
        CheckStatus.WARN,
        reason="POLICY_DENIES_PLATFORM",
        message="Aurora key policy no longer allows grants",
        fix="add the statement ...",
        purpose=Purpose.AURORA,
        impact=R,
    )


def expiring() -> CheckResult:
    return CheckResult(
        "key-material",
        CheckStatus.WARN,
        reason="KEY_MATERIAL_EXPIRING",
        fix="aws kms import-key-material ...",
        impact=R,
    )


def throttled(check_id: str = "s3-probe") -> CheckResult:
    return CheckResult(
        check_id,
        CheckStatus.ERROR,
        reason="THROTTLED",
        error="ThrottlingException: Rate exceeded",
    )


def skipped() -> CheckResult:
    return CheckResult("aurora-cluster", CheckStatus.SKIP)


def report(*checks: CheckResult, minutes: float = 0) -> ValidationReport:
    return ValidationReport(ENV, at(minutes), tuple(checks))


def flag(status: HealthStatus, reasons: tuple[str, ...] = (), **kw: object) -> HealthFlag:
    base: dict[str, object] = {
        "environment_id": ENV,
        "status": status,
        "since": at(-60),
        "checked_at": at(-5),
        "reasons": reasons,
    }
    base.update(kw)
    return HealthFlag(**base)  # type: ignore[arg-type]


EVIDENCE_REPORTS = {
    Evidence.UNUSABLE: report(ok(), disabled(), throttled()),
    Evidence.AT_RISK_COMPLETE: report(ok(), drift()),
    Evidence.AT_RISK_PARTIAL: report(drift(), throttled()),
    Evidence.HEALTHY_COMPLETE: report(ok(), ok("policy"), skipped()),
    Evidence.INCONCLUSIVE: report(ok(), throttled()),
}

PREVIOUS = {
    State.NONE: None,
    State.HEALTHY: flag(H),
    State.AT_RISK: flag(R, ("KEY_MATERIAL_EXPIRING",)),
    State.KEY_UNUSABLE: flag(U, ("KEY_DISABLED",)),
    State.UNKNOWN: flag(X, (REASON_UNAVAILABLE,)),
}


# ---- classification ------------------------------------------------------------------------


@pytest.mark.parametrize("evidence", list(Evidence))
def test_classify_each_evidence(evidence: Evidence) -> None:
    assert classify(EVIDENCE_REPORTS[evidence]) is evidence


def test_classify_ignores_an_impact_on_an_errored_check() -> None:
    bogus = CheckResult("s3-probe", CheckStatus.ERROR, error="timeout", impact=U)
    assert classify(report(ok(), bogus)) is Evidence.INCONCLUSIVE


def test_classify_all_skipped_is_inconclusive() -> None:
    assert classify(report(skipped())) is Evidence.INCONCLUSIVE
    assert classify(report()) is Evidence.INCONCLUSIVE


def test_classify_pass_without_impact_counts_as_healthy() -> None:
    assert classify(report(CheckResult("x", CheckStatus.PASS))) is Evidence.HEALTHY_COMPLETE


# ---- the table -------------------------------------------------------------------------------


def test_table_is_total() -> None:
    assert set(TRANSITIONS) == {(s, e) for s in State for e in Evidence}


EXPECTED = [
    # state, evidence, expected status after ONE report (no sustained failure yet)
    (State.NONE, Evidence.UNUSABLE, U),
    (State.NONE, Evidence.AT_RISK_COMPLETE, R),
    (State.NONE, Evidence.AT_RISK_PARTIAL, R),
    (State.NONE, Evidence.HEALTHY_COMPLETE, H),
    (State.NONE, Evidence.INCONCLUSIVE, X),
    (State.HEALTHY, Evidence.UNUSABLE, U),
    (State.HEALTHY, Evidence.AT_RISK_COMPLETE, R),
    (State.HEALTHY, Evidence.AT_RISK_PARTIAL, R),
    (State.HEALTHY, Evidence.HEALTHY_COMPLETE, H),
    (State.HEALTHY, Evidence.INCONCLUSIVE, H),
    (State.AT_RISK, Evidence.UNUSABLE, U),
    (State.AT_RISK, Evidence.AT_RISK_COMPLETE, R),
    (State.AT_RISK, Evidence.AT_RISK_PARTIAL, R),
    (State.AT_RISK, Evidence.HEALTHY_COMPLETE, H),
    (State.AT_RISK, Evidence.INCONCLUSIVE, R),
    (State.KEY_UNUSABLE, Evidence.UNUSABLE, U),
    (State.KEY_UNUSABLE, Evidence.AT_RISK_COMPLETE, R),
    (State.KEY_UNUSABLE, Evidence.AT_RISK_PARTIAL, U),
    (State.KEY_UNUSABLE, Evidence.HEALTHY_COMPLETE, H),
    (State.KEY_UNUSABLE, Evidence.INCONCLUSIVE, U),
    (State.UNKNOWN, Evidence.UNUSABLE, U),
    (State.UNKNOWN, Evidence.AT_RISK_COMPLETE, R),
    (State.UNKNOWN, Evidence.AT_RISK_PARTIAL, X),
    (State.UNKNOWN, Evidence.HEALTHY_COMPLETE, H),
    (State.UNKNOWN, Evidence.INCONCLUSIVE, X),
]


@pytest.mark.parametrize(("state", "evidence", "expected"), EXPECTED)
def test_every_transition(state: State, evidence: Evidence, expected: HealthStatus) -> None:
    previous = PREVIOUS[state]
    result = decide(previous, EVIDENCE_REPORTS[evidence])
    assert result.flag.status is expected
    assert result.evidence is evidence
    assert result.previous_status is (previous.status if previous else None)
    assert result.flag.checked_at == at(0)
    if previous is not None and expected is previous.status:
        assert result.flag.since == previous.since  # since moves only with the status
    else:
        assert result.flag.since == at(0)


def test_expected_list_covers_the_whole_table() -> None:
    assert {(s, e) for s, e, _ in EXPECTED} == set(TRANSITIONS)


# ---- individual rules ----------------------------------------------------------------------


def test_disabled_key_gives_reason_fix_and_error_context() -> None:
    result = decide(flag(H), report(ok(), disabled(), drift()))
    f = result.flag
    assert f.status is U
    assert f.reasons == ("KEY_DISABLED", "POLICY_DENIES_PLATFORM")  # worst first
    assert f.fix == f"aws kms enable-key --key-id {KEY}"
    assert f.error == f"DisabledException: {KEY} is disabled."
    assert [d["id"] for d in f.details] == ["key-state", "policy-contract"]
    assert result.changed


def test_transient_failure_holds_the_flag_and_records_it() -> None:
    previous = flag(U, ("KEY_DISABLED",), fixes=("enable",), errors=("DisabledException: x",))
    result = decide(previous, report(throttled(), minutes=1))
    f = result.flag
    assert (f.status, f.reasons, f.fixes, f.errors, f.since) == (
        U,
        ("KEY_DISABLED",),
        ("enable",),
        ("DisabledException: x",),
        previous.since,
    )
    assert f.checked_at == at(1)
    assert f.transient_failures == 1
    assert f.first_transient_at == at(1)
    assert f.last_transient_error == "ThrottlingException: Rate exceeded"
    assert not result.changed


def test_sustained_failure_needs_both_count_and_minutes() -> None:
    s = HealthSettings(unknown_after_failures=3, unknown_after_minutes=15)
    f = flag(H)
    # three failures in 10 minutes: count reached, minutes not -> still HEALTHY
    for minute in (0, 5, 10):
        f = decide(f, report(throttled(), minutes=minute), s).flag
    assert (f.status, f.transient_failures, f.first_transient_at) == (H, 3, at(0))
    # fourth at minute 15: both reached -> UNKNOWN, with the transient error as context
    result = decide(f, report(throttled(), minutes=15), s)
    assert result.flag.status is X
    assert result.changed and result.previous_status is H
    assert result.flag.reasons == ("THROTTLED",)
    assert result.flag.errors == ("ThrottlingException: Rate exceeded",)
    assert result.flag.since == at(15)


def test_minutes_alone_are_not_sustained() -> None:
    s = HealthSettings(unknown_after_failures=3, unknown_after_minutes=15)
    f = decide(flag(H), report(throttled(), minutes=0), s).flag
    f = decide(f, report(throttled(), minutes=60), s).flag
    assert (f.status, f.transient_failures) == (H, 2)


def test_complete_report_resets_transient_counters() -> None:
    f = decide(flag(H), report(throttled(), minutes=0)).flag
    f = decide(f, report(throttled(), minutes=1)).flag
    assert f.transient_failures == 2
    f = decide(f, report(ok(), minutes=2)).flag
    assert (f.transient_failures, f.first_transient_at, f.last_transient_error) == (0, None, None)
    # a new run of failures starts counting again from the new first failure
    f = decide(f, report(throttled(), minutes=3)).flag
    assert (f.transient_failures, f.first_transient_at) == (1, at(3))


def test_unusable_with_errors_still_counts_the_transient_failure() -> None:
    f = decide(flag(H), report(disabled(), throttled())).flag
    assert (f.status, f.transient_failures) == (U, 1)


def test_unknown_recovers_only_on_definitive_evidence() -> None:
    s = HealthSettings(unknown_after_failures=1, unknown_after_minutes=0)
    f = decide(flag(H), report(throttled()), s).flag
    assert f.status is X
    f = decide(f, report(throttled(), minutes=1), s).flag
    assert (f.status, f.since) == (X, at(0))
    f = decide(f, report(ok(), minutes=2), s).flag
    assert (f.status, f.since, f.transient_failures) == (H, at(2), 0)


def test_at_risk_partial_moves_healthy_but_holds_unusable() -> None:
    assert decide(flag(H), report(drift(), throttled())).flag.status is R
    held = decide(flag(U, ("KEY_DISABLED",)), report(drift(), throttled())).flag
    assert (held.status, held.reasons) == (U, ("KEY_DISABLED",))


def test_no_previous_and_only_errors_is_unknown() -> None:
    result = decide(None, report(throttled("key-state"), throttled("s3-probe")))
    assert result.flag.status is X
    assert result.changed and result.previous_status is None
    assert result.flag.transient_failures == 1


def test_all_skipped_without_reason_uses_unavailable_reason() -> None:
    assert decide(None, report(skipped())).flag.reasons == (REASON_UNAVAILABLE,)


def test_changed_when_reasons_change_with_same_status() -> None:
    previous = flag(R, ("KEY_MATERIAL_EXPIRING",))
    same = decide(previous, report(expiring()))
    assert same.flag.status is R and not same.changed
    assert same.flag.since == previous.since
    other = decide(previous, report(drift()))
    assert other.flag.status is R and other.changed
    assert other.flag.since == previous.since  # status unchanged: since unchanged


def test_reason_order_does_not_count_as_change() -> None:
    previous = flag(R, ("POLICY_DENIES_PLATFORM", "KEY_MATERIAL_EXPIRING"))
    assert not decide(previous, report(expiring(), drift())).changed


def test_report_for_another_environment_is_refused() -> None:
    with pytest.raises(InputError, match="environment_id"):
        decide(flag(H), ValidationReport("other-env", at(0), (ok(),)))


def test_bad_checked_at_is_refused() -> None:
    with pytest.raises(InputError, match="checked_at"):
        decide(None, ValidationReport(ENV, "yesterday", (ok(),)))


# ---- settings ------------------------------------------------------------------------------


def test_settings_from_env() -> None:
    s = HealthSettings.from_env({"UNKNOWN_AFTER_FAILURES": "5", "UNKNOWN_AFTER_MINUTES": "2.5"})
    assert (s.unknown_after_failures, s.unknown_after_minutes) == (5, 2.5)
    assert HealthSettings.from_env({}) == HealthSettings(3, 15)
    with pytest.raises(InputError, match="UNKNOWN_AFTER_FAILURES"):
        HealthSettings.from_env({"UNKNOWN_AFTER_FAILURES": "many"})
    with pytest.raises(InputError, match="unknown_after_failures"):
        HealthSettings(unknown_after_failures=0)


# ---- serialisation and event ---------------------------------------------------------------


def test_flag_round_trip() -> None:
    f = decide(flag(H), report(disabled(), throttled())).flag
    data = json.loads(json.dumps(f.to_dict()))
    assert HealthFlag.from_dict(data) == f
    assert HealthFlag.from_dict(data).to_dict() == f.to_dict()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"status": "BROKEN"}, "status"),
        ({"since": "soon"}, "since"),
        ({"checked_at": None}, "checked_at"),
        ({"reasons": "KEY_DISABLED"}, "reasons"),
        ({"transient_failures": -1}, "transient_failures"),
        ({"transient_failures": "x"}, "transient_failures"),
    ],
)
def test_flag_from_bad_dict_names_the_field(patch: dict[str, object], field: str) -> None:
    data = {**flag(H).to_dict(), **patch}
    with pytest.raises(InputError, match=field):
        HealthFlag.from_dict(data)


def test_health_changed_event() -> None:
    transition = decide(flag(H), report(disabled()))
    detail = health_changed_event(transition)
    assert detail == {
        "environment_id": ENV,
        "previous_status": "HEALTHY",
        "status": "KEY_UNUSABLE",
        "reasons": ["KEY_DISABLED"],
        "fixes": [f"aws kms enable-key --key-id {KEY}"],
        "errors": [f"DisabledException: {KEY} is disabled."],
        "since": to_wire(at(0)),
        "checked_at": to_wire(at(0)),
        "details": [disabled().to_dict()],
    }
    entry = health_changed_entry(transition, "byok-bus")
    assert entry["Source"] == EVENT_SOURCE == "byok.guard"
    assert entry["DetailType"] == EVENT_DETAIL_TYPE == "BYOK Environment Health Changed"
    assert entry["EventBusName"] == "byok-bus"
    assert json.loads(entry["Detail"]) == detail


def test_first_flag_event_has_no_previous_status() -> None:
    assert health_changed_event(decide(None, report(ok())))["previous_status"] is None


# ---- properties ----------------------------------------------------------------------------

definitive_checks = st.sampled_from([ok(), ok("policy"), disabled(), drift(), expiring()])
transient_checks = st.sampled_from([throttled(), throttled("key-state"), skipped()])
any_check = st.one_of(definitive_checks, transient_checks)
previous_flags = st.sampled_from(list(PREVIOUS.values()))
health_settings = st.builds(
    HealthSettings,
    unknown_after_failures=st.integers(1, 5),
    unknown_after_minutes=st.sampled_from([0, 1, 15]),
)


@settings(max_examples=200, deadline=None)
@given(
    previous=previous_flags,
    runs=st.lists(st.lists(transient_checks, max_size=3), min_size=1, max_size=6),
    s=health_settings,
)
def test_transient_only_reports_never_reach_unusable_or_healthy(
    previous: HealthFlag | None, runs: list[list[CheckResult]], s: HealthSettings
) -> None:
    current = previous
    for i, checks in enumerate(runs):
        result = decide(current, report(*checks, minutes=i * 7), s)
        before = current.status if current else None
        if result.flag.status is not before:
            assert result.flag.status not in (U, H)
            assert result.flag.status is X
        current = result.flag


@settings(max_examples=200, deadline=None)
@given(previous=previous_flags, checks=st.lists(any_check, max_size=5), s=health_settings)
def test_decide_is_deterministic(
    previous: HealthFlag | None, checks: list[CheckResult], s: HealthSettings
) -> None:
    r = report(*checks)
    assert decide(previous, r, s) == decide(previous, r, s)


@settings(max_examples=200, deadline=None)
@given(previous=previous_flags, checks=st.lists(definitive_checks, min_size=1, max_size=5))
def test_complete_reports_follow_worst_impact(
    previous: HealthFlag | None, checks: list[CheckResult]
) -> None:
    result = decide(previous, report(*checks))
    impacts = {c.impact for c in checks}
    worst = U if U in impacts else R if R in impacts else H
    assert result.flag.status is worst
    assert result.flag.transient_failures == 0
