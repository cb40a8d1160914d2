"""The demo's story: what the customer does, which events reach byok-guard, what must follow.

Each scenario is a list of steps; each step makes the customer's real API calls through boto3
against the emulator, delivers the events those calls produce (or, for lost events, none) and
states what byok-guard must end up with: the flag, reason codes, writes paused or not, how many
notifications the customer receives, the Aurora cluster's status. Every scenario leaves the
keys as it found them (healthy), so ``--scenario NAME`` can run any one after onboarding.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from byok_emulator import faults

from .events import cloudtrail_display_date, kms_api_call, rds_cluster_event
from .pipeline import Delivery, Pipeline
from .world import CLUSTER, ENV_ID, PLATFORM, REGION, DemoWorld

RECOVERABLE = "inaccessible-encryption-credentials-recoverable"
#: statements of the Aurora key policy that let the platform use the key (customer template Sids)
AURORA_PLATFORM_SIDS = ("BYOKPlatformAuroraViaService", "BYOKPlatformAuroraGrants")


@dataclass
class Context:
    world: DemoWorld
    pipeline: Pipeline
    memory: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)  # shown in the step's notes


@dataclass(frozen=True)
class Expect:
    flag: str
    reasons: tuple[str, ...] = ()  # must all be present
    writes_paused: bool | None = None
    notifications: int | None = None
    cluster_status: str | None = None


@dataclass(frozen=True)
class Step:
    name: str
    title: str
    action: Callable[[Context], list[Delivery]]
    expect: Expect


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    steps: tuple[Step, ...]


# ---- customer actions + event delivery ----------------------------------------------------------


def _key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[1]


def _customer_call(ctx: Context, operation: str, purpose: str, **params: Any) -> Delivery:
    """Make the customer's KMS call (typed key id, as a person would) and deliver its event."""
    world = ctx.world
    arn = world.key_arn(purpose)
    key_id = _key_id(arn)
    kms = world.customer_kms
    request: dict[str, Any] = {}
    response: dict[str, Any] | None = {}
    if operation == "DisableKey":
        kms.disable_key(KeyId=key_id)
    elif operation == "EnableKey":
        kms.enable_key(KeyId=key_id)
    elif operation == "PutKeyPolicy":
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=params["policy"])
        request = {
            "policyName": "default",
            "policy": params["policy"],
            "bypassPolicyLockoutSafetyCheck": False,
        }
        response = None  # CloudTrail records PutKeyPolicy with responseElements: null
    elif operation == "ScheduleKeyDeletion":
        days = int(params.get("days", 7))
        answer = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=days)
        ctx.facts["deletion_date"] = answer["DeletionDate"].date().isoformat()
        request = {"pendingWindowInDays": days}
        response = {
            "keyState": answer.get("KeyState", "PendingDeletion"),
            "deletionDate": cloudtrail_display_date(answer["DeletionDate"]),
        }
    elif operation == "CancelKeyDeletion":
        kms.cancel_key_deletion(KeyId=key_id)
    else:  # pragma: no cover - scenario authoring error
        raise ValueError(f"operation: unsupported {operation!r}")
    event = kms_api_call(
        operation, key_arn=arn, typed_key_id=key_id, request=request, response=response
    )
    if params.get("lost"):
        return Delivery(f"{operation} {purpose} (event lost)", [], [], 0.0, forwarded=False)
    return ctx.pipeline.customer_event(event, f"{operation} {purpose}")


def _aurora_policy(ctx: Context) -> dict[str, Any]:
    kms = ctx.world.customer_kms
    text = kms.get_key_policy(KeyId=_key_id(ctx.world.aurora_key_arn), PolicyName="default")
    return json.loads(text["Policy"])


# ---- steps ---------------------------------------------------------------------------------------


def onboarding(ctx: Context) -> list[Delivery]:
    import time

    started = time.perf_counter()
    result = ctx.world.register()
    elapsed = (time.perf_counter() - started) * 1000
    return [Delivery("byok env register", ["byok env register"], [result], elapsed)]


def disable_s3(ctx: Context) -> list[Delivery]:
    return [_customer_call(ctx, "DisableKey", "s3")]


def enable_s3(ctx: Context) -> list[Delivery]:
    return [_customer_call(ctx, "EnableKey", "s3")]


def drop_aurora_statements(ctx: Context) -> list[Delivery]:
    policy = _aurora_policy(ctx)
    ctx.memory["aurora_policy"] = json.dumps(policy, indent=2)
    kept = [s for s in policy["Statement"] if s.get("Sid") not in AURORA_PLATFORM_SIDS]
    ctx.facts["removed"] = ", ".join(AURORA_PLATFORM_SIDS)
    drifted = json.dumps({**policy, "Statement": kept}, indent=2)
    return [_customer_call(ctx, "PutKeyPolicy", "aurora", policy=drifted)]


def restore_aurora_statements(ctx: Context) -> list[Delivery]:
    original = ctx.memory.pop("aurora_policy")
    return [_customer_call(ctx, "PutKeyPolicy", "aurora", policy=original)]


