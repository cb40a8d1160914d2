"""``byok policy render | check | explain`` (docs/architecture.md section 5): output, exit codes
0/1/2,
one clear stderr line on bad input and never a traceback."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byok.cli import main
from byok.contract import render_policy

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{PLATFORM}:role/byok-platform"
CONTRACT = ["--key-arn", KEY, "--platform-role-arn", ROLE]
BYOK = Path(sys.executable).with_name("byok")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def write(tmp_path: Path, policy: Any, name: str = "policy.json") -> str:
    path = tmp_path / name
    path.write_text(policy if isinstance(policy, str) else json.dumps(policy))
    return str(path)


def one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("byok: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# --- render --------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["s3", "aurora"])
def test_render_prints_the_statements_as_json(capsys, purpose) -> None:
    code, out, _ = run(capsys, "policy", "render", "--purpose", purpose, *CONTRACT)
    assert code == 0
    assert json.loads(out) == render_policy(purpose, KEY, ROLE)["Statement"]


def test_render_full_with_administrators_and_no_health_checks(capsys) -> None:
    admin = f"arn:aws:iam::{CUSTOMER}:role/KeyAdmin"
    code, out, _ = run(
        capsys, "policy", "render", "--purpose", "aurora", *CONTRACT,
        "--full", "--no-health-checks", "--administrator", admin,
    )  # fmt: skip
    assert code == 0
    policy = json.loads(out)
    assert policy == render_policy(
        "aurora", KEY, ROLE, full=True, health_checks=False, administrators=[admin]
    )
    assert "BYOKPlatformHealthChecks" not in out


def test_render_text_is_commented_summary_then_json(capsys) -> None:
    code, out, _ = run(capsys, "policy", "render", "--purpose", "s3", *CONTRACT, "--format", "text")
    assert code == 0
    comments = [ln for ln in out.splitlines() if ln.startswith("#")]
    assert any("BYOKPlatformS3ViaService" in ln and "kms:Decrypt" in ln for ln in comments)
    assert any("kms:ViaService=s3.eu-west-1.amazonaws.com" in ln for ln in comments)
    body = "\n".join(ln for ln in out.splitlines() if not ln.startswith("#"))
    assert json.loads(body) == render_policy("s3", KEY, ROLE)["Statement"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--key-arn", "arn:aws:kms:eu-west-1:1:key/x", "--platform-role-arn", ROLE], "key_arn"),
        (["--key-arn", KEY, "--platform-role-arn", "role/x"], "platform_role_arn"),
        ([*CONTRACT, "--administrator", f"arn:aws:iam::{CUSTOMER}:role/a"], "administrators"),
    ],
)
def test_render_bad_input_exits_2(capsys, args, fragment) -> None:
    code, out, err = run(capsys, "policy", "render", "--purpose", "s3", *args)
    assert code == 2
    assert out == ""
    one_error_line(err, fragment)


def test_usage_error_exits_2_without_traceback(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["policy", "render", "--purpose", "ebs", *CONTRACT])
    assert exc.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


# --- check ---------------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", ["s3", "aurora"])
def test_check_of_rendered_policy_passes_json(capsys, tmp_path, purpose) -> None:
    path = write(tmp_path, render_policy(purpose, KEY, ROLE, full=True))
    argv = ["policy", "check", "--policy", path, "--purpose", purpose, *CONTRACT]
    code, out, _ = run(capsys, *argv, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["verdict"] == "pass"
    assert [c["id"] for c in data["checks"]] == [
        "required-access",
        "no-public-access",
        "no-direct-access",
        "no-other-service",
        "principal-scope",
        "grants-for-aws-resources-only",
    ]
    for c in data["checks"]:
        assert set(c) >= {"id", "status", "message", "statements", "fix"}


def test_check_fail_exits_1_and_text_shows_the_fix(capsys, tmp_path) -> None:
    policy = render_policy("s3", KEY, ROLE, full=True)
    policy["Statement"].append(
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    )
    path = write(tmp_path, policy)
    code, out, _ = run(capsys, "policy", "check", "--policy", path, "--purpose", "s3", *CONTRACT)
    assert code == 1
    assert out.startswith("verdict: FAIL")
    assert "FAIL  no-public-access" in out
    assert "fix: remove Statement[3] (Sid Everyone)" in out


def test_check_warn_exits_0(capsys, tmp_path) -> None:
    policy = render_policy("s3", KEY, ROLE)
    del policy["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"]
    path = write(tmp_path, policy)
    argv = ["policy", "check", "--policy", path, "--purpose", "s3", *CONTRACT, "--format", "json"]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert json.loads(out)["verdict"] == "warn"


def test_check_reads_stdin(capsys, monkeypatch) -> None:
    text = json.dumps(render_policy("aurora", KEY, ROLE))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    code, out, _ = run(capsys, "policy", "check", "--policy", "-", "--purpose", "aurora", *CONTRACT)
    assert code == 0
    assert out.startswith("verdict: PASS")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (None, ["--policy: file not found"]),
        ('{"Statement": [', ["not valid JSON", "line 1"]),
        ('{"Statement": [{"Effect": "Allow"}]}', ["Statement[0]"]),
        ("\xff\xfe", []),
    ],
)
def test_check_bad_policy_file_exits_2(capsys, tmp_path, content, fragments) -> None:
    path = str(tmp_path / "missing.json") if content is None else write(tmp_path, content)
    if content == "\xff\xfe":
        Path(path).write_bytes(b"\xff\xfe\x00")
    code, out, err = run(capsys, "policy", "check", "--policy", path, "--purpose", "s3", *CONTRACT)
    assert code == 2
    assert out == ""
    one_error_line(err, "--policy", *fragments)


def test_check_bad_arn_exits_2_before_reading_the_file(capsys, tmp_path) -> None:
    argv = ["--key-arn", KEY.replace(":key/", ":alias/"), "--platform-role-arn", ROLE]
    missing = str(tmp_path / "nope.json")
    code, _, err = run(capsys, "policy", "check", "--policy", missing, "--purpose", "s3", *argv)
    assert code == 2
    one_error_line(err, "key_arn", "alias")


# --- explain -------------------------------------------------------------------------------


def explain(capsys, path: str, *extra: str) -> tuple[int, dict[str, Any]]:
    argv = ["policy", "explain", "--policy", path, "--format", "json", *extra]
    code, out, _ = run(capsys, *argv)
    return code, json.loads(out)


def test_explain_allow_via_service_and_implicit_deny_direct(capsys, tmp_path) -> None:
    path = write(tmp_path, render_policy("s3", KEY, ROLE, full=True))
    via = "kms:ViaService=s3.eu-west-1.amazonaws.com"
    code, data = explain(
        capsys, path, "--principal", ROLE, "--action", "kms:Decrypt", "--context", via
    )
    assert code == 0
    assert data["decision"] == "allow"
    assert [s["label"] for s in data["statements"]] == ["BYOKPlatformS3ViaService"]
    code, data = explain(capsys, path, "--principal", ROLE, "--action", "kms:Decrypt")
    assert code == 0
    assert data == {"decision": "implicit_deny", "statements": []}


def test_explain_explicit_deny_exits_0(capsys, tmp_path) -> None:
    deny = {
        "Sid": "NoDecrypt",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    path = write(tmp_path, {"Statement": [deny]})
    code, data = explain(capsys, path, "--principal", ROLE, "--action", "kms:Decrypt")
    assert code == 0
    assert data["decision"] == "explicit_deny"
    assert data["statements"][0]["sid"] == "NoDecrypt"


def test_explain_account_principal_is_delegated(capsys, tmp_path) -> None:
    path = write(tmp_path, render_policy("s3", KEY, ROLE, full=True))
    user = f"arn:aws:iam::{CUSTOMER}:user/alice"
    code, data = explain(capsys, path, "--principal", user, "--action", "kms:ScheduleKeyDeletion")
    assert code == 0
    assert data["decision"] == "allow"
    assert data["statements"][0]["delegated"] is True


def test_explain_derives_principal_account_unless_given(capsys, tmp_path) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": PLATFORM}},
    }
    path = write(tmp_path, {"Statement": [statement]})
    _, derived = explain(capsys, path, "--principal", ROLE, "--action", "kms:Decrypt")
    assert derived["decision"] == "allow"
    _, given = explain(
        capsys, path, "--principal", ROLE, "--action", "kms:Decrypt",
        "--context", "aws:PrincipalAccount=999999999999",
    )  # fmt: skip
    assert given["decision"] == "implicit_deny"


def test_explain_repeated_context_key_gives_several_values(capsys, tmp_path) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": ROLE},
        "Action": "kms:CreateGrant",
        "Resource": "*",
        "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]}},
    }
    path = write(tmp_path, {"Statement": [statement]})
    base = ["--principal", ROLE, "--action", "kms:CreateGrant"]
    ops = ["--context", "kms:GrantOperations=Decrypt", "--context", "kms:GrantOperations=Encrypt"]
    _, both = explain(capsys, path, *base, *ops)
    assert both["decision"] == "allow"
    _, extra = explain(capsys, path, *base, *ops, "--context", "kms:GrantOperations=RetireGrant")
    assert extra["decision"] == "implicit_deny"


def test_explain_resource_of_another_key_does_not_match(capsys, tmp_path) -> None:
    policy = render_policy("s3", KEY, ROLE)
    policy["Statement"][1]["Resource"] = KEY
    path = write(tmp_path, policy)
    base = ["--principal", ROLE, "--action", "kms:GetKeyPolicy"]
    _, same = explain(capsys, path, *base, "--resource", KEY)
    assert same["decision"] == "allow"
    _, other = explain(capsys, path, *base, "--resource", KEY.replace("1234abcd", "9999abcd"))
    assert other["decision"] == "implicit_deny"


def test_explain_text_output(capsys, tmp_path) -> None:
    path = write(tmp_path, render_policy("s3", KEY, ROLE))
    argv = [
        "policy",
        "explain",
        "--policy",
        path,
        "--principal",
        ROLE,
        "--action",
        "kms:GetKeyPolicy",
    ]
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert out.splitlines()[0] == "decision:  ALLOW"
    assert "BYOKPlatformHealthChecks" in out
    assert "derived from the principal" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--principal", ROLE, "--action", "kms:Decrypt", "--context", "novalue"], "--context"),
        (["--principal", ROLE, "--action", "kms:Decrypt", "--context", "=x"], "--context"),
        (["--principal", "bob", "--action", "kms:Decrypt"], "--principal"),
        (["--principal", ROLE, "--action", "Decrypt"], "--action"),
        (["--principal", ROLE, "--action", "kms:Decrypt", "--resource", "key/1"], "--resource"),
    ],
)
def test_explain_bad_input_exits_2(capsys, tmp_path, args, fragment) -> None:
    path = write(tmp_path, render_policy("s3", KEY, ROLE))
    code, out, err = run(capsys, "policy", "explain", "--policy", path, *args)
    assert code == 2
    assert out == ""
    one_error_line(err, fragment)


# --- as a real process ---------------------------------------------------------------------


def test_policy_help_as_a_process() -> None:
    proc = subprocess.run(
        [str(BYOK), "policy", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for sub in ("render", "check", "explain"):
        assert sub in proc.stdout
    assert "Traceback" not in proc.stderr


def test_policy_path_never_imports_boto3(tmp_path) -> None:
    path = write(tmp_path, render_policy("s3", KEY, ROLE))
    code = (
        "import sys; from byok.cli import main; "
        f"rc = main(['policy', 'check', '--policy', {path!r}, '--purpose', 's3', "
        f"'--key-arn', {KEY!r}, '--platform-role-arn', {ROLE!r}, '--format', 'json']); "
        "print('boto3' in sys.modules, rc, file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stderr.strip() == "False 0"
