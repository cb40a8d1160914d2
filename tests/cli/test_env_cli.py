"""``byok env``: in-process against moto (mock_aws), and once as a real process against moto
server through AWS_ENDPOINT_URL, the way the demo uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from cli_env import (
    ACCOUNT,
    OTHER_KEY,
    REGION,
    ROLE,
    S3_KEY,
    TABLES,
    cli_store,
    register_args,
    run,
)
from moto import mock_aws
from moto.server import ThreadedMotoServer

from byok.health import decide
from byok.models import CheckResult, CheckStatus, HealthStatus, TriggerKind, ValidationReport
from byok.store import Store, create_tables


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from cli_store(monkeypatch)


# ---- register / list / show ----------------------------------------------------------------


def test_register_list_show(aws: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *register_args(), "--no-validate", "--format", "json")
    assert code == 0
    assert json.loads(out)["registered"]["s3_key_arn"] == S3_KEY
    assert aws.get_environment("acme-prod").cluster_id == "acme-prod-db"
    assert aws.list_audit("acme-prod")[0]["type"] == "registered"

    code, out, _ = run(capsys, "env", "list", "--format", "json", *TABLES)
    assert code == 0
    assert [(r["environment_id"], r["status"]) for r in json.loads(out)] == [("acme-prod", None)]

    code, out, _ = run(capsys, "env", "list", *TABLES)
    assert "acme-prod" in out and "NOT_CHECKED" in out

    code, out, _ = run(capsys, "env", "show", "acme-prod", "--format", "json", *TABLES)
    assert code == 0
    assert json.loads(out) == {
        "environment": aws.get_environment("acme-prod").to_dict(),
        "health": None,
    }


def test_tables_from_environment_variables(
    aws: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENTS_TABLE", "t-env")
    monkeypatch.setenv("AUDIT_TABLE", "t-audit")
    args = [a for a in register_args() if a not in TABLES]
    assert run(capsys, *args, "--no-validate")[0] == 0
    assert aws.get_environment("acme-prod").bucket == "acme-prod-data"


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--environment-id", "Acme_Prod", "environment_id"),
        ("--customer-account", "12345", "customer_account"),
        ("--region", "mars-1", "region"),
        ("--s3-key-arn", "alias/foo", "s3_key_arn"),
        ("--aurora-key-arn", S3_KEY, "aurora_key_arn"),
        ("--bucket", "No_Such", "bucket"),
        ("--cluster-id", "1-bad", "cluster_id"),
    ],
)
def test_register_bad_input_exit_2_names_field(
    aws: Store, capsys: pytest.CaptureFixture[str], flag: str, value: str, field: str
) -> None:
    code, _, err = run(capsys, *register_args(**{flag: value}), "--no-validate")
    assert code == 2
    assert err.startswith(f"byok: error: {field}:")
    assert "Traceback" not in err
    assert aws.list_environments() == []


def test_register_reused_key_exit_2(aws: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, *register_args(), "--no-validate")[0] == 0
    code, _, err = run(
        capsys, *register_args("other", **{"--aurora-key-arn": OTHER_KEY}), "--no-validate"
    )
    assert code == 2  # refused like bad input, the field named
    assert "s3_key_arn: key" in err and "already used by environment 'acme-prod'" in err
    assert [e.environment_id for e in aws.list_environments()] == ["acme-prod"]


def test_register_bad_platform_role_writes_nothing(
    aws: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, *register_args(), "--platform-role-arn", "role/x")
    assert code == 2 and err.startswith("byok: error: platform_role_arn:")
    assert aws.list_environments() == []


def test_show_unknown_environment(aws: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "env", "show", "nope", *TABLES)
    assert code == 1
    assert "environment_id: no environment 'nope'" in err
    for command in ("show", "validate"):
        code, _, err = run(capsys, "env", command, "Not_An_Id", *TABLES)
        assert code == 2 and err.startswith("byok: error: environment_id:")


def test_missing_tables_are_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with mock_aws():
        code, _, err = run(capsys, "env", "list", *TABLES)
    assert code == 1
    assert "t-env" in err and "tables created" in err and "Traceback" not in err


# ---- validate through byok.service ---------------------------------------------------------


@dataclass
class StandInDeps:
    store: Store


def stand_in_service(
    impact: HealthStatus, calls: list[Any], roles: list[str | None] | None = None
) -> types.ModuleType:
    """A stand-in for ``byok.service`` (being written by the validation engineer): it decides
    with the real ``byok.health`` and writes with the real store on moto."""
    roles = [] if roles is None else roles

    def from_environment(environ: dict[str, str]) -> StandInDeps:
        roles.append(environ.get("PLATFORM_ROLE_ARN"))
        return StandInDeps(Store(environ["ENVIRONMENTS_TABLE"], environ["AUDIT_TABLE"]))

    def validate_environment(env_id: str, trigger: Any, deps: StandInDeps) -> Any:
        calls.append((env_id, trigger))
        check = CheckResult(
            "key-state",
            CheckStatus.PASS if impact is HealthStatus.HEALTHY else CheckStatus.FAIL,
            reason=None if impact is HealthStatus.HEALTHY else "KEY_DISABLED",
            fix=None if impact is HealthStatus.HEALTHY else f"aws kms enable-key --key-id {S3_KEY}",
            impact=impact,
        )
        previous = deps.store.get_flag(env_id)
        transition = decide(previous, ValidationReport(env_id, trigger.event_time, (check,)))
        deps.store.put_flag(transition.flag, previous.checked_at if previous else None)
        return transition

    module = types.ModuleType("byok.service")
    module.Deps = types.SimpleNamespace(from_environment=from_environment)  # type: ignore[attr-defined]
    module.validate_environment = validate_environment  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize(
    ("impact", "exit_code"), [(HealthStatus.HEALTHY, 0), (HealthStatus.KEY_UNUSABLE, 1)]
)
def test_validate_runs_the_service_and_reports_the_stored_flag(
    aws: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    impact: HealthStatus,
    exit_code: int,
) -> None:
    calls: list[Any] = []
    roles: list[str | None] = []
    monkeypatch.setitem(sys.modules, "byok.service", stand_in_service(impact, calls, roles))
    run(capsys, *register_args(), "--no-validate")
    code, out, _ = run(
        capsys,
        "env",
        "validate",
        "acme-prod",
        "--format",
        "json",
        "--platform-role-arn",
        ROLE,
        *TABLES,
    )
    assert code == exit_code
    result = json.loads(out)
    assert result["health"]["status"] == impact.value
    assert result["outcome"]["flag"]["status"] == impact.value
    ((env_id, trigger),) = calls
    assert env_id == "acme-prod" and trigger.kind is TriggerKind.MANUAL
    assert trigger.account == ACCOUNT and trigger.region == REGION
    assert roles == [ROLE]
    assert "ENVIRONMENTS_TABLE" not in os.environ  # the CLI passes its tables, leaks nothing

    code, out, _ = run(capsys, "env", "show", "acme-prod", *TABLES)
    assert f"health            {impact.value}" in out


def test_register_runs_first_validation(
    aws: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    monkeypatch.setitem(
        sys.modules, "byok.service", stand_in_service(HealthStatus.KEY_UNUSABLE, calls)
    )
    code, out, _ = run(capsys, *register_args())
    assert code == 1  # registered, and like `env validate`: an unusable key exits 1
    assert len(calls) == 1 and calls[0][1].event_name == "byok env register"
    assert "KEY_UNUSABLE" in out and f"aws kms enable-key --key-id {S3_KEY}" in out
    assert aws.get_flag("acme-prod").status is HealthStatus.KEY_UNUSABLE  # type: ignore[union-attr]


def test_validate_without_service_is_a_clear_error(
    aws: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "byok.service", None)  # import fails
    code, _, err = run(capsys, *register_args())
    assert code == 1 and "first validation not completed" in err
    assert aws.get_environment("acme-prod")  # registration stands
    code, _, err = run(capsys, "env", "validate", "acme-prod", *TABLES)
    assert code == 1 and "byok.service" in err and "not available" in err


# ---- a real process against moto server ----------------------------------------------------


def test_cli_process_against_moto_server() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        create_tables(
            boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint),
            "byok-environments",
            "byok-audit",
        )
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": REGION}
        env.pop("ENVIRONMENTS_TABLE", None)
        env.pop("AUDIT_TABLE", None)
        byok = [sys.executable, "-m", "byok.cli"]
        args = [a for a in register_args() if a not in TABLES]
        reg = subprocess.run(
            [*byok, *args, "--no-validate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parent,
        )
        assert reg.returncode == 0, reg.stderr
        again = subprocess.run(
            [*byok, *args, "--no-validate"], env=env, capture_output=True, text=True, timeout=60
        )
        assert again.returncode == 2
        assert "environment_id: environment 'acme-prod' is already registered" in again.stderr
        listed = subprocess.run(
            [*byok, "env", "list", "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert [r["environment_id"] for r in json.loads(listed.stdout)] == ["acme-prod"]
    finally:
        server.stop()


# ---- the real validation path (byok.service + byok_emulator on moto) -----------------------


def test_register_and_validate_with_the_real_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI acting as the platform account: register runs a real first validation
    (HEALTHY); disabling the S3 key makes `validate` report KEY_UNUSABLE with the fix."""
    from byok_world import AUDIT_TABLE, ENVIRONMENTS_TABLE, ROLE_ARN, build_world

    import byok_emulator

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with mock_aws(), byok_emulator.behaviour():
        world = build_world(register=False)
        creds = world.platform.get_credentials()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)  # the CLI's default session
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)  # acts as the platform
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
        e = world.env
        tables = ["--environments-table", ENVIRONMENTS_TABLE, "--audit-table", AUDIT_TABLE]
        register = [
            "env", "register", "--environment-id", e.environment_id,
            "--customer-account", e.customer_account, "--region", e.region,
            "--s3-key-arn", e.s3_key_arn, "--aurora-key-arn", e.aurora_key_arn,
            "--bucket", e.bucket, "--cluster-id", e.cluster_id,
            "--platform-role-arn", ROLE_ARN, "--format", "json", *tables,
        ]  # fmt: skip
        code, out, err = run(capsys, *register)
        assert code == 0, err
        assert json.loads(out)["validation"]["health"]["status"] == "HEALTHY", out

        world.customer_kms.disable_key(KeyId=e.s3_key_arn)
        code, out, _ = run(
            capsys, "env", "validate", e.environment_id, "--platform-role-arn", ROLE_ARN, *tables
        )
        assert code == 1
        assert "KEY_UNUSABLE" in out and "KEY_DISABLED" in out
        assert f"aws kms enable-key --key-id {e.s3_key_arn}" in out
        assert world.store.get_flag(e.environment_id).status is HealthStatus.KEY_UNUSABLE


