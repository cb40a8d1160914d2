"""Issue 10, tried as an attacker would: every case ends with exit 2 and one stderr line naming
the field, never a traceback, and (for the registry) nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_env import ACCOUNT, AURORA_KEY, REGION, ROLE, S3_KEY, cli_store, register_args, run
from event_samples import EVENTS_DIR, load

from byok.contract import render_policy
from byok.store import Store

FULL_WIDTH = "\uff11\uff11\uff11\uff11\uff12\uff12\uff12\uff12\uff13\uff13\uff13\uff13"
DEEP = "[" * 1000 + "]" * 1000


def refused(capsys: pytest.CaptureFixture[str], field: str, *argv: str) -> str:
    """Run; assert exit 2, nothing on stdout, exactly one line on stderr naming ``field``."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"byok: error: {field}"), lines[0]
    assert "Traceback" not in err and "None" not in err and "{'" not in err
    return lines[0]


# ---- registry ----------------------------------------------------------------------------------


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from cli_store(monkeypatch)


def table_items(store: Store) -> list[dict[str, object]]:
    items = []
    for table in (store.environments_table, store.audit_table):
        items += store.client.scan(TableName=table, ConsistentRead=True)["Items"]
    return items


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"--customer-account": FULL_WIDTH}, "customer_account"),
        ({"--customer-account": ACCOUNT + "\n"}, "customer_account"),
        ({"--region": REGION + "\n"}, "region"),
        ({"--s3-key-arn": S3_KEY + "\n"}, "s3_key_arn"),
        ({"--s3-key-arn": S3_KEY.replace("arn:aws:", "arn:aws-cn:")}, "s3_key_arn"),
        ({"--s3-key-arn": S3_KEY.replace(ACCOUNT, FULL_WIDTH)}, "s3_key_arn"),
        ({"--bucket": "192.168.5.4"}, "bucket"),
        ({"--bucket": "acme-data\n"}, "bucket"),
        ({"--cluster-id": "acme-db\n"}, "cluster_id"),
        ({"--environment-id": "acme\n"}, "environment_id"),
    ],
)
def test_register_refuses_hostile_spellings_and_writes_nothing(
    store: Store, capsys: pytest.CaptureFixture[str], over: dict[str, str], field: str
) -> None:
    refused(capsys, field, *register_args(**over), "--no-validate")
    assert table_items(store) == []


