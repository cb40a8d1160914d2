"""Every ``--format json`` output has a schema in docs/schemas/, and real outputs validate.

The env outputs of the operator's session are validated in test_operations.py (a real
emulator); here the rest, from real runs in-process: ``policy``, ``events parse`` on every
sample, and ``env`` with the real validation service on moto + byok_emulator. The demo's JSON is
validated in tests/demo.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from doc_schemas import SCHEMAS, assert_valid, schema_for
from doc_snippets import ROOT
from moto import mock_aws

from byok.cli import build_parser, main
from byok.models import HealthStatus, TriggerKind
from byok.store.base import MUTABLE_FIELDS

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = "arn:aws:iam::444455556666:role/byok-platform"


def _json_commands() -> list[str]:
    """``"policy render"``, ``"env list"``... : every command with a ``--format json``."""
    found = []

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*path, name))
            elif "--format" in action.option_strings and "json" in (action.choices or ()):
                found.append(" ".join(path))

    walk(build_parser([]), ())
    return sorted(found)


def test_every_json_output_has_a_schema_and_every_schema_an_output() -> None:
    commands = _json_commands()
    assert "env deregister" in commands and "demo" in commands
    for command in commands:
        schema_for(command)  # exists and is a valid 2020-12 schema
    files = sorted(p.stem.replace("-", " ") for p in SCHEMAS.glob("*.json"))
    assert files == commands


def test_schemas_name_the_values_the_code_uses() -> None:
    show = schema_for("env show")
    assert set(show["$defs"]["health"]["properties"]["status"]["enum"]) == set(HealthStatus)
    kinds = schema_for("events parse")["properties"]["kind"]["enum"]
    assert set(kinds) == {k.value for k in TriggerKind}
    changes = schema_for("env update")["properties"]["changes"]["properties"]
    assert tuple(changes) == MUTABLE_FIELDS


def _run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert out.strip(), err
    return code, json.loads(out)


def test_policy_outputs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    contract = ["--key-arn", KEY, "--platform-role-arn", ROLE]
    for purpose in ("s3", "aurora"):
        for full in ([], ["--full"]):
            code, rendered = _run_json(
                capsys, "policy", "render", "--purpose", purpose, *contract, *full
            )
            assert code == 0
            assert_valid(rendered, schema_for("policy render"), f"render {purpose} {full}")
    policy = tmp_path / "policy.json"
    _, whole = _run_json(capsys, "policy", "render", "--purpose", "s3", *contract, "--full")
    statements = whole["Statement"]
    open_to_all = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
                   "Resource": "*"}  # fmt: skip
    for verdict, doc in (
        (0, whole),
        (1, {**whole, "Statement": [*statements[:1], open_to_all]}),
    ):
        policy.write_text(json.dumps(doc))
        code, report = _run_json(
            capsys, "policy", "check", "--policy", str(policy), "--purpose", "s3", *contract,
            "--format", "json",
        )  # fmt: skip
        assert code == verdict
        assert_valid(report, schema_for("policy check"), f"check (exit {verdict})")
        code, decision = _run_json(
            capsys, "policy", "explain", "--policy", str(policy), "--principal",
            "arn:aws:iam::999999999999:user/x", "--action", "kms:Decrypt", "--format", "json",
        )  # fmt: skip
        assert_valid(decision, schema_for("policy explain"), "explain")


def test_events_parse_on_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    parsed = 0
    for sample in sorted((ROOT / "events").glob("*/*.json")):
        code = main(["events", "parse", str(sample)])
        out, _ = capsys.readouterr()
        if code == 0:  # samples of other functions are refused (exit 2), not parsed
            assert_valid(json.loads(out), schema_for("events parse"), str(sample))
            parsed += 1
    assert parsed >= 10


def test_env_outputs_with_the_real_validation(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from byok_world import AUDIT_TABLE, ENVIRONMENTS_TABLE, ROLE_ARN, build_world

    import byok_emulator

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.delenv("HEALTH_EVENT_BUS", raising=False)
    with mock_aws(), byok_emulator.behaviour():
        world = build_world(register=False)
        creds = world.platform.get_credentials()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
        e = world.env
        common = ["--environments-table", ENVIRONMENTS_TABLE, "--audit-table", AUDIT_TABLE,
                  "--format", "json"]  # fmt: skip
        role = ["--platform-role-arn", ROLE_ARN]
        register = [
            "env", "register", "--environment-id", e.environment_id,
            "--customer-account", e.customer_account, "--region", e.region,
            "--s3-key-arn", e.s3_key_arn, "--aurora-key-arn", e.aurora_key_arn,
            "--bucket", e.bucket, "--cluster-id", e.cluster_id, *role, *common,
        ]  # fmt: skip
        outputs = []
        outputs.append(("env register", *_run_json(capsys, *register)))
        outputs.append(("env list", *_run_json(capsys, "env", "list", *common)))
        world.customer_kms.disable_key(KeyId=e.s3_key_arn)
        outputs.append(
            (
                "env validate",
                *_run_json(capsys, "env", "validate", e.environment_id, *role, *common),
            )
        )
        outputs.append(("env show", *_run_json(capsys, "env", "show", e.environment_id, *common)))
        world.customer_kms.enable_key(KeyId=e.s3_key_arn)
        update = ["env", "update", e.environment_id, "--cluster-id", "acme-db2", *role, *common]
        outputs.append(("env update", *_run_json(capsys, *update)))  # no such cluster: fails
        outputs.append(
            ("env incidents", *_run_json(capsys, "env", "incidents", e.environment_id, *common))
        )
        dereg = ["env", "deregister", e.environment_id, *common]
        outputs.append(("env deregister", *_run_json(capsys, *dereg)))
    codes = {command: code for command, code, _ in outputs}
    assert codes == {
        "env register": 0,
        "env list": 0,
        "env validate": 1,
        "env show": 0,
        "env update": 0,  # AT_RISK: still works, exit 0
        "env incidents": 0,
        "env deregister": 0,
    }
    for command, _, output in outputs:
        assert_valid(output, schema_for(command), command)
    statuses = {command: out for command, _, out in outputs}
    assert statuses["env validate"]["health"]["status"] == "KEY_UNUSABLE"
    assert statuses["env update"]["changes"]["cluster_id"]["to"] == "acme-db2"
    health = statuses["env update"]["validation"]["health"]
    assert (health["status"], health["reasons"]) == ("AT_RISK", ["CLUSTER_NOT_FOUND"])
