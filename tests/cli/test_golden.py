"""Golden outputs of ``byok policy``, ``byok events`` and ``byok env``: exit code, stdout and
stderr byte for byte, so a refactoring cannot change what users and scripts read.

The files in ``tests/cli/golden/`` were written by the CLI as it was before the structural
refactoring (issue 14); ``BYOK_UPDATE_GOLDEN=1`` rewrites them after an intended change (review
the diff). Inputs are fixed: the samples of ``events/``, policies rendered or written here,
and a registry on moto filled with fixed times.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from byok.cli import main
from byok.health import HealthFlag
from byok.models import HealthStatus

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).with_name("golden")
SAMPLES = ROOT / "events" / "key_events"
UPDATE = os.environ.get("BYOK_UPDATE_GOLDEN") == "1"

CUSTOMER = "111122223333"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
S3_KEY = f"arn:aws:kms:{REGION}:{CUSTOMER}:key/11111111-1111-1111-1111-111111111111"
AURORA_KEY = f"arn:aws:kms:{REGION}:{CUSTOMER}:key/22222222-2222-2222-2222-222222222222"
ROLE = "arn:aws:iam::444455556666:role/byok-platform"
CONTRACT = ["--key-arn", KEY, "--platform-role-arn", ROLE]
TABLES = ["--environments-table", "g-env", "--audit-table", "g-audit"]


def _check(capsys: pytest.CaptureFixture[str], name: str, argv: list[str]) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    got = f"exit {code}\n--- stdout\n{out}--- stderr\n{err}".replace(str(ROOT), "<repo>")
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"no golden output {path.name}: run with BYOK_UPDATE_GOLDEN=1"
    assert got == path.read_text(), f"output of `byok {' '.join(argv[:2])}` changed ({name})"


# ---- byok policy -------------------------------------------------------------------------------

#: policies beside the rendered ones: open to everyone, and the S3 statements without ViaService
_OPEN = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    ],
}
_POLICY_FILES = ("rendered-s3", "rendered-aurora", "open", "no-via-service")


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from byok.contract import render_policy
    from byok.models import Purpose

    folder = tmp_path_factory.mktemp("policies")
    s3 = render_policy(Purpose.S3, KEY, ROLE, full=True)
    no_via = json.loads(json.dumps(s3))
    for statement in no_via["Statement"]:
        statement.get("Condition", {}).get("StringEquals", {}).pop("kms:ViaService", None)
    texts = {
        "rendered-s3": s3,
        "rendered-aurora": render_policy(Purpose.AURORA, KEY, ROLE, full=True),
        "open": _OPEN,
        "no-via-service": no_via,
    }
    for name, policy in texts.items():
        (folder / f"{name}.json").write_text(json.dumps(policy, indent=2))
    return folder


def _policy_argv(argv: list[str], folder: Path) -> list[str]:
    return [str(folder / a[1:]) if a.startswith("@") else a for a in argv]


POLICY_CASES = [
    ("policy-render-s3", ["policy", "render", "--purpose", "s3", *CONTRACT]),
    ("policy-render-aurora-full", ["policy", "render", "--purpose", "aurora", "--full",
                                   *CONTRACT]),
    ("policy-render-s3-json", ["policy", "render", "--purpose", "s3", "--format", "json",
                               *CONTRACT]),
    *(
        (f"policy-check-{name}-{fmt}", ["policy", "check", "--policy", f"@{name}.json",
          "--purpose", "aurora" if "aurora" in name else "s3", "--format", fmt, *CONTRACT])
        for name in _POLICY_FILES
        for fmt in ("text", "json")
    ),
    (
        "policy-explain-allow",
        ["policy", "explain", "--policy", "@rendered-s3.json", "--principal", ROLE, "--action",
         "kms:Decrypt", "--resource", KEY, "--context",
         "kms:ViaService=s3.eu-west-1.amazonaws.com"],
    ),
    (
        "policy-explain-deny-json",
        ["policy", "explain", "--policy", "@rendered-s3.json", "--principal", ROLE, "--action",
         "kms:Decrypt", "--format", "json"],
    ),
    (
        "policy-explain-open",
        ["policy", "explain", "--policy", "@open.json", "--principal",
         "arn:aws:iam::999999999999:root", "--action", "kms:Decrypt"],
    ),
    ("policy-render-bad-arn", ["policy", "render", "--purpose", "s3", "--key-arn", "nope",
                               "--platform-role-arn", ROLE]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "argv"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_policy_output(
    policies: Path, capsys: pytest.CaptureFixture[str], name: str, argv: list[str]
) -> None:
    _check(capsys, name, _policy_argv(argv, policies))


# ---- byok events ------------------------------------------------------------------------------

EVENT_CASES = [
    (f"events-{p.stem}-{fmt}", ["events", "parse", str(p), "--format", fmt])
    for p in sorted(SAMPLES.glob("*.json"))
    for fmt in ("json", "text")
]


@pytest.mark.parametrize(("name", "argv"), EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
def test_events_output(capsys: pytest.CaptureFixture[str], name: str, argv: list[str]) -> None:
    _check(capsys, name, argv)


# ---- byok env ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Iterator[None]:
    """Two environments, one flag, a closed incident: every value fixed (no clock involved)."""
    from byok.store import Store, create_tables

    saved = {k: os.environ.pop(k, None) for k in ("ENVIRONMENTS_TABLE", "AUDIT_TABLE")}
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client, "g-env", "g-audit")
        store = Store("g-env", "g-audit", client=client)
        code = main(["env", "register", "--environment-id", "acme-prod", "--customer-account",
                     CUSTOMER, "--region", REGION, "--s3-key-arn", S3_KEY, "--aurora-key-arn",
                     AURORA_KEY, "--bucket", "acme-prod-data", "--cluster-id", "acme-prod-db",
                     "--no-validate", "--platform-role-arn", ROLE, *TABLES])  # fmt: skip
        assert code == 0
        store.put_flag(
            HealthFlag(
                environment_id="acme-prod",
                status=HealthStatus.KEY_UNUSABLE,
                reasons=("KEY_DISABLED",),
                fixes=(f"aws kms enable-key --key-id {S3_KEY}",),
                errors=(f"DisabledException: {S3_KEY} is disabled.",),
                since="2026-11-25T04:00:00+00:00",
                checked_at="2026-11-25T04:05:00+00:00",
                details=[{"id": "key-state", "reason": "KEY_DISABLED", "purpose": "s3"}],
            )
        )
        for at, status, reasons in (
            ("2026-11-25T04:00:00Z", "KEY_UNUSABLE", ["KEY_DISABLED"]),
            ("2026-11-25T04:30:00Z", "HEALTHY", []),
        ):
            record = {"type": "health_changed", "status": status, "reasons": reasons}
            store.append_audit("acme-prod", {**record, "checked_at": at}, at=at)
        yield
    for name, value in saved.items():
        if value is not None:
            os.environ[name] = value


ENV_CASES = [
    ("env-list", ["env", "list", *TABLES]),
    ("env-list-json", ["env", "list", "--format", "json", *TABLES]),
    ("env-show", ["env", "show", "acme-prod", *TABLES]),
    ("env-show-json", ["env", "show", "acme-prod", "--format", "json", *TABLES]),
    ("env-show-unknown", ["env", "show", "nobody", *TABLES]),
    ("env-incidents", ["env", "incidents", "acme-prod", *TABLES]),
    ("env-incidents-json", ["env", "incidents", "acme-prod", "--format", "json", *TABLES]),
    ("env-incidents-none", ["env", "incidents", "quiet-env", *TABLES]),
]


@pytest.mark.parametrize(("name", "argv"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_env_output(
    registry: None, capsys: pytest.CaptureFixture[str], name: str, argv: list[str]
) -> None:
    _check(capsys, name, argv)


def test_register_output(capsys: pytest.CaptureFixture[str]) -> None:
    other = [k.replace("1111-1111-1111-111111111111", "3333-3333-3333-333333333333") for k in
             (S3_KEY, AURORA_KEY)]  # fmt: skip
    with mock_aws():
        from byok.store import create_tables

        create_tables(boto3.client("dynamodb", region_name=REGION), "g-env", "g-audit")
        argv = ["env", "register", "--environment-id", "beta-prod", "--customer-account",
                CUSTOMER, "--region", REGION, "--s3-key-arn", other[0], "--aurora-key-arn",
                AURORA_KEY.replace("2222-2222-2222-222222222222", "4444-4444-4444-444444444444"),
                "--bucket", "beta-prod-data", "--cluster-id", "beta-prod-db", "--no-validate",
                "--format", "json", "--platform-role-arn", ROLE, *TABLES]  # fmt: skip
        _check(capsys, "env-register-json", argv)
