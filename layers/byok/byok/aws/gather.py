"""Gather the facts for one environment: the fetch half of fetch-then-evaluate.

Every AWS read runs here (as the platform role) and every failure is kept as a classified
``FactError`` next to the fact it concerns, so ``byok.validation.validate`` stays pure. Reads run
in a small thread pool: an event-triggered validation is on the event-to-flag path.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import boto3

from byok.aws import kms as kms_api
from byok.aws.errors import classify, client_config
from byok.aws.iam_policies import cached_platform_identity
from byok.aws.rds import describe_cluster
from byok.aws.s3_probe import DEFAULT_CANARY_PREFIX, probe_bucket
from byok.aws.sts import assume_platform_role
from byok.identifiers import KeyArn, RoleArn
from byok.models import Environment, Purpose, Trigger
from byok.validation.facts import FactError, Facts, KeyFacts, KeyMetadata

__all__ = ["event_policy", "gather_facts"]

_MAX_WORKERS: Final = 8

#: the platform can never read a key policy of another account (GetKeyPolicy is same-account)
CROSS_ACCOUNT_POLICY: Final = FactError(
    "CrossAccountNotSupported",
    "GetKeyPolicy does not work across accounts; the policy comes from PutKeyPolicy events",
    transient=False,
    operation="GetKeyPolicy",
)


def event_policy(trigger: Trigger | None, key_arn: str) -> tuple[str, str] | None:
    """The policy text a successful ``PutKeyPolicy`` event, or a customer reporter's policy
    report (``KeyPolicyReport``, used the same way), carried for this key, with its source."""
    if trigger is None or trigger.key_arn != key_arn:
        return None
    if trigger.event_name not in ("PutKeyPolicy", "KeyPolicyReport"):
        return None
    policy = trigger.evidence.policy
    if policy is None or trigger.evidence.failed:
        return None
    return policy, f"{trigger.event_name} event {trigger.event_id}"


def gather_facts(
    env: Environment,
    base_session: boto3.session.Session,
    *,
    platform_role_arn: str,
    trigger: Trigger | None = None,
    canary_prefix: str = DEFAULT_CANARY_PREFIX,
    shared_with: dict[Purpose, tuple[str, ...]] | None = None,
    known_policies: dict[Purpose, tuple[str, ...]] | None = None,
) -> Facts:
    """Assume the platform role, then read keys, probe S3 and read the cluster, concurrently.

    ``known_policies``: (policy text, source, *texts tied with it in the same CloudTrail second)
    per purpose from earlier ``PutKeyPolicy`` events,
    used only when GetKeyPolicy fails (always, across accounts); else the trigger's own text.
    """
    try:
        session = assume_platform_role(
            base_session, platform_role_arn, env.environment_id, region=env.region
        )
    except Exception as exc:  # every failure to get credentials is a fact, never a crash
        return Facts(access_error=classify(exc, "AssumeRole"))
    platform_account = RoleArn.parse(platform_role_arn, "platform_role_arn").account
    kms = session.client("kms", region_name=env.region, config=client_config())
    s3 = session.client("s3", region_name=env.region, config=client_config())
    rds = session.client("rds", region_name=env.region, config=client_config())

    tasks: dict[str, Callable[[], Any]] = {}
    for purpose in Purpose:
        arn = env.key_arn(purpose)
        tasks[f"{purpose}.metadata"] = lambda arn=arn: kms_api.describe_key(kms, arn)
        if KeyArn.parse(arn).account == platform_account:
            tasks[f"{purpose}.policy"] = lambda arn=arn: kms_api.get_key_policy(kms, arn)
        else:  # KMS: "GetKeyPolicy. Cross-account use: No." Do not spend a call to learn it.
            tasks[f"{purpose}.policy"] = lambda: CROSS_ACCOUNT_POLICY
        tasks[f"{purpose}.rotation"] = lambda arn=arn: kms_api.get_rotation_status(kms, arn)
    tasks["s3_probe"] = lambda: probe_bucket(
        s3,
        env.bucket,
        env.s3_key_arn,
        prefix=canary_prefix,
        environment_id=env.environment_id,
    )
    tasks["cluster"] = lambda: describe_cluster(rds, env.cluster_id)
    # the identity half: the platform role's own policies, read by the function's role
    tasks["identity"] = lambda: cached_platform_identity(
        lambda: base_session.client("iam", config=client_config()), platform_role_arn
    )
    with ThreadPoolExecutor(max_workers=_MAX_WORKERS) as pool:
        futures = {name: pool.submit(task) for name, task in tasks.items()}
        got = {name: future.result() for name, future in futures.items()}

    keys: dict[Purpose, KeyFacts] = {}
    for purpose in Purpose:
        keys[purpose] = _key_facts(
            env.key_arn(purpose),
            purpose,
            got[f"{purpose}.metadata"],
            got[f"{purpose}.policy"],
            got[f"{purpose}.rotation"],
            (known_policies or {}).get(purpose) or event_policy(trigger, env.key_arn(purpose)),
            (shared_with or {}).get(purpose, ()),
        )
    return Facts(
        keys=keys,
        s3_probe=got["s3_probe"],
        cluster=got["cluster"],
        platform_identity=got["identity"],
    )


def _key_facts(
    arn: str,
    purpose: Purpose,
    metadata: KeyMetadata | FactError,
    policy: str | FactError,
    rotation: bool | FactError,
    fallback: tuple[str, ...] | None,
    shared_with: tuple[str, ...],
) -> KeyFacts:
    policy_text: str | None = None
    policy_source: str | None = None
    policy_error: FactError | None = None
    alternatives: list[str] = []
    if isinstance(policy, FactError):
        policy_error = policy
        # an event's text only stands in when the platform cannot read the policy itself
        if fallback is not None:
            policy_text, policy_source, *alternatives = fallback
    else:
        policy_text, policy_source = policy, "GetKeyPolicy"
    return KeyFacts(
        purpose=purpose,
        key_arn=arn,
        metadata=None if isinstance(metadata, FactError) else metadata,
        metadata_error=metadata if isinstance(metadata, FactError) else None,
        policy=policy_text,
        policy_source=policy_source,
        policy_error=policy_error,
        policy_alternatives=tuple(alternatives),
        rotation_enabled=None if isinstance(rotation, FactError) else rotation,
        rotation_error=rotation if isinstance(rotation, FactError) else None,
        shared_with=shared_with,
    )
