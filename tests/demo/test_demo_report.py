"""The demo's text layout: within 100 columns, nothing cut inside a word, commands that paste."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from soak import examples

from byok_emulator.demo import report
from byok_emulator.demo.runner import DemoRun, StepResult
from byok_emulator.demo.scenarios import Expect

ARN = "arn:aws:kms:eu-west-1:111122223333:key/8a9abbd3-6dac-4fb4-b35f-17b899a84cba"
CODES = ["KEY_PENDING_DELETION", "CLUSTER_INACCESSIBLE_RECOVERABLE", "KEY_DISABLED",
         "POLICY_DENIES_PLATFORM", "IMPORTED_MATERIAL_EXPIRING"]  # fmt: skip


def step(index: int = 6, **over: object) -> StepResult:
    values: dict = {
        "index": index,
        "scenario": "aurora-key-deletion",
        "step": "cancel-deletion-and-enable",
        "title": "CancelKeyDeletion + EnableKey; remediation starts the cluster",
        "event": "ScheduleKeyDeletion aurora + RDS cluster event",
        "routed": ["key_events:KmsApiCall", "key_events:RdsClusterEvent"] + ["remediate:X"] * 4,
        "flag": "KEY_UNUSABLE",
        "reasons": CODES[:2],
        "fix": f"aws kms cancel-key-deletion --key-id {ARN} && aws kms enable-key --key-id {ARN}",
        "error": f"KMSInvalidStateException: {ARN} is pending deletion.",
        "latency_ms": 6190.2,
        "expect": Expect("KEY_UNUSABLE"),
        "writes_paused": True,
        "cluster_status": "inaccessible-encryption-credentials-recoverable",
        "notifications": [{"severity": "critical", "subject": "[byok-guard] URGENT: " + "x " * 60}],
        "remediation": ["pause_writes", "notify"],
        "facts": {"last_transient_error": "ThrottlingException: " + "Reduce the frequency. " * 6},
    }
    values.update(over)
    return StepResult(**values)


@given(st.lists(st.sampled_from(CODES), max_size=5))
@settings(max_examples=examples(50, 1000))
def test_reasons_cell_holds_whole_codes_and_says_how_many_more(codes: list[str]) -> None:
    cell = report.fit_codes(codes)
    assert len(cell) <= report.REASONS_WIDTH
    if not codes:
        assert cell == "-"
        return
    if cell.endswith("(details)"):
        assert any(len(code) > report.REASONS_WIDTH - 8 for code in codes)
        return
    shown = cell.split(" +")[0].split(", ")
    assert shown == codes[: len(shown)]  # whole codes, in order
    hidden = len(codes) - len(shown)
    assert cell.endswith(f" +{hidden} more") if hidden else "+" not in cell


def test_rows_and_details_fit_and_cut_nothing() -> None:
    s = step()
    assert len(report.row(s)) <= 100 and len(report.HEADER) <= 100
    assert report.row(s).split()[:4] == ["6", "cancel-deletion-and-enable", "KEY_UNUSABLE",
                                         "KEY_PENDING_DELETION"]  # fmt: skip
    lines = report.details(s)
    assert max(len(line) for line in lines) <= 100
    words = " ".join(lines).split()
    for text in (s.error, s.notifications[0]["subject"], s.facts["last_transient_error"]):
        for word in text.split():
            assert word in words  # wrapped at spaces only: every word whole


def test_a_fix_command_pastes_back_into_the_same_command() -> None:
    s = step()
    lines = report.details(s)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("fix"))
    command = []
    for line in lines[start:]:
        command.append(line.strip().removeprefix("fix").strip().removesuffix("\\").strip())
        if not line.endswith("\\"):
            break
    assert " ".join(command) == s.fix
    assert any(line.strip().startswith("&& aws kms enable-key") for line in lines)


def test_a_policy_fix_names_its_statements() -> None:
    fix = f'Add these statements to the key policy of {ARN}:\n[{{"Sid": "A"}}, {{"Sid": "B"}}]'
    lines = report.details(step(fix=fix))
    text = " ".join(" ".join(lines).split())
    assert "A, B (in full: demo-steps.json)" in text and '"Sid"' not in text


def test_picture_is_drawn_for_every_kind_of_step(tmp_path: Path) -> None:
    steps = [
        step(1, flag="HEALTHY", reasons=[], writes_paused=False, notifications=[], fix=None,
             cluster_status="available"),
        step(2),
        step(3, flag="AT_RISK", reasons=CODES[3:], failures=["flag AT_RISK, expected HEALTHY"]),
        step(4, flag=None, cluster_status="starting", facts={"throttled_calls": 16}),
    ]  # fmt: skip
    run = DemoRun(steps, 1000.0, 2000.0, "http://127.0.0.1:1", "remediate:HealthChanged")
    path = report.timeline(run, tmp_path / "t.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert max(len(line) for line in report.summary(run, path).splitlines()) <= 100


@pytest.mark.parametrize(
    ("status", "label"),
    [
        ("available", "available"),
        ("inaccessible-encryption-credentials-recoverable", "no key access\n(recoverable)"),
        ("inaccessible-encryption-credentials", "no key access"),
    ],
)
def test_cluster_labels(status: str, label: str) -> None:
    assert report._cluster_label(status)[0] == label