def test_register_refuses_a_platform_role_in_the_customer_account(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    own = f"arn:aws:iam::{ACCOUNT}:role/byok-platform"
    line = refused(capsys, "platform_role_arn", *register_args(role=own), "--no-validate")
    assert "customer account" in line
    assert table_items(store) == []


def test_register_refuses_without_a_platform_role(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    refused(capsys, "platform_role_arn: required", *register_args(role=None), "--no-validate")
    refused(capsys, "platform_role_arn", *register_args(role=ROLE + "\n"), "--no-validate")
    assert table_items(store) == []


def test_register_takes_the_platform_role_from_the_environment(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLATFORM_ROLE_ARN", "arn:aws-cn:iam::999988887777:role/byok")
    refused(capsys, "platform_role_arn: partition", *register_args(role=None), "--no-validate")
    monkeypatch.setenv("PLATFORM_ROLE_ARN", ROLE)
    assert run(capsys, *register_args(role=None), "--no-validate")[0] == 0


def test_a_key_with_a_newline_cannot_be_claimed_twice(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *register_args(), "--no-validate")[0] == 0
    before = table_items(store)
    other = {"--aurora-key-arn": AURORA_KEY.replace("2222-2222-2222", "3333-3333-3333")}
    refused(
        capsys, "s3_key_arn", *register_args("globex", **other, **{"--s3-key-arn": S3_KEY + "\n"})
    )
    assert table_items(store) == before


def test_a_bucket_cannot_be_claimed_twice(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *register_args(), "--no-validate")[0] == 0
    before = table_items(store)
    other = {
        "--s3-key-arn": S3_KEY.replace("1111-1111-1111", "3333-3333-3333"),
        "--aurora-key-arn": AURORA_KEY.replace("2222-2222-2222", "4444-4444-4444"),
        "--bucket": "acme-prod-data",
    }
    line = refused(capsys, "bucket", *register_args("globex", **other), "--no-validate")
    assert "already used by environment 'acme-prod'" in line
    assert table_items(store) == before


def test_table_names_are_input(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    refused(capsys, "environments_table", "env", "list", "--environments-table", "x\n")


# ---- policy render / check / explain -------------------------------------------------------------


def test_render_refuses_a_role_arn_with_a_newline(capsys: pytest.CaptureFixture[str]) -> None:
    refused(
        capsys, "platform_role_arn", "policy", "render", "--purpose", "s3",
        "--key-arn", S3_KEY, "--platform-role-arn", ROLE + "\n",
    )  # fmt: skip


def test_check_refuses_a_full_width_platform_account(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    role = f"arn:aws:iam::{FULL_WIDTH}:role/byok-platform"
    path = tmp_path / "p.json"
    path.write_text(json.dumps(render_policy("s3", S3_KEY, ROLE, full=True)))
    refused(
        capsys, "platform_role_arn", "policy", "check", "--policy", str(path), "--purpose", "s3",
        "--key-arn", S3_KEY, "--platform-role-arn", role,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["check", "explain"])
def test_deep_or_endless_policies_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"Statement": ' + DEEP + "}")
    args = (
        ["--purpose", "s3", "--key-arn", S3_KEY, "--platform-role-arn", ROLE]
        if command == "check"
        else ["--principal", ROLE, "--action", "kms:Decrypt"]
    )
    line = refused(capsys, "--policy", "policy", command, "--policy", str(deep), *args)
    assert "nested deeper than 64" in line
    line = refused(capsys, "--policy", "policy", command, "--policy", "/dev/zero", *args)
    assert "larger than the 32768-byte limit" in line


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--principal", ROLE + "\n"),
        ("--principal", FULL_WIDTH),
        ("--action", "kms:Decrypt\n"),
        ("--resource", S3_KEY + "\n"),
        ("--context", "kms:ViaService\n=x"),
    ],
)
def test_explain_refuses_hostile_flags(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flag: str, value: str
) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(render_policy("s3", S3_KEY, ROLE)))
    args = {"--principal": ROLE, "--action": "kms:Decrypt", flag: value}
    refused(
        capsys, flag, "policy", "explain", "--policy", str(path),
        *[x for kv in args.items() for x in kv],
    )  # fmt: skip


# ---- events parse ------------------------------------------------------------------------------


def _event_file(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "event.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (DEEP, "nested deeper than 64"),
        ('{"id": "a", "id": "b"}', 'duplicate JSON key "id"'),
        ('{"id": NaN}', "NaN is not valid JSON"),
    ],
)
def test_events_parse_refuses_what_the_policy_parser_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, fragment: str
) -> None:
    line = refused(capsys, "FILE", "events", "parse", _event_file(tmp_path, text))
    assert fragment in line


def test_events_parse_accepts_a_bom_like_the_policy_parser(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    raw = (EVENTS_DIR / "key_events" / "disable_key.json").read_bytes()
    code, out, _ = run(capsys, "events", "parse", _event_file(tmp_path, b"\xef\xbb\xbf" + raw))
    assert code == 0 and json.loads(out)["kind"] == "api_call"


def test_events_parse_reads_at_most_the_event_limit(capsys: pytest.CaptureFixture[str]) -> None:
    line = refused(capsys, "FILE", "events", "parse", "/dev/zero")
    assert "262144-byte limit" in line


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]}, "an SQS message batch"),
        ({"Records": [{"eventSource": "aws:s3", "s3": {}}]}, "an S3 event notification"),
    ],
)
def test_events_parse_says_what_a_foreign_payload_is(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, payload: object, what: str
) -> None:
    line = refused(capsys, "event", "events", "parse", _event_file(tmp_path, json.dumps(payload)))
    assert what in line and "id: required" not in line


def test_events_parse_messages_quote_json_not_python(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    event = load("disable_key")
    event["detail"]["resources"] = [{"ARN": None}]
    line = refused(
        capsys,
        "detail.resources[0].ARN",
        "events",
        "parse",
        _event_file(tmp_path, json.dumps(event)),
    )
    assert line.endswith("got null")


def test_events_parse_with_stdin_closed_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "byok.cli", "events", "parse", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(0),
    )
    assert proc.returncode == 2
    assert proc.stderr == "byok: error: FILE: stdin is closed, nothing to read\n"


# ---- demo --------------------------------------------------------------------------------------


def test_demo_out_an_existing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    existing = tmp_path / "taken"
    existing.write_text("keep me")
    line = refused(capsys, "--out", "demo", "--out", str(existing))
    assert "not a directory" in line
    assert existing.read_text() == "keep me"
