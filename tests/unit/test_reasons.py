"""Walk THE reason catalogue: every code declared once, complete, and the only codes in use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from byok.models import HealthStatus
from byok.reasons import REASONS, Actor, ReasonCode, Severity, get_reason

ROOT = Path(__file__).resolve().parents[2]
#: UPPER_SNAKE strings in the tree that look like reason codes but name something else
NOT_REASONS = {
    "KEY_UNUSABLE",  # a health status
    "KEY_MATERIAL_EXPIRES",  # a KMS ExpirationModel
    "KEY_MATERIAL_DOES_NOT_EXPIRE",
    "KEY_STATE_REASONS",
    "KEY_ARNS",
    "POLICY_NAME",
    "KEY_HEALTH_API_CALLS",  # constants of byok.events
    "KEY_HEALTH_SERVICE_EVENTS",
}
_REASON_LIKE = re.compile(
    r"[\"'`]((?:KEY|POLICY|CLUSTER|S3)_[A-Z0-9_]+)[\"'`]"  # looks like one of ours
    r"|reasons?[\"']?\s*[:=]\s*[\[(]?\s*[\"']([A-Z][A-Z0-9]*_[A-Z0-9_]+)[\"']"  # reason=...
)


def test_every_code_has_exactly_one_complete_entry() -> None:
    assert set(REASONS) == set(ReasonCode)
    for code, entry in REASONS.items():
        assert entry.code is code and code.value == code.name
        assert entry.summary.endswith(".") and entry.actor in Actor
        assert entry.severity in Severity
        impacts = {entry.impact, *entry.impact_by_purpose.values()}
        if HealthStatus.KEY_UNUSABLE in impacts:
            assert entry.severity is Severity.CRITICAL, code
        elif HealthStatus.AT_RISK in impacts:
            assert entry.severity is Severity.WARNING, code
        else:
            assert entry.severity is Severity.INFO, code


def test_what_the_customer_must_fix_comes_with_a_fix() -> None:
    for code, entry in REASONS.items():
        if entry.actor is Actor.CUSTOMER and entry.severity is Severity.CRITICAL:
            assert entry.fix_template, code


def test_errors_that_prove_nothing_are_the_platform_operators() -> None:
    for code in (
        ReasonCode.TRANSIENT_ERROR,
        ReasonCode.CHECK_FAILED,
        ReasonCode.PLATFORM_ROLE_UNAVAILABLE,
        ReasonCode.VALIDATION_UNAVAILABLE,
    ):
        entry = get_reason(code)
        assert entry.impact is None and entry.actor is Actor.PLATFORM_OPERATOR


def test_only_the_deletion_reason_counts_down_to_a_deletion_date() -> None:
    assert [c for c, r in REASONS.items() if r.deletion_deadline] == [
        ReasonCode.KEY_PENDING_DELETION
    ]


def test_lookup_by_text_and_unknown_codes() -> None:
    assert get_reason("KEY_DISABLED") is REASONS[ReasonCode.KEY_DISABLED]
    assert ReasonCode.KEY_DISABLED == "KEY_DISABLED"  # on the wire it is its text
    with pytest.raises(Exception, match="unknown reason code 'IMPORTED_MATERIAL_EXPIRING'"):
        get_reason("IMPORTED_MATERIAL_EXPIRING")


@pytest.mark.parametrize("folder", ["layers", "functions", "tests", "events", "docs", "emulator"])
def test_no_code_test_sample_or_doc_names_a_reason_that_does_not_exist(folder: str) -> None:
    unknown: dict[str, str] = {}
    for path in (ROOT / folder).rglob("*"):
        if path.suffix not in {".py", ".json", ".md", ".txt"} or not path.is_file():
            continue
        for found in _REASON_LIKE.findall(path.read_text(errors="replace")):
            name = found[0] or found[1]
            if name not in REASONS and name not in NOT_REASONS:
                unknown.setdefault(name, str(path.relative_to(ROOT)))
    assert not unknown, unknown
