"""``byok demo`` end to end, as a user runs it: a subprocess with ``--format json``.

The demo is its own test of the whole system (emulator, customer stack, template rules,
handlers, remediation): it exits 0 only if every step reached its expected flag and side
effects. Here: the full run once, one ``--scenario`` run, and bad input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byok.cli import demo as demo_cli

ROOT = Path(__file__).resolve().parents[2]

#: step -> expected flag, in the order the demo plays them
EXPECTED = {
    "onboarding": "HEALTHY",
    "disable-s3-key": "KEY_UNUSABLE",
    "enable-s3-key": "HEALTHY",
    "aurora-policy-drift": "AT_RISK",
    "aurora-policy-restored": "HEALTHY",
    "schedule-aurora-deletion": "KEY_UNUSABLE",
    "cancel-deletion-and-enable": "HEALTHY",
    "throttling-storm": "HEALTHY",
    "lost-events-sweep": "KEY_UNUSABLE",
    "lost-events-recovered": "HEALTHY",
}


def _byok(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    return subprocess.run(
        [sys.executable, "-m", "byok.cli", "demo", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def full_text_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The full demo as `make demo` runs it (text); the steps are read from demo-steps.json."""
    out = tmp_path_factory.mktemp("demo-out")
    done = _byok(out=out)
    assert done.stdout.strip(), done.stderr[-3000:]
    return done, out


@pytest.fixture(scope="module")
def full_run(
    full_text_run: tuple[subprocess.CompletedProcess[str], Path],
) -> tuple[int, list[dict[str, Any]], Path]:
    done, out = full_text_run
    return done.returncode, json.loads((out / "demo-steps.json").read_text()), out


def test_text_output_fits_100_columns_and_prints_each_step_once(
    full_text_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    done, out = full_text_run
    for stream in (done.stdout, done.stderr, (out / "demo-summary.txt").read_text()):
        wide = [line for line in stream.splitlines() if len(line) > 100]
        assert wide == []
    rows = [
        line for line in done.stdout.splitlines() if line[:2].strip().isdigit() and "  " in line
    ]
    table = [r for r in rows if r.split()[1] in EXPECTED]
    assert [r.split()[1] for r in table] == list(EXPECTED)  # one row per step, in order, once
    assert done.stdout.count("What happened at each step:") == 1
    assert done.stderr.strip() == ""  # no second copy of the progress
    summary = (out / "demo-summary.txt").read_text()
    assert "\n".join(done.stdout.splitlines()[:-1]) + "\n" == summary  # the terminal = the file


def test_json_outputs_match_their_schema(
    full_run: tuple[int, list[dict], Path], tmp_path: Path
) -> None:
    from doc_schemas import assert_valid, schema_for

    _, steps, _ = full_run
    assert_valid(steps, schema_for("demo"), "byok demo (demo-steps.json)")


def test_every_step_reaches_its_expected_flag(full_run: tuple[int, list[dict], Path]) -> None:
    code, steps, _ = full_run
    failures = {s["step"]: s["failures"] for s in steps if not s["ok"]}
    assert failures == {}
    assert code == 0
    assert [(s["step"], s["flag"]) for s in steps] == list(EXPECTED.items())
    for step in steps:
        assert {"step", "flag", "reasons", "latency_ms"} <= step.keys()
        assert step["latency_ms"] > 0


def test_side_effects_follow_the_flags(full_run: tuple[int, list[dict], Path]) -> None:
    _, steps, _ = full_run
    by_step = {s["step"]: s for s in steps}
    disabled = by_step["disable-s3-key"]
    assert "KEY_DISABLED" in disabled["reasons"]
    assert disabled["writes_paused"] is True
    assert disabled["fix"].startswith("aws kms enable-key --key-id arn:aws:kms:eu-west-1:")
    assert len(disabled["notifications"]) == 1
    assert by_step["enable-s3-key"]["writes_paused"] is False
    deletion = by_step["schedule-aurora-deletion"]
    assert "KEY_PENDING_DELETION" in deletion["reasons"]
    assert deletion["deletion_date"]  # the date the customer must act before
    recovered = by_step["cancel-deletion-and-enable"]
    assert "start_cluster" in recovered["remediation"]
    assert recovered["cluster_status"] == "available"
    storm = by_step["throttling-storm"]
    assert storm["throttled_calls"] > 0 and storm["notifications"] == []


def test_routing_comes_from_the_template_rules(full_run: tuple[int, list[dict], Path]) -> None:
    _, steps, _ = full_run
    by_step = {s["step"]: s for s in steps}
    # the customer's call -> forwarding rule -> byok bus rule; the health change -> remediate
    assert by_step["disable-s3-key"]["routed"] == [
        "key_events:KmsApiCall",
        "remediate:HealthChanged",
    ]
    assert by_step["schedule-aurora-deletion"]["routed"][:2] == [
        "key_events:KmsApiCall",
        "key_events:RdsClusterEvent",
    ]
    assert by_step["lost-events-sweep"]["routed"][:2] == ["sweep:Schedule", "validate:SQS(1)"]
    assert "remediate:HealthChanged" in by_step["lost-events-sweep"]["routed"]
    # a sweep that changes nothing publishes nothing
    assert "remediate:HealthChanged" not in by_step["throttling-storm"]["routed"]


def test_files_are_written(full_run: tuple[int, list[dict], Path]) -> None:
    _, steps, out = full_run
    png = (out / "demo-timeline.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    summary = (out / "demo-summary.txt").read_text()
    assert f"{len(steps)}/{len(steps)} steps as expected" in summary
    # four incidents (S3 disabled, policy drift, deletion, lost events), each closed again
    incidents = summary.split("Incidents (byok env incidents acme-prod):")[1]
    numbered = [line.split(". ")[0].strip() for line in incidents.splitlines() if ". " in line]
    assert numbered[:4] == list("1234")  # incidents wrap within 100 columns
    assert " ".join(incidents.split()).count("closed after") == 4
    assert json.loads((out / "demo-steps.json").read_text()) == steps


def test_one_scenario_runs_after_onboarding(tmp_path: Path) -> None:
    done = _byok("--scenario", "s3-key-disabled", "--format", "json", out=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    steps = json.loads(done.stdout)
    assert [(s["step"], s["flag"]) for s in steps] == [
        ("onboarding", "HEALTHY"),
        ("disable-s3-key", "KEY_UNUSABLE"),
        ("enable-s3-key", "HEALTHY"),
    ]
    assert " 2  disable-s3-key " in done.stderr  # the live rows, on stderr with --format json
    from doc_schemas import assert_valid, schema_for

    assert_valid(steps, schema_for("demo"), "byok demo --scenario --format json")


def test_unknown_scenario_is_bad_input(tmp_path: Path) -> None:
    done = _byok("--scenario", "no-such-thing", out=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "scenario: expected one of onboarding, s3-key-disabled" in done.stderr
    assert 'got "no-such-thing"' in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_knows_the_scenarios_without_importing_the_emulator() -> None:
    from byok_emulator.demo import SCENARIO_NAMES

    assert demo_cli.SCENARIO_NAMES == SCENARIO_NAMES
