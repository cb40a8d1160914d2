"""``byok env update`` and ``byok env deregister``: in-process against moto (mock_aws).

The real validation after an update runs in tests/docs (``docs/operations.md`` against
``byok emulator start``); here the registry side: claims move or are released atomically,
the audit trail records it and outlives the environment, bad input exits 2 naming the field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from cli_env import (
    ACCOUNT,
    AURORA_KEY,
    OTHER_KEY,
    REGION,
    S3_KEY,
    TABLES,
    cli_store,
    register_args,
    run,
)

from byok.cli import env as env_cli
from byok.cli import main
from byok.store import Store
from byok.store.base import MUTABLE_FIELDS

NEW_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/44444444-4444-4444-4444-444444444444"


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    yield from cli_store(monkeypatch)


def test_the_cli_and_the_store_agree_on_what_may_change() -> None:
    assert env_cli._MUTABLE == MUTABLE_FIELDS


def test_update_moves_claims_and_records_the_change(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, *register_args(), "--no-validate")[0] == 0
    code, out, err = run(
        capsys, "env", "update", "acme-prod", "--s3-key-arn", NEW_KEY, "--bucket", "acme-new",
        "--no-validate", "--format", "json", *TABLES,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["changes"] == {
        "s3_key_arn": {"from": S3_KEY, "to": NEW_KEY},
        "bucket": {"from": "acme-prod-data", "to": "acme-new"},
    }
    assert result["validation"] is None
    env = store.get_environment("acme-prod")
    assert (env.s3_key_arn, env.bucket, env.aurora_key_arn) == (NEW_KEY, "acme-new", AURORA_KEY)
    assert store.environments_for_key(S3_KEY) == [] and store.environments_for_key(NEW_KEY)
    updated = store.list_audit("acme-prod")[0]
    assert updated["type"] == "updated" and updated["changes"]["bucket"]["to"] == "acme-new"
    # the released key is free for another environment
    other = register_args("other", **{"--s3-key-arn": S3_KEY, "--aurora-key-arn": OTHER_KEY})
    assert run(capsys, *other, "--no-validate")[0] == 0

    code, out, _ = run(capsys, "env", "update", "acme-prod", "--bucket", "acme-new", *TABLES)
    assert code == 0 and "nothing changed" in out  # same value: no write, no validation
    assert len(store.list_audit("acme-prod")) == 2


def test_update_onto_a_claimed_key_exits_2_and_changes_nothing(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, *register_args(), "--no-validate")
    other = register_args("other", **{"--s3-key-arn": NEW_KEY, "--aurora-key-arn": OTHER_KEY})
    run(capsys, *other, "--no-validate")
    code, _, err = run(
        capsys, "env", "update", "acme-prod", "--aurora-key-arn", NEW_KEY, "--no-validate", *TABLES
    )
    assert code == 2  # refused like a registration onto a claimed key: the field is named
    assert err.startswith("byok: error: aurora_key_arn: key ") and "'other' as its s3 key" in err
    assert store.get_environment("acme-prod").aurora_key_arn == AURORA_KEY
    assert [a["type"] for a in store.list_audit("acme-prod")] == ["registered"]


@pytest.mark.parametrize(
    ("argv", "field"),
    [
        ([], "update"),
        (["--s3-key-arn", "alias/mine"], "s3_key_arn"),
        (["--aurora-key-arn", S3_KEY], "aurora_key_arn"),
        (["--s3-key-arn", NEW_KEY.replace(ACCOUNT, "999988887777")], "s3_key_arn"),
        (["--bucket", "No_Such"], "bucket"),
        (["--cluster-id", "1-bad"], "cluster_id"),
        (["--platform-role-arn", "role/x", "--bucket", "acme-b"], "platform_role_arn"),
    ],
    ids=["nothing", "alias", "same-key", "other-account", "bucket", "cluster", "role"],
)
def test_update_bad_input_exits_2_naming_the_field(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], field: str
) -> None:
    run(capsys, *register_args(), "--no-validate")
    code, _, err = run(capsys, "env", "update", "acme-prod", *argv, *TABLES)
    assert code == 2, err
    assert err.startswith(f"byok: error: {field}:") and "Traceback" not in err
    assert store.get_environment("acme-prod").s3_key_arn == S3_KEY
    assert len(store.list_audit("acme-prod")) == 1


def test_update_region_or_account_is_not_a_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--region", "--customer-account", "--environment-id"):
        with pytest.raises(SystemExit) as exit_:
            main(["env", "update", "acme-prod", flag, "x", *TABLES])
        assert exit_.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


def test_deregister_releases_everything_and_keeps_the_trail(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, *register_args(), "--no-validate")
    store.append_audit(
        "acme-prod",
        {"type": "health_changed", "status": "KEY_UNUSABLE", "reasons": ["KEY_DISABLED"],
         "checked_at": "2026-11-25T04:00:00Z"},
        at="2026-11-25T04:00:00Z",
    )  # fmt: skip
    code, out, _ = run(capsys, "env", "deregister", "acme-prod", "--format", "json", *TABLES)
    assert code == 0
    result = json.loads(out)
    assert result["deregistered"]["environment_id"] == "acme-prod"
    assert result["released"][:2] == [S3_KEY, AURORA_KEY]
    assert store.list_environments() == []
    assert [a["type"] for a in store.list_audit("acme-prod")][:1] == ["deregistered"]
    code, out, _ = run(capsys, "env", "incidents", "acme-prod", "--format", "json", *TABLES)
    assert code == 0 and json.loads(out)[0]["reasons"] == ["KEY_DISABLED"]  # trail kept
    code, _, err = run(capsys, "env", "deregister", "acme-prod", *TABLES)
    assert code == 1 and "no environment 'acme-prod' is registered" in err
    code, _, err = run(capsys, "env", "deregister", "Bad_Id", *TABLES)
    assert code == 2 and err.startswith("byok: error: environment_id:")
    assert run(capsys, *register_args(), "--no-validate")[0] == 0  # keys and id free again


def test_the_cluster_key_mismatch_fix_is_a_command_the_cli_takes() -> None:
    """The fix byok-guard prints for CLUSTER_KEY_MISMATCH parses as `byok env update`."""
    import shlex

    from byok.cli import build_parser
    from byok.reasons import ReasonCode, get_reason

    fix = get_reason(ReasonCode.CLUSTER_KEY_MISMATCH).fix(
        environment_id="acme-prod", key_arn=AURORA_KEY, cluster_key_arn=NEW_KEY
    )
    command = shlex.split(fix.split("  #")[0])
    assert command[:3] == ["byok", "env", "update"]
    args = build_parser(command[1:]).parse_args(command[1:])
    assert (args.environment_id, args.aurora_key_arn) == ("acme-prod", NEW_KEY)


def test_an_update_whose_validation_cannot_complete_exits_1_and_stays(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    run(capsys, *register_args(), "--no-validate")
    monkeypatch.setitem(sys.modules, "byok.service", None)  # the validation cannot run
    code, _, err = run(
        capsys, "env", "update", "acme-prod", "--bucket", "acme-b",
        "--platform-role-arn", "arn:aws:iam::999988887777:role/byok-platform", *TABLES,
    )  # fmt: skip
    assert code == 1 and "validation not completed" in err
    assert store.get_environment("acme-prod").bucket == "acme-b"  # the update stays
