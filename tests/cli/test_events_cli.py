"""``byok events parse``: the trigger for each kind of event, and one-line errors (exit 2)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from event_samples import AURORA_KEY, EVENTS_DIR, S3_KEY

from byok.cli import main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["events", "parse", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("name", "kind", "key_arn"),
    [
        ("disable_key", "api_call", S3_KEY),
        ("put_key_policy_alias_keyid", "api_call", AURORA_KEY),
        ("rotate_key_service_event", "service_event", S3_KEY),
        ("delete_key_service_event", "service_event", S3_KEY),
        ("kms_cmk_deletion", "kms_native", S3_KEY),
        ("kms_imported_key_material_expiration", "kms_native", S3_KEY),
        ("key_access_error", "key_access_error", S3_KEY),
        ("rds_cluster_event", "rds_cluster", None),
    ],
)
def test_parse_prints_trigger(capsys, name, kind, key_arn):
    code, out, err = _run(capsys, str(EVENTS_DIR / "key_events" / f"{name}.json"))
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert set(result) >= {
        "kind",
        "key_arn",
        "account",
        "region",
        "event_name",
        "event_time",
        "event_id",
        "evidence",
    }
    assert (result["kind"], result["key_arn"]) == (kind, key_arn)
    assert "ignored" not in result


def test_alias_event_shows_new_policy_as_evidence(capsys):
    _, out, _ = _run(capsys, str(EVENTS_DIR / "key_events" / "put_key_policy_alias_keyid.json"))
    evidence = json.loads(out)["evidence"]
    assert json.loads(evidence["policy"])["Version"] == "2012-10-17"


def test_rds_event_shows_cluster(capsys):
    _, out, _ = _run(capsys, str(EVENTS_DIR / "key_events" / "rds_cluster_event.json"))
    assert json.loads(out)["cluster_id"] == "byok-demo-aurora"


def test_failed_call_is_marked_ignored(capsys):
    code, out, _ = _run(capsys, str(EVENTS_DIR / "key_events" / "failed_disable_key.json"))
    result = json.loads(out)
    assert code == 0
    assert result["ignored"] == "failed API call (AccessDenied)"
    assert result["evidence"]["failed"] is True


def test_text_format(capsys):
    path = str(EVENTS_DIR / "key_events" / "schedule_key_deletion.json")
    code, out, _ = _run(capsys, path, "--format", "text")
    assert code == 0
    lines = out.splitlines()
    assert "kind: api_call" in lines
    assert f"key_arn: {S3_KEY}" in lines
    assert "evidence.pendingWindowInDays: 7" in lines
    assert "evidence.keyState: PendingDeletion" in lines


def test_stdin(capsys, monkeypatch):
    text = (EVENTS_DIR / "sweep" / "scheduled_event.json").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, _ = _run(capsys, "-")
    assert code == 0
    assert json.loads(out)["kind"] == "schedule"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": "0",', "not valid JSON (Expecting property name"),
        ("[]", "event: expected a JSON object"),
        ("{}", "id: required"),
    ],
)
def test_malformed_input_exits_2_with_one_line(capsys, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = _run(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert message in err


def test_missing_event_time_names_the_field(capsys, tmp_path):
    event = json.loads((EVENTS_DIR / "key_events" / "disable_key.json").read_text())
    del event["detail"]["eventTime"]
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    code, _, err = _run(capsys, str(path))
    assert code == 2
    assert err == "byok: error: detail.eventTime: required\n"


def test_missing_file(capsys, tmp_path):
    code, _, err = _run(capsys, str(tmp_path / "nope.json"))
    assert code == 2
    assert "FILE: file not found" in err


def test_real_process_prints_no_traceback(tmp_path):
    path = tmp_path / "alias_only.json"
    event = json.loads((EVENTS_DIR / "key_events" / "put_key_policy_alias_keyid.json").read_text())
    event["detail"]["resources"] = []
    path.write_text(json.dumps(event))
    proc = subprocess.run(
        [sys.executable, "-m", "byok.cli", "events", "parse", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "alias" in proc.stderr and proc.stderr.count("\n") == 1
