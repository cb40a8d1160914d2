"""The in-process tier of the harness: the real handler modules on moto (``mock_aws``) with the
environment template.yaml gives them, shared by ``test_in_process`` and the handler fuzz tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import byok_world as bw
import pytest
from byok_world import World, build_world
from harness_world import notification_topic
from local_invoke import invoke_in_process, load_handler_module
from moto import mock_aws

import byok_emulator
from byok_emulator import sam_template

TEMPLATE = sam_template.load()
SPECS = sam_template.functions(TEMPLATE)


@contextmanager
def in_process_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A world on moto with every function's environment variables set as template.yaml does."""
    with mock_aws(), byok_emulator.behaviour():
        world = build_world()
        resolver = sam_template.Resolver(
            TEMPLATE,
            {"PlatformRoleArn": bw.ROLE_ARN, "CustomerAccountIds": bw.CUSTOMER},
            refs={
                "EnvironmentsTable": bw.ENVIRONMENTS_TABLE,
                "AuditTable": bw.AUDIT_TABLE,
                "IdempotencyTable": bw.IDEMPOTENCY_TABLE,
                "ValidateQueue": world.validate_queue_url,
                "NotificationTopic": notification_topic(world.platform),
            },
        )
        creds = world.platform.get_credentials().get_frozen_credentials()
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
        monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
        for spec in SPECS.values():
            for name, value in spec.environment.items():
                if name != "POWERTOOLS_SERVICE_NAME":
                    monkeypatch.setenv(name, str(resolver.resolve(value)))
        yield world


def run(function: str, event: Any, monkeypatch: pytest.MonkeyPatch, module: Any = None) -> Any:
    """Invoke ``function``'s handler on ``event`` (a fresh module, a cold start, unless given)."""
    spec = SPECS[function]
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", function)
    return invoke_in_process(module or load_handler_module(spec), spec, event)


def emf_metrics(out: str) -> dict[str, float]:
    """Powertools EMF lines printed by ``log_metrics``: metric name -> value."""
    found: dict[str, float] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            record = json.loads(line)
            for spec in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = record[spec["Name"]]
                found[spec["Name"]] = sum(value) if isinstance(value, list) else value
    return found


def state(world: World) -> list[Any]:
    """Everything the handlers could write: the three tables and the validate queue."""
    ddb = world.platform.client("dynamodb")
    tables = [
        sorted(json.dumps(i, sort_keys=True) for i in ddb.scan(TableName=t)["Items"])
        for t in (bw.ENVIRONMENTS_TABLE, bw.AUDIT_TABLE, bw.IDEMPOTENCY_TABLE)
    ]
    attrs = world.platform.client("sqs").get_queue_attributes(
        QueueUrl=world.validate_queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return [*tables, attrs]