# ---- incidents (rebuilt from the audit trail) ----------------------------------------------


def test_incidents_from_audit(aws: Store, capsys: pytest.CaptureFixture[str]) -> None:
    for at, status, reasons in [
        ("2026-11-25T04:00:00Z", "KEY_UNUSABLE", ["KEY_DISABLED"]),
        ("2026-11-25T04:30:00Z", "HEALTHY", []),
        ("2026-11-25T05:00:00Z", "AT_RISK", ["KEY_MATERIAL_EXPIRING"]),
    ]:
        record = {"type": "health_changed", "status": status, "reasons": reasons,
                  "checked_at": at}  # fmt: skip
        aws.append_audit("acme-prod", record, at=at)
    code, out, _ = run(capsys, "env", "incidents", "acme-prod", "--format", "json", *TABLES)
    assert code == 0
    report = json.loads(out)
    assert [(i["open"], i["reasons"]) for i in report] == [
        (False, ["KEY_DISABLED"]),
        (True, ["KEY_MATERIAL_EXPIRING"]),
    ]
    assert report[0]["duration"] == "30m 0s"
    code, out, _ = run(capsys, "env", "incidents", "acme-prod", *TABLES)
    assert "OPEN" in out and "closed 2026-11-25T04:30:00+00:00" in out  # times.to_wire
    code, out, _ = run(capsys, "env", "incidents", "quiet-env", *TABLES)
    assert code == 0 and "no incidents recorded for quiet-env" in out
    code, _, err = run(capsys, "env", "incidents", "Bad_Id", *TABLES)
    assert code == 2 and err.startswith("byok: error: environment_id:")
