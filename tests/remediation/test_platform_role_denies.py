"""Acceptance (issue 11): the platform role's own identity policy lacks ``kms:Decrypt``.

The customer's key policy is right; the platform's half of the cross-account handshake is not.
Under moto's own IAM authoriser (every function with its template.yaml role, the platform role
deployed from platform/platform-role.yaml minus ``kms:Decrypt``), one validation must flag the
platform-side reason ``PLATFORM_ROLE_DENIES`` (from the identity-policy check and from the S3
canary's AccessDenied that names the identity side), address its fix to the platform operator,
notify no customer, and count the operator metric the template's alarm watches.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger
from byok_world import build_world
from moto import mock_aws

import byok_emulator
from byok.lambda_support import OPERATOR_METRIC, count_operator_problems
from byok.models import HealthStatus
from byok.remediation.model import ActionKind
from byok.service import validate_environment
from byok_emulator import authoriser, sam_template


class _Metrics:
    def __init__(self) -> None:
        self.counted: dict[str, float] = {}

    def add_metric(self, name: str, unit: object, value: float) -> None:
        self.counted[name] = self.counted.get(name, 0) + value


def test_missing_decrypt_in_the_platform_role_is_the_operators_problem(operator_rig) -> None:
    rig = operator_rig
    world = rig.world
    outcome = validate_environment(world.env.environment_id, None, world.deps("validate"))

    assert outcome.status is HealthStatus.KEY_UNUSABLE  # S3 reads fail: the platform is broken
    assert outcome.flag.reasons == ("PLATFORM_ROLE_DENIES",)
    checks = {(c.check_id, c.purpose.value): c for c in outcome.report.checks if c.reason}
    assert checks[("platform-role-policy", "s3")].reason == "PLATFORM_ROLE_DENIES"
    assert checks[("s3-probe", "s3")].reason == "PLATFORM_ROLE_DENIES"  # moto's AccessDenied
    assert "no identity-based policy allows the kms:Decrypt action" in " ".join(outcome.flag.errors)
    assert all(fix.startswith("Platform operator (not the customer)") for fix in outcome.flag.fixes)
    assert not any("key policy" in fix.split(":")[0] for fix in outcome.flag.fixes)

    # remediation pauses writes (they would fail) but tells the customer nothing
    results = rig.deliver()
    assert [(r.action, r.result) for r in results] == [(ActionKind.PAUSE_WRITES.value, "done")]
    assert rig.notifications() == []

    # the operator hears through the metric the template's alarm watches
    metrics = _Metrics()
    assert count_operator_problems(metrics, Logger(service="test"), [outcome.to_dict()]) == 1
    assert metrics.counted == {OPERATOR_METRIC: 1}
    alarm = sam_template.load()["Resources"]["PlatformRoleDeniedAlarm"]["Properties"]
    watched = {
        (
            m["MetricStat"]["Metric"]["MetricName"],
            m["MetricStat"]["Metric"]["Dimensions"][0]["Value"],
        )
        for m in alarm["Metrics"]
        if "MetricStat" in m
    }
    assert watched == {(OPERATOR_METRIC, "key_events"), (OPERATOR_METRIC, "validate")}


def test_the_same_world_with_the_role_as_written_is_healthy() -> None:
    """The control: the platform role exactly as platform/platform-role.yaml deploys it."""
    with mock_aws(), byok_emulator.behaviour():
        world = build_world(function_roles=True)
        with authoriser.enabled():
            outcome = validate_environment(world.env.environment_id, None, world.deps("validate"))
    assert outcome.status is HealthStatus.HEALTHY, outcome.to_dict()
