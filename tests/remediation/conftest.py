"""Remediation scenarios on the two-account moto world (with byok_emulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from byok_world import HEALTH_BUS, REGION, World, build_world
from moto import mock_aws

import byok_emulator
from byok.notify import Notifier
from byok.remediation import HealthChange
from byok.remediation.executor import RemediationDeps, StepResult, remediate
from byok.service import validate_environment


@dataclass
class Rig:
    world: World
    deps: RemediationDeps
    inbox_url: str

    def validate(self) -> list[StepResult]:
        """One validation, then remediation of every health event it published."""
        validate_environment(self.world.env.environment_id, None, self.world.deps())
        return self.deliver()

    def deliver(self, times: int = 1) -> list[StepResult]:
        results: list[StepResult] = []
        self.other_events: list[dict[str, Any]] = []
        for event in self.world.published():
            if event["detail-type"] != "BYOK Environment Health Changed":
                self.other_events.append(event)
                continue
            for _ in range(times):
                results += remediate(HealthChange.from_detail(event["detail"]), self.deps)
        return results

    def lose_and_restore_aurora_key(self) -> None:
        """HEALTHY, then the Aurora key disabled (the cluster stopped, recoverable), then the
        key enabled again: the flag is HEALTHY and the cluster still stopped."""
        from byok.models import ClusterStatus

        world = self.world
        self.validate()
        world.customer_kms.disable_key(KeyId=world.env.aurora_key_arn)
        world.set_cluster_status(ClusterStatus.RECOVERABLE)
        world.clock.advance(minutes=1)
        self.validate()
        flag = world.store.get_flag(world.env.environment_id)
        assert flag is not None and flag.status.value == "KEY_UNUSABLE"
        world.customer_kms.enable_key(KeyId=world.env.aurora_key_arn)
        world.clock.advance(minutes=1)
        validate_environment(world.env.environment_id, None, world.deps())

    def notifications(self) -> list[dict[str, Any]]:
        """Messages the customer's subscription received so far (drains the inbox)."""
        sqs = self.world.platform_sqs
        out = []
        while got := sqs.receive_message(
            QueueUrl=self.inbox_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return out

    def audit(self, type_: str = "remediation") -> list[dict[str, Any]]:
        records = self.world.store.list_audit(self.world.env.environment_id, newest_first=False)
        return [r for r in records if r.get("type") == type_]


def make_rig(world: World) -> Rig:
    """The remediation side of ``world``: notification topic, the customer's inbox, deps."""
    platform = world.platform
    topic = platform.client("sns").create_topic(Name="byok-notifications")["TopicArn"]
    sqs = platform.client("sqs")
    inbox = sqs.create_queue(QueueName="customer-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    platform.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    deps = RemediationDeps(
        store=world.store,
        notifier=Notifier(platform.client("sns"), topic),
        events=platform.client("events"),
        rds_for=lambda region: platform.client("rds", region_name=region),
        event_bus=HEALTH_BUS,
        clock=world.clock,
    )
    assert world.env.region == REGION
    return Rig(world, deps, inbox)


@pytest.fixture
def rig() -> Iterator[Rig]:
    with _rig() as built:
        yield built


@pytest.fixture(scope="module")
def module_rig() -> Iterator[Rig]:
    """One rig for a module whose tests reset what they touched (``reset_rig``): building a
    world costs about a second."""
    with _rig() as built:
        yield built


@contextmanager
def _rig() -> Iterator[Rig]:
    with mock_aws(), byok_emulator.behaviour():
        yield make_rig(build_world())


@pytest.fixture
def operator_rig() -> Iterator[Rig]:
    """Issue 11's acceptance world: the platform role deployed without ``kms:Decrypt``, every
    function with its template.yaml role, moto's own IAM authoriser on."""
    from byok_emulator import authoriser

    with mock_aws(), byok_emulator.behaviour():
        world = build_world(function_roles=True, platform_role_omits=("kms:Decrypt",))
        rig = make_rig(world)
        with authoriser.enabled():
            yield rig
