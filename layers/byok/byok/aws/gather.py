"""Gather the facts for one environment: the fetch half of fetch-then-evaluate.

Every AWS read runs here (as the platform role) and every failure is kept as a classified
``FactError`` next to the fact it concerns, so ``byok.validation.validate`` stays pure. Reads run
in a small thread pool: an event-triggered validation is on the event-to-flag path.

The platform role's session and clients come from a ``PlatformAccess`` (``byok.aws.sts``): one
AssumeRole per container and credential lifetime, not per validation. KMS reads wait for the
container's share of the KMS quota (``byok.aws.kms_limit``). A scheduled validation may be light
(``byok.probing``): key metadata and the cluster first, the canary and rotation only when
``full`` says the metadata calls for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import boto3

from byok.aws import kms as kms_api
from byok.aws.errors import classify, client_config
from byok.aws.iam_policies import cached_platform_identity
from byok.aws.kms_limit import KmsRateLimiter
from byok.aws.rds import describe_cluster
from byok.aws.s3_probe import DEFAULT_CANARY_PREFIX, probe_bucket
from byok.aws.sts import PlatformAccess
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

#: after the metadata of both keys: True to run the canary and the rotation reads now
FullAfterMetadata = Callable[[Mapping[Purpose, KeyMetadata | FactError]], bool]


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
    platform: PlatformAccess | boto3.session.Session,
    *,
    platform_role_arn: str,
    trigger: Trigger | None = None,
    canary_prefix: str = DEFAULT_CANARY_PREFIX,
    shared_with: dict[Purpose, tuple[str, ...]] | None = None,
    known_policies: dict[Purpose, tuple[str, ...]] | None = None,
    limiter: KmsRateLimiter | None = None,
    full: FullAfterMetadata | None = None,
) -> Facts:
    """Read keys, probe S3 and read the cluster as the platform role, concurrently.

    ``platform``: a ``PlatformAccess`` (cached role session), or a plain session from which the
    role is assumed for this call only. ``full``: None runs everything at once; otherwise the
    metadata and the cluster are read first and the canary and rotation only if ``full(meta)``.
    ``known_policies``: (policy text, source, *texts tied with it in the same CloudTrail second)
    per purpose from earlier ``PutKeyPolicy`` events,
    used only when GetKeyPolicy fails (always, across accounts); else the trigger's own text.
    """
    access = (
        platform
        if isinstance(platform, PlatformAccess)
        else PlatformAccess(platform, platform_role_arn)
    )
    try:
        kms = access.client("kms", env.region)
        s3 = access.client("s3", env.region)
        rds = access.client("rds", env.region)
    except Exception as exc:  # every failure to get credentials is a fact, never a crash
        return Facts(access_error=classify(exc, "AssumeRole"))
    platform_account = RoleArn.parse(platform_role_arn, "platform_role_arn").account

    def paced(operation: str, call: Callable[[], Any]) -> Callable[[], Any]:
        if limiter is None:
            return call
        return lambda: (limiter.acquire(operation, platform_account, env.region), call())[1]

    first: dict[str, Callable[[], Any]] = {}
    rest: dict[str, Callable[[], Any]] = {}
    for purpose in Purpose:
        arn = env.key_arn(purpose)
        first[f"{purpose}.metadata"] = paced(
            "DescribeKey", lambda arn=arn: kms_api.describe_key(kms, arn)
        )
        if KeyArn.parse(arn).account == platform_account:
            first[f"{purpose}.policy"] = paced(
                "GetKeyPolicy", lambda arn=arn: kms_api.get_key_policy(kms, arn)
            )
        else:  # KMS: "GetKeyPolicy. Cross-account use: No." Do not spend a call to learn it.
            first[f"{purpose}.policy"] = lambda: CROSS_ACCOUNT_POLICY
        rest[f"{purpose}.rotation"] = paced(
            "GetKeyRotationStatus", lambda arn=arn: kms_api.get_rotation_status(kms, arn)
        )
    rest["s3_probe"] = lambda: probe_bucket(
        s3,
        env.bucket,
        env.s3_key_arn,
        prefix=canary_prefix,
        environment_id=env.environment_id,
    )
    first["cluster"] = lambda: describe_cluster(rds, env.cluster_id)
    # the identity half: the platform role's own policies, read by the function's role
    first["identity"] = lambda: cached_platform_identity(
        lambda: access.base.client("iam", config=client_config()), platform_role_arn
    )
    with ThreadPoolExecutor(max_workers=_MAX_WORKERS) as pool:
        if full is None:
            got = _run(pool, {**first, **rest})
        else:
            got = _run(pool, first)
            metadata = {p: got[f"{p}.metadata"] for p in Purpose}
            if full(metadata):
                got.update(_run(pool, rest))

    keys: dict[Purpose, KeyFacts] = {}
    for purpose in Purpose:
        keys[purpose] = _key_facts(
            env.key_arn(purpose),
            purpose,
            got[f"{purpose}.metadata"],
            got[f"{purpose}.policy"],
            got.get(f"{purpose}.rotation"),
            (known_policies or {}).get(purpose) or event_policy(trigger, env.key_arn(purpose)),
            (shared_with or {}).get(purpose, ()),
        )
    return Facts(
        keys=keys,
        s3_probe=got.get("s3_probe"),
        cluster=got["cluster"],
        platform_identity=got["identity"],
    )


def _run(pool: ThreadPoolExecutor, tasks: Mapping[str, Callable[[], Any]]) -> dict[str, Any]:
    futures = {name: pool.submit(task) for name, task in tasks.items()}
    return {name: future.result() for name, future in futures.items()}


def _key_facts(
    arn: str,
    purpose: Purpose,
    metadata: KeyMetadata | FactError,
    policy: str | FactError,
    rotation: bool | FactError | None,
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
        rotation_enabled=rotation if isinstance(rotation, bool) else None,
        rotation_error=rotation if isinstance(rotation, FactError) else None,
        shared_with=shared_with,
    )
