"""``byok.aws.iam_policies`` reads the platform role's identity policies from (moto's) IAM:
inline, attached managed (default version) and the permissions boundary; cached per container."""

from __future__ import annotations

import json

from byok_world import ROLE_ARN, ROLE_NAME

from byok.aws import iam_policies

DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def test_reads_inline_attached_and_boundary(world):
    iam = world.platform.client("iam")
    arn = iam.create_policy(PolicyName="extra", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps({**DOC, "Id": "v2"}), SetAsDefault=True
    )
    iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=arn)
    iam.put_role_permissions_boundary(RoleName=ROLE_NAME, PermissionsBoundary=arn)

    got = iam_policies.read_platform_identity(
        world.function_session("validate").client("iam"), ROLE_ARN
    )
    assert got.error is None
    names = [name for name, _ in got.policies]
    assert names == ["byok-contract", arn]  # platform/platform-role.yaml's inline policy first
    assert json.loads(got.policies[1][1])["Id"] == "v2"  # the default version
    assert got.boundary is not None and got.boundary[0] == arn


def test_a_denied_read_is_an_error_not_a_crash_and_is_not_cached(world):
    iam_policies.clear_cache()
    sweep_iam = world.function_session("sweep").client("iam")  # the sweep role may not read IAM
    got = iam_policies.cached_platform_identity(lambda: sweep_iam, ROLE_ARN)
    assert got.error is not None and got.error.access_denied and not got.error.transient
    ok = iam_policies.cached_platform_identity(
        lambda: world.function_session("validate").client("iam"), ROLE_ARN
    )
    assert ok.error is None


def test_cached_for_the_ttl(world):
    iam_policies.clear_cache()
    calls = []

    def factory():
        calls.append(1)
        return world.function_session("validate").client("iam")

    now = [1000.0]
    for _ in range(3):
        iam_policies.cached_platform_identity(factory, ROLE_ARN, clock=lambda: now[0])
    now[0] += iam_policies.TTL_SECONDS + 1
    iam_policies.cached_platform_identity(factory, ROLE_ARN, clock=lambda: now[0])
    assert len(calls) == 2
