"""Fuzz every ``byok`` command in process: whatever the input, the answer is exit 0, 1 or 2, no
traceback, bad input is one stderr line naming the field (or argparse's usage error), and a
refused ``env`` command leaves DynamoDB unchanged. ``make soak`` runs 10,000 inputs each."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from cli_env import moto_store
from event_samples import EVENTS_DIR, load
from hostile import events_like, json_values, mutated, text_like
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from soak import examples

from byok.cli import main
from byok.contract import render_policy
from byok.store import Store

ACCOUNT = "111122223333"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1111aaaa-1111-4111-8111-111111111111"
AURORA = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/2222bbbb-2222-4222-8222-222222222222"
ROLE = "arn:aws:iam::444455556666:role/byok-platform"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/KeyAdmin"
POLICIES = [render_policy(p, KEY, ROLE, full=f) for p in ("s3", "aurora") for f in (False, True)]
EVENT_SAMPLES = [load(p.stem) for p in sorted((EVENTS_DIR / "key_events").glob("*.json"))]
EVENT_SAMPLES.append(load("sweep/scheduled_event"))


def fuzz(fast: int) -> settings:
    """``fast`` examples in `make test`, 10,000 under `make soak`; no deadline (moto, load)."""
    return settings(
        max_examples=examples(fast, 10_000), deadline=None, suppress_health_check=list(HealthCheck)
    )


def invoke(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """Run ``byok argv``; assert the shape of the answer whatever it is."""
    usage_error = False
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage line + error line, exit 2
        code, usage_error = int(exc.code or 0), True
    out, err = capsys.readouterr()
    hypothesis.event(f"exit {code}" + (" (usage)" if usage_error else ""))
    assert code in (0, 1, 2), (code, argv, err)
    assert "Traceback" not in err
    if code != 0 and not usage_error and err.startswith("byok: error: "):
        assert err.count("\n") == 1, err
    if code == 2:
        assert usage_error or err.startswith("byok: error: "), err
    return code, out, err


def documents() -> st.SearchStrategy[Any]:
    """Key policy files: mutated contract policies, arbitrary JSON, raw bytes, deep nesting."""
    return st.one_of(
        mutated(POLICIES),
        mutated(POLICIES),
        json_values(),
        st.binary(max_size=64),
        st.sampled_from(['{"Statement": ' + "[" * 1000 + "]" * 1000 + "}", "\ufeff{}", "NaN"]),
    )


def write(tmp_path: Path, content: Any, name: str) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(json.dumps(content), encoding="utf-8", errors="surrogatepass")
    return str(path)


# ---- policy ------------------------------------------------------------------------------------


@pytest.mark.property
@fuzz(60)
@given(
    purpose=text_like("s3"),
    key=text_like(KEY),
    role=text_like(ROLE),
    admins=st.lists(text_like(ADMIN), max_size=2),
    flags=st.lists(st.sampled_from(["--full", "--no-health-checks", "--format=text"]), max_size=3),
)
def test_policy_render(capsys, purpose, key, role, admins, flags) -> None:
    argv = ["policy", "render", "--purpose", purpose, "--key-arn", key, "--platform-role-arn", role]
    argv += [x for a in admins for x in ("--administrator", a)] + flags
    code, out, _ = invoke(capsys, argv)
    if code == 0:
        assert out.strip()


@pytest.mark.property
@fuzz(40)
@given(
    document=documents(),
    key=text_like(KEY),
    role=text_like(ROLE),
    purpose=st.sampled_from(["s3", "aurora"]),
)
def test_policy_check(capsys, tmp_path_factory, document, key, role, purpose) -> None:
    path = write(tmp_path_factory.mktemp("check"), document, "policy.json")
    argv = ["policy", "check", "--policy", path, "--purpose", purpose]
    invoke(capsys, [*argv, "--key-arn", key, "--platform-role-arn", role, "--format", "json"])


@pytest.mark.property
@fuzz(40)
@given(
    document=documents(),
    principal=text_like(ROLE),
    action=text_like("kms:Decrypt"),
    resource=st.none() | text_like(KEY),
    context=st.lists(text_like("kms:ViaService=s3.eu-west-1.amazonaws.com"), max_size=2),
)
def test_policy_explain(
    capsys, tmp_path_factory, document, principal, action, resource, context
) -> None:
    path = write(tmp_path_factory.mktemp("explain"), document, "policy.json")
    argv = ["policy", "explain", "--policy", path, "--principal", principal, "--action", action]
    argv += ["--resource", resource] if resource is not None else []
    argv += [x for c in context for x in ("--context", c)]
    invoke(capsys, argv)


# ---- events parse ------------------------------------------------------------------------------


@pytest.mark.property
@fuzz(80)
@given(event=events_like(EVENT_SAMPLES), stdin=st.booleans(), fmt=st.sampled_from(["json", "text"]))
def test_events_parse(capsys, tmp_path_factory, monkeypatch, event, stdin, fmt) -> None:
    text = json.dumps(event, ensure_ascii=False)
    if stdin:
        monkeypatch.setattr(
            sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogatepass")))
        )
        source = "-"
    else:
        source = write(tmp_path_factory.mktemp("events"), text, "event.json")
    code, out, _ = invoke(capsys, ["events", "parse", source, "--format", fmt])
    if code == 0 and fmt == "json":
        assert "kind" in json.loads(out)


# ---- env ---------------------------------------------------------------------------------------

TABLES = ["--environments-table", "f-env", "--audit-table", "f-audit"]


@pytest.fixture(scope="module")
def registry() -> Iterator[Store]:
    with moto_store("f-env", "f-audit") as store:
        yield store


def snapshot(store: Store) -> list[Any]:
    return [
        sorted(json.dumps(i, sort_keys=True) for i in store.client.scan(TableName=t)["Items"])
        for t in (store.environments_table, store.audit_table)
    ]


@pytest.mark.property
@fuzz(30)
@given(
    env_id=text_like("fuzz-env"),
    account=text_like(ACCOUNT),
    region=text_like(REGION),
    s3=text_like(KEY),
    aurora=text_like(AURORA),
    bucket=text_like("fuzz-env-data"),
    cluster=text_like("fuzz-env-db"),
    role=text_like(ROLE),
)
def test_env_register(
    registry, capsys, env_id, account, region, s3, aurora, bucket, cluster, role
) -> None:
    for env in registry.list_environments():  # the update / deregister tests leave the base one
        registry.deregister(env.environment_id)
    before = snapshot(registry)
    argv = [
        "env", "register", "--environment-id", env_id, "--customer-account", account,
        "--region", region, "--s3-key-arn", s3, "--aurora-key-arn", aurora, "--bucket", bucket,
        "--cluster-id", cluster, "--platform-role-arn", role, "--no-validate", *TABLES,
    ]  # fmt: skip
    code, _, _ = invoke(capsys, argv)
    if code == 0:  # a valid registration: undo it so every example starts from the same registry
        (env,) = [e for e in registry.list_environments()]
        registry.deregister(env.environment_id)
    else:
        assert snapshot(registry) == before


@pytest.mark.property
@pytest.mark.parametrize("command", ["list", "show", "validate", "incidents"])
@fuzz(12)
@given(
    env_id=text_like("acme-prod"),
    table=text_like("f-env"),
    role=st.none() | text_like(ROLE),
    fmt=st.sampled_from(["json", "text"]),
)
def test_env_read_commands(
    registry, capsys, monkeypatch, command, env_id, table, role, fmt
) -> None:
    monkeypatch.delenv("PLATFORM_ROLE_ARN", raising=False)
    before = snapshot(registry)
    argv = ["env", command] + ([] if command == "list" else [env_id])
    argv += ["--environments-table", table, "--audit-table", "f-audit", "--format", fmt]
    if command == "validate" and role is not None:
        argv += ["--platform-role-arn", role]
    code, _, _ = invoke(capsys, argv)
    if code != 0:
        assert snapshot(registry) == before


BASE = {
    "environment_id": "fuzz-base",
    "customer_account": ACCOUNT,
    "region": REGION,
    "s3_key_arn": KEY,
    "aurora_key_arn": AURORA,
    "bucket": "fuzz-base-data",
    "cluster_id": "fuzz-base-db",
}


def _with_base(registry: Store) -> None:
    """Exactly the base environment registered (an example before may have changed it)."""
    from byok.models import Environment

    for env in registry.list_environments():
        registry.deregister(env.environment_id)
    registry.register(Environment.create(**BASE))


@pytest.mark.property
@fuzz(20)
@given(
    env_id=text_like("fuzz-base"),
    changes=st.dictionaries(
        st.sampled_from(["--s3-key-arn", "--aurora-key-arn", "--bucket", "--cluster-id"]),
        st.one_of(
            text_like(KEY.replace("1111aaaa", "3333cccc")),
            text_like("fuzz-new-data"),
            text_like("fuzz-new-db"),
        ),
        max_size=3,
    ),
)
def test_env_update(registry, capsys, env_id, changes) -> None:
    _with_base(registry)
    before = snapshot(registry)
    argv = ["env", "update", env_id, *[x for kv in changes.items() for x in kv]]
    code, _, _ = invoke(capsys, [*argv, "--no-validate", *TABLES])
    if code != 0:
        assert snapshot(registry) == before


@pytest.mark.property
@fuzz(20)
@given(env_id=text_like("fuzz-base"), fmt=st.sampled_from(["json", "text"]))
def test_env_deregister(registry, capsys, env_id, fmt) -> None:
    _with_base(registry)
    before = snapshot(registry)
    code, _, _ = invoke(capsys, ["env", "deregister", env_id, "--format", fmt, *TABLES])
    if code != 0:
        assert snapshot(registry) == before
    else:
        assert registry.list_environments() == []


# ---- demo (bad input only: a valid one runs the whole demo) -------------------------------------


@pytest.mark.property
@fuzz(20)
@given(scenario=text_like("onboarding"))
def test_demo_bad_input(capsys, tmp_path_factory, scenario) -> None:
    from byok.cli.demo import SCENARIO_NAMES

    out = tmp_path_factory.mktemp("demo") / "taken"
    out.write_text("keep")
    argv = ["demo", "--out", str(out)]
    if scenario not in SCENARIO_NAMES:  # a known scenario still meets the existing file
        argv += ["--scenario", scenario]
    code, _, _ = invoke(capsys, argv)
    assert code == 2
    assert out.read_text() == "keep"
