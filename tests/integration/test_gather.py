"""gather_facts on the world: what the platform role can and cannot observe, as in AWS."""

from __future__ import annotations

import json

from byok_world import PLATFORM, REGION, ROLE_ARN, cloudtrail_event

from byok.aws.gather import gather_facts
from byok.contract import render_policy
from byok.events import normalise
from byok.models import Environment, Purpose


def test_cross_account_facts(world):
    facts = gather_facts(world.env, world.platform, platform_role_arn=ROLE_ARN)
    s3 = facts.keys[Purpose.S3]
    assert s3.metadata.key_state == "Enabled"  # DescribeKey works across accounts
    assert s3.rotation_enabled is True  # so does GetKeyRotationStatus
    assert s3.policy is None and s3.policy_error.code == "CrossAccountNotSupported"
    assert facts.s3_probe.ok
    assert (
        facts.cluster.status == "available" and facts.cluster.kms_key_id == world.env.aurora_key_arn
    )


def test_put_key_policy_event_supplies_the_policy(world):
    arn = world.env.aurora_key_arn
    policy = json.dumps(render_policy(Purpose.AURORA, arn, ROLE_ARN, full=True))
    trigger = normalise(cloudtrail_event("PutKeyPolicy", arn, request={"policy": policy}))
    facts = gather_facts(world.env, world.platform, platform_role_arn=ROLE_ARN, trigger=trigger)
    aurora = facts.keys[Purpose.AURORA]
    assert aurora.policy == policy
    assert aurora.policy_source == f"PutKeyPolicy event {trigger.event_id}"
    assert facts.keys[Purpose.S3].policy is None  # the event was about the other key


def test_same_account_key_policy_is_read_with_get_key_policy(world):
    kms = world.platform.client("kms")
    arns = [kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2)]
    env = Environment.create(
        environment_id="inhouse",
        customer_account=PLATFORM,
        region=REGION,
        s3_key_arn=arns[0],
        aurora_key_arn=arns[1],
        bucket=world.env.bucket,
        cluster_id=world.env.cluster_id,
    )
    facts = gather_facts(env, world.platform, platform_role_arn=ROLE_ARN)
    assert facts.keys[Purpose.S3].policy_source == "GetKeyPolicy"
    assert f"arn:aws:iam::{PLATFORM}:root" in facts.keys[Purpose.S3].policy


def test_role_that_cannot_be_assumed_is_an_access_error(world):
    from byok_emulator import faults

    with faults.inject("sts", code="AccessDenied", message="not authorized", status=403):
        facts = gather_facts(world.env, world.platform, platform_role_arn=ROLE_ARN)
    assert facts.access_error.code == "AccessDenied" and not facts.access_error.transient
    assert facts.keys == {}
