"""What the ``byok env`` tests share: the registry tables on moto, one environment's values as
``register`` flags, and running the CLI in process.

One copy here instead of a set-up per test file (tests/cli, tests/fuzz, tests/store), so a
change to the table layout or to ``register``'s flags is made once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pytest
from moto import mock_aws

from byok.cli import main
from byok.store import Store, create_tables

ACCOUNT = "111122223333"
REGION = "eu-west-1"
S3_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-1111-1111-1111-111111111111"
AURORA_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-2222-2222-2222-222222222222"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/33333333-3333-3333-3333-333333333333"
ROLE = "arn:aws:iam::999988887777:role/byok-platform"
TABLES = ["--environments-table", "t-env", "--audit-table", "t-audit"]


@contextmanager
def moto_store(environments: str = "t-env", audit: str = "t-audit") -> Iterator[Store]:
    """Both tables created on moto (``mock_aws``), and the store over them."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client, environments, audit)
        yield Store(environments, audit, client=client)


def cli_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """``moto_store`` with no table or role from the environment (the flags name them)."""
    for name in ("ENVIRONMENTS_TABLE", "AUDIT_TABLE", "PLATFORM_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    with moto_store() as store:
        yield store


def register_args(env_id: str = "acme-prod", *, role: str | None = ROLE, **over: str) -> list[str]:
    """``env register`` for ``env_id`` (bucket ``<id>-data``, cluster ``<id>-db``); ``over``
    replaces flags by name (``{"--region": ...}``), ``role=None`` leaves the role out."""
    values = {
        "--environment-id": env_id,
        "--customer-account": ACCOUNT,
        "--region": REGION,
        "--s3-key-arn": S3_KEY,
        "--aurora-key-arn": AURORA_KEY,
        "--bucket": f"{env_id}-data",
        "--cluster-id": f"{env_id}-db",
    }
    values.update(over)
    role_args = ["--platform-role-arn", role] if role is not None else []
    return ["env", "register", *[x for kv in values.items() for x in kv], *role_args, *TABLES]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``byok *argv`` in process: (exit code, stdout, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
