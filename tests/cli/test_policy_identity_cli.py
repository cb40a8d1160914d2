"""``byok policy check --identity-policy``: both halves of the cross-account handshake.

The seed's handshake: the key policy allows the platform *account* (a delegation to its IAM
policies) and the platform role's identity policy allows the key ARN. Both together pass; the
key policy alone is not enough when the identity statement is missing (the fix is the platform
operator's, in the identity policy, never the customer's key policy); an explicit Deny in an
identity policy wins over every allow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from byok.cli import main

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{PLATFORM}:role/byok-platform"
ARGS = ["--purpose", "s3", "--key-arn", KEY, "--platform-role-arn", ROLE]
USE = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

#: the key policy of the handshake: the customer's admins, and the platform account may use it
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnableIAMUserPermissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{CUSTOMER}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "AllowPlatformAccount",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PLATFORM}:root"},
            "Action": USE,
            "Resource": "*",
        },
    ],
}
#: the platform role's half: its identity policy allows the key ARN
IDENTITY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": USE, "Resource": KEY}],
}


def _write(tmp_path: Path, name: str, document: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def _check(capsys, tmp_path, *identity: Any, fmt: str = "json") -> tuple[int, Any]:
    paths = [_write(tmp_path, f"identity{i}.json", doc) for i, doc in enumerate(identity)]
    argv = ["policy", "check", "--policy", _write(tmp_path, "key.json", KEY_POLICY), *ARGS]
    for path in paths:
        argv += ["--identity-policy", path]
    code = main([*argv, "--format", fmt])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, (json.loads(out) if fmt == "json" else out)


def test_the_handshake_with_both_halves_passes(capsys, tmp_path) -> None:
    code, report = _check(capsys, tmp_path, IDENTITY)
    assert code == 0
    assert report["identity"]["status"] == "pass"
    assert report["verdict"] != "fail"  # WARN: the account delegation is wider than the contract


def test_without_the_identity_statement_it_fails_with_the_operators_fix(capsys, tmp_path) -> None:
    other = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    code, report = _check(capsys, tmp_path, other)
    assert code == 1
    assert report["verdict"] == "fail"
    identity = report["identity"]
    assert identity["status"] == "fail"
    assert "no identity-based policy of the platform role allows" in identity["message"]
    (fix,) = identity["fix"]
    assert fix["actor"] == "platform operator"
    assert fix["op"] == "add-identity-statement"
    assert fix["statement"]["Resource"] == KEY
    assert set(fix["statement"]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    # the customer's half is fine: the key policy's required-access check passes
    required = next(c for c in report["checks"] if c["id"] == "required-access")
    assert required["status"] == "pass"


def test_an_explicit_deny_in_an_identity_policy_wins(capsys, tmp_path) -> None:
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"}],
    }
    code, out = _check(capsys, tmp_path, IDENTITY, deny, fmt="text")
    assert code == 1
    assert out.startswith("verdict: FAIL")
    assert "explicit Deny in the platform role's identity policies" in out
    assert "fix (platform operator): remove the Deny of kms:Decrypt" in out


def test_the_key_policy_half_is_still_needed(capsys, tmp_path) -> None:
    """Identity allows, but a key policy without the platform: the key policy's check fails."""
    only_customer = {**KEY_POLICY, "Statement": KEY_POLICY["Statement"][:1]}
    path = _write(tmp_path, "key.json", only_customer)
    code = main(
        [
            "policy",
            "check",
            "--policy",
            path,
            *ARGS,
            "--identity-policy",
            _write(tmp_path, "i.json", IDENTITY),
        ]
    )
    out, _ = capsys.readouterr()
    assert code == 1
    assert "FAIL  required-access" in out
    assert "PASS  platform-identity" in out  # the identity half is fine: the customer must act


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "--identity-policy: file not found"),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
                ]
            },
            "has no Principal",
        ),
        ("{", "not JSON"),
    ],
)
def test_bad_identity_policy_exits_2(capsys, tmp_path, content, fragment) -> None:
    key = _write(tmp_path, "key.json", KEY_POLICY)
    ident = str(tmp_path / "missing.json") if content is None else str(tmp_path / "i.json")
    if content is not None:
        Path(ident).write_text(content if isinstance(content, str) else json.dumps(content))
    code = main(["policy", "check", "--policy", key, *ARGS, "--identity-policy", ident])
    _, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err
    assert fragment in err and len(err.strip().splitlines()) == 1