def schedule_aurora_deletion(ctx: Context) -> list[Delivery]:
    first = _customer_call(ctx, "ScheduleKeyDeletion", "aurora", days=7)
    # what Aurora does on its own when its key becomes unusable: stop, recoverable for 7 days
    ctx.world.set_cluster_status(RECOVERABLE)
    event = rds_cluster_event(
        account=PLATFORM,
        region=REGION,
        cluster_id=CLUSTER,
        message=(
            f"DB cluster {CLUSTER} is in the {RECOVERABLE} state: the AWS KMS key used to "
            "encrypt it can't be accessed."
        ),
    )
    second = ctx.pipeline.platform_event(event, "RDS cluster event")
    flag = ctx.world.store.get_flag(ENV_ID)
    dates = [
        str(d.get("evidence", {}).get("deletion_date"))
        for d in (flag.details if flag else [])
        if d.get("evidence", {}).get("deletion_date")
    ]
    ctx.facts["flag_deletion_date"] = dates[0] if dates else None
    return [first, second]


def cancel_and_enable_aurora(ctx: Context) -> list[Delivery]:
    first = _customer_call(ctx, "CancelKeyDeletion", "aurora")
    second = _customer_call(ctx, "EnableKey", "aurora")
    return [first, second]


def throttled_sweep(ctx: Context) -> list[Delivery]:
    with faults.throttle(service="kms") as fault:
        delivery = ctx.pipeline.sweep("sweep, KMS throttled")
    ctx.facts["throttled_calls"] = fault.hits
    flag = ctx.world.store.get_flag(ENV_ID)
    if flag is not None:  # recorded, not acted on: UNKNOWN only after sustained failure
        ctx.facts["transient_failures"] = flag.transient_failures
        ctx.facts["last_transient_error"] = flag.last_transient_error or ""
    return [delivery]


def disable_s3_silently(ctx: Context) -> list[Delivery]:
    lost = _customer_call(ctx, "DisableKey", "s3", lost=True)
    return [lost, ctx.pipeline.sweep("sweep")]


def enable_s3_silently(ctx: Context) -> list[Delivery]:
    lost = _customer_call(ctx, "EnableKey", "s3", lost=True)
    return [lost, ctx.pipeline.sweep("sweep")]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "onboarding",
        "the customer launches the key stack; the platform registers the environment",
        (
            Step(
                "onboarding",
                "register the environment, first validation",
                onboarding,
                Expect("HEALTHY", writes_paused=False, notifications=0),
            ),
        ),
    ),
    Scenario(
        "s3-key-disabled",
        "the customer disables the S3 key, then enables it again",
        (
            Step(
                "disable-s3-key",
                "customer disables the S3 key",
                disable_s3,
                Expect("KEY_UNUSABLE", ("KEY_DISABLED",), writes_paused=True, notifications=1),
            ),
            Step(
                "enable-s3-key",
                "customer enables the S3 key",
                enable_s3,
                Expect("HEALTHY", writes_paused=False, notifications=1),
            ),
        ),
    ),
    Scenario(
        "aurora-policy-drift",
        "the customer drops the platform's Aurora key policy statements, then restores them",
        (
            Step(
                "aurora-policy-drift",
                "PutKeyPolicy without the platform's Aurora statements",
                drop_aurora_statements,
                Expect("AT_RISK", writes_paused=False, notifications=1),
            ),
            Step(
                "aurora-policy-restored",
                "PutKeyPolicy with the statements back",
                restore_aurora_statements,
                Expect("HEALTHY", writes_paused=False, notifications=1),
            ),
        ),
    ),
    Scenario(
        "aurora-key-deletion",
        "the customer schedules deletion of the Aurora key (the cluster stops), then cancels",
        (
            Step(
                "schedule-aurora-deletion",
                "ScheduleKeyDeletion (7 days); Aurora stops the cluster",
                schedule_aurora_deletion,
                Expect(
                    "KEY_UNUSABLE",
                    ("KEY_PENDING_DELETION",),
                    writes_paused=True,
                    notifications=1,  # the urgent one, with the deletion date
                    cluster_status=RECOVERABLE,
                ),
            ),
            Step(
                "cancel-deletion-and-enable",
                "CancelKeyDeletion + EnableKey; remediation starts the cluster",
                cancel_and_enable_aurora,
                # cancelled = Disabled, then enabled: by the time remediation hears the
                # Disabled change the flag is already HEALTHY, so that older change is stale and
                # ignored (no "enable the key" notice about a key that works); only "resolved"
                Expect("HEALTHY", writes_paused=False, notifications=1, cluster_status="available"),
            ),
        ),
    ),
    Scenario(
        "throttling-storm",
        "every KMS call of a sweep is throttled: no false alarm",
        (
            Step(
                "throttling-storm",
                "sweep while KMS answers ThrottlingException to every call",
                throttled_sweep,
                Expect("HEALTHY", writes_paused=False, notifications=0),
            ),
        ),
    ),
    Scenario(
        "lost-events",
        "the S3 key is disabled and every event is lost: the sweep finds it",
        (
            Step(
                "lost-events-sweep",
                "DisableKey with no event delivered; the next sweep",
                disable_s3_silently,
                Expect("KEY_UNUSABLE", ("KEY_DISABLED",), writes_paused=True, notifications=1),
            ),
            Step(
                "lost-events-recovered",
                "EnableKey (no event either); the next sweep",
                enable_s3_silently,
                Expect("HEALTHY", writes_paused=False, notifications=1),
            ),
        ),
    ),
)

SCENARIO_NAMES: tuple[str, ...] = tuple(s.name for s in SCENARIOS)


def selected(name: str | None) -> list[Scenario]:
    """All scenarios, or onboarding plus the one named (``KeyError`` for an unknown name)."""
    if name is None:
        return list(SCENARIOS)
    by_name = {s.name: s for s in SCENARIOS}
    if name not in by_name:
        raise KeyError(name)
    return (
        [by_name["onboarding"]] if name == "onboarding" else [by_name["onboarding"], by_name[name]]
    )
