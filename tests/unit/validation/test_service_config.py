"""byok.service configuration and message boundaries (no AWS calls are made here)."""

from __future__ import annotations

import pytest

from byok.errors import EventError, InputError
from byok.service import Deps, ServiceSettings, process_validate_message, run_sweep
from byok.store import Storage

ROLE = "arn:aws:iam::444455556666:role/byok-platform"
ENV = {
    "ENVIRONMENTS_TABLE": "envs",
    "AUDIT_TABLE": "audit",
    "PLATFORM_ROLE_ARN": ROLE,
    "HEALTH_EVENT_BUS": "byok-health",
    "VALIDATE_QUEUE_URL": "https://sqs.eu-west-1.amazonaws.com/444455556666/validate",
}


def test_from_environment_reads_the_lambda_variables():
    deps = Deps.from_environment({**ENV, "UNKNOWN_AFTER_FAILURES": "5", "CANARY_PREFIX": "c/"})
    assert deps.settings.platform_role_arn == ROLE
    assert deps.settings.health.unknown_after_failures == 5
    assert deps.settings.health.unknown_after_minutes == 15
    assert deps.settings.canary_prefix == "c/"
    assert deps.publisher is not None and deps.publisher.event_bus == "byok-health"
    assert deps.sqs is not None
    assert isinstance(deps.store, Storage)  # outbox and policy memory included
    assert deps.store.environments_table == "envs"
    assert Deps.from_environment(ENV).settings.canary_prefix == "byok-guard/canary/"


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"ENVIRONMENTS_TABLE": ""}, "ENVIRONMENTS_TABLE"),
        ({"PLATFORM_ROLE_ARN": "byok-platform"}, "PLATFORM_ROLE_ARN"),
        ({"UNKNOWN_AFTER_MINUTES": "soon"}, "UNKNOWN_AFTER_MINUTES"),
        ({"CANARY_PREFIX": "/abs/"}, "CANARY_PREFIX"),
    ],
)
def test_bad_configuration_names_the_variable(override, field):
    with pytest.raises(InputError, match=rf"^{field}: "):
        Deps.from_environment({**ENV, **override})


def test_validate_message_boundary_errors_name_the_field():
    deps = Deps.from_environment(ENV)
    with pytest.raises(EventError, match=r"^body: not valid JSON"):
        process_validate_message("{not json", deps)
    with pytest.raises(InputError, match=r"^body.environment_id: "):
        process_validate_message({"environment_id": "Not Valid"}, deps)
    with pytest.raises(EventError, match=r"^body.trigger.kind: "):
        process_validate_message({"environment_id": "acme", "trigger": {"kind": "x"}}, deps)


def test_sweep_needs_the_queue():
    deps = Deps.from_environment({k: v for k, v in ENV.items() if k != "VALIDATE_QUEUE_URL"})
    with pytest.raises(InputError, match=r"^VALIDATE_QUEUE_URL: "):
        run_sweep(deps)


def test_settings_validate_the_role():
    with pytest.raises(InputError, match="PLATFORM_ROLE_ARN"):
        ServiceSettings(platform_role_arn="arn:aws:iam::123:role/x")
