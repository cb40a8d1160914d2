"""Concurrent validations of one environment on real threads against moto's ThreadedMotoServer
(``byok_emulator.server``): overlapping S3 canaries, racing flag writes.

Without a key change every validation says HEALTHY (the canaries of overlapping probes never
meet: one object per probe); with the key disabled while validations run, each says what it saw
(HEALTHY or KEY_UNUSABLE, never another verdict), and the flag ends as the newest validation saw
it, which started after the change: KEY_UNUSABLE. A deterministic version of the canary race
(probe B runs entirely between probe A's put and get) is the last test.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from byok_world import ROLE_ARN, World

from byok.aws.s3_probe import probe_bucket
from byok.aws.sts import assume_platform_role
from byok.models import HealthStatus
from byok.service import Outcome, validate_environment

THREADS = 4


@pytest.fixture
def world(server_world: World) -> World:
    return server_world


def _real_clock() -> datetime:
    return datetime.now(UTC)  # concurrent validations get distinct checked_at, as in Lambda


def _validate_concurrently(world: World, rounds: int, between: Any = None) -> list[Outcome]:
    deps = world.deps(clock=_real_clock)
    env_id = world.env.environment_id
    start = threading.Barrier(THREADS)

    def one(_: int) -> list[Outcome]:
        start.wait(timeout=30)
        return [validate_environment(env_id, None, deps) for _ in range(rounds)]

    with ThreadPoolExecutor(THREADS) as pool:
        first = [pool.submit(one, i) for i in range(THREADS)]
        if between is not None:
            between()
        return [o for f in first for o in f.result(timeout=120)]


def test_overlapping_validations_without_a_change_all_say_healthy(world: World) -> None:
    outcomes = _validate_concurrently(world, rounds=2)
    assert {o.status for o in outcomes} == {HealthStatus.HEALTHY}
    assert all(c.status.value != "error" for o in outcomes for c in o.report.checks), [
        c.to_dict() for o in outcomes for c in o.report.checks if c.status.value == "error"
    ]
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.status is HealthStatus.HEALTHY
    assert {e["detail"]["status"] for e in world.published()} == {"HEALTHY"}
    s3 = world.platform.client("s3")
    left = s3.list_objects_v2(Bucket=world.env.bucket, Prefix="byok-guard/canary/")
    assert left.get("KeyCount", 0) == 0  # every probe deleted its own object


def test_a_key_change_between_overlapping_validations_ends_as_the_truth(world: World) -> None:
    changed = threading.Event()

    def disable() -> None:
        world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
        changed.set()

    before = _validate_concurrently(world, rounds=1, between=disable)
    assert changed.is_set()
    after = [validate_environment(world.env.environment_id, None, world.deps(clock=_real_clock))]
    outcomes = before + after
    # each validation says what it saw: healthy before the change, unusable after, nothing else
    assert {o.status for o in outcomes} <= {HealthStatus.HEALTHY, HealthStatus.KEY_UNUSABLE}
    for o in outcomes:
        if o.status is HealthStatus.KEY_UNUSABLE:
            assert o.flag.reasons == ("KEY_DISABLED",)
    flag = world.store.get_flag(world.env.environment_id)
    assert flag.status is HealthStatus.KEY_UNUSABLE  # the truth, now
    published = [e["detail"] for e in world.published()]
    assert published[-1]["status"] == "KEY_UNUSABLE"  # and its change went out
    assert world.store.pending_event(world.env.environment_id) is None


def test_a_probe_running_inside_another_never_removes_its_canary(world: World) -> None:
    """Probe B runs entirely between probe A's PutObject and GetObject (a botocore hook on A's
    client): with one object per probe A still reads its own canary back."""
    env = world.env
    role = assume_platform_role(world.platform, ROLE_ARN, env.environment_id, region=env.region)
    s3_a, s3_b = role.client("s3"), role.client("s3")
    inner: list[Any] = []

    def run_b(**_: Any) -> None:
        if not inner:
            inner.append(
                probe_bucket(
                    s3_b, env.bucket, env.s3_key_arn, prefix="byok-guard/canary/",
                    environment_id=env.environment_id,
                )
            )  # fmt: skip

    s3_a.meta.events.register("after-call.s3.PutObject", run_b)
    outer = probe_bucket(
        s3_a, env.bucket, env.s3_key_arn, prefix="byok-guard/canary/",
        environment_id=env.environment_id,
    )  # fmt: skip
    assert inner and inner[0].ok, inner
    assert outer.ok, outer.error
    assert outer.object_key != inner[0].object_key
