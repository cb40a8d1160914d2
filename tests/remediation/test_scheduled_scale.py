"""Issue 13: the scheduled remediation run costs the same however many environments are healthy.

It lists only the environments the sparse ``attention`` index holds (a flag that is not HEALTHY,
a recovery whose plan was not replayed yet, a cluster start still followed); requests are
counted with botocore event hooks on every client the run uses (the store's DynamoDB client,
the RDS clients it creates).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from byok_world import CUSTOMER, REGION, ROLE_ARN

from byok.contract import render_policy
from byok.errors import TransientError
from byok.models import Environment, HealthStatus, Purpose
from byok.remediation.executor import scheduled
from byok.service import validate_environment
from byok_emulator import faults
from byok_emulator.platform_side import create_encrypted_bucket, create_encrypted_cluster


def _add_healthy(rig, n: int, start: int) -> None:
    world, kms = rig.world, rig.world.customer_kms
    for i in range(start, start + n):
        arns = {}
        for purpose in Purpose:
            arn = kms.create_key(KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")[
                "KeyMetadata"
            ]["Arn"]
            kms.put_key_policy(
                KeyId=arn,
                PolicyName="default",
                Policy=json.dumps(render_policy(purpose, arn, ROLE_ARN, full=True)),
            )
            arns[purpose] = arn
        create_encrypted_cluster(world.platform, f"healthy-{i}-db", arns[Purpose.AURORA])
        create_encrypted_bucket(world.platform, f"healthy-{i}-data", REGION, arns[Purpose.S3])
        env = Environment.create(
            environment_id=f"healthy-{i}",
            customer_account=CUSTOMER,
            region=REGION,
            s3_key_arn=arns[Purpose.S3],
            aurora_key_arn=arns[Purpose.AURORA],
            bucket=f"healthy-{i}-data",
            cluster_id=f"healthy-{i}-db",
        )
        world.store.register(env)
        outcome = validate_environment(env.environment_id, None, world.deps())
        assert outcome.status is HealthStatus.HEALTHY, outcome.flag.reasons


def _clone_healthy(rig, template: str, n: int, start: int) -> None:
    """``n`` more healthy environments: copies, under new ids, of the items the registration
    and the HEALTHY validation of ``template`` left in its partition (written with
    BatchWriteItem: moto copies the whole table for every transaction, so 200 registrations
    would cost minutes of test time; the scheduled run never reads their claims or keys)."""
    client, table = rig.world.store.client, rig.world.store.environments_table
    items = client.query(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ENV#{template}"}},
        ConsistentRead=True,
    )["Items"]
    assert {"META", "HEALTH"} <= {i["sk"]["S"] for i in items}
    assert not any("attention" in i for i in items)  # a healthy one is not in the index

    def renamed(value: dict, env_id: str) -> dict:
        if "S" in value:
            return {"S": value["S"].replace(template, env_id)}
        return value

    puts = [
        {"PutRequest": {"Item": {k: renamed(v, f"clone-{i}") for k, v in item.items()}}}
        for i in range(start, start + n)
        for item in items
    ]
    for chunk in range(0, len(puts), 25):
        client.batch_write_item(RequestItems={table: puts[chunk : chunk + 25]})


def _counted_run(rig) -> tuple[Counter[str], list[str]]:
    calls: Counter[str] = Counter()

    def count(model, **_):
        calls[f"{model.service_model.service_name}.{model.name}"] += 1

    rds_for = rig.deps.rds_for

    def counted_rds(region):
        client = rds_for(region)
        client.meta.events.register("before-call.*.*", count, unique_id="count-rds")
        return client

    store_events = rig.world.store.client.meta.events
    store_events.register("before-call.*.*", count, unique_id="count-store")
    rig.deps.rds_for = counted_rds
    try:
        results = scheduled(rig.deps)
    finally:
        store_events.unregister("before-call.*.*", unique_id="count-store")
        rig.deps.rds_for = rds_for
    return calls, sorted({r.action for r in results})


def test_scheduled_run_requests_do_not_grow_with_healthy_environments(rig) -> None:
    world = rig.world
    rig.validate()
    world.customer_kms.schedule_key_deletion(KeyId=world.env.s3_key_arn, PendingWindowInDays=7)
    world.clock.advance(minutes=1)
    rig.validate()  # acme: KEY_UNUSABLE, an open incident
    rig.notifications()

    _add_healthy(rig, 2, 0)  # registered and validated for real
    _clone_healthy(rig, "healthy-0", 8, 2)
    few, _ = _counted_run(rig)
    _clone_healthy(rig, "healthy-0", 190, 10)
    many, _ = _counted_run(rig)
    assert few == many  # 10 or 200 healthy environments: the same requests
    assert many["dynamodb.Scan"] == 1  # the attention index, one page
    assert many["rds.DescribeDBClusters"] == 1  # acme only
    assert world.store.needing_attention() == ["acme"]


def test_a_followed_cluster_start_leaves_the_index_once_the_cluster_is_available(rig) -> None:
    world = rig.world
    rig.lose_and_restore_aurora_key()
    rig.deliver()  # HEALTHY again: remediation starts the cluster
    assert world.store.needing_attention() == ["acme"]  # healthy, but the start is followed
    world.set_cluster_status("available")
    _, actions = _counted_run(rig)
    assert "follow_cluster" in actions
    assert world.store.needing_attention() == []
    calls, _ = _counted_run(rig)
    assert calls == Counter({"dynamodb.Scan": 1})  # nothing left to visit


def _recover_with_the_event_lost(rig) -> str:
    """KEY_UNUSABLE (writes paused, the customer told), then HEALTHY again with the health
    event lost: remediation never hears of the recovery. Returns the environment id."""
    world, env_id = rig.world, rig.world.env.environment_id
    rig.validate()
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    rig.validate()
    assert world.store.writes_paused(env_id)
    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    assert validate_environment(env_id, None, world.deps()).status is HealthStatus.HEALTHY
    world.published()  # lost
    return env_id


def test_a_recovery_whose_event_was_lost_is_replayed_then_leaves_the_index(rig) -> None:
    """The resume and the all-clear of a recovery are never lost with its health event: the
    environment stays in the attention index until the scheduled run replayed the plan."""
    world, env_id = rig.world, _recover_with_the_event_lost(rig)
    rig.notifications()
    world.clock.advance(minutes=1)
    validate_environment(env_id, None, world.deps())  # an unchanged HEALTHY validation
    assert world.store.needing_attention() == [env_id]  # the recovery is still pending

    _, actions = _counted_run(rig)
    assert {"resume_writes", "notify"} <= set(actions)
    assert not world.store.writes_paused(env_id)
    resolved = rig.notifications()
    assert len(resolved) == 1 and "Resolved" in resolved[0]["Subject"]
    assert world.store.needing_attention() == []  # replayed: healthy, out of the index
    calls, _ = _counted_run(rig)
    assert calls == Counter({"dynamodb.Scan": 1})


def test_a_recovery_stays_in_the_index_while_its_plan_fails(rig) -> None:
    """A transient failure of the replay (here DescribeDBClusters throttled) keeps the
    recovery pending: the next scheduled run tries again."""
    world, env_id = rig.world, _recover_with_the_event_lost(rig)
    # throttled past botocore's retries (byok_emulator.faults: moto answers as AWS would)
    throttled = faults.throttle(service="rds", operations={"DescribeDBClusters"}, times=None)
    with throttled, pytest.raises(TransientError):
        scheduled(rig.deps)
    assert world.store.needing_attention() == [env_id]
    assert world.store.writes_paused(env_id)
    scheduled(rig.deps)
    assert not world.store.writes_paused(env_id)
    assert world.store.needing_attention() == []
