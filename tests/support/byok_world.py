"""A two-account BYOK world on moto + ``byok_emulator``, for scenario and handler tests.

Customer account 111122223333 owns the two keys (policies from ``render_policy(full=True)``);
platform account 444455556666 owns the bucket (default SSE-KMS with the S3 key), the role
``byok-platform``, the Aurora cluster (aurora-postgresql, encrypted with the Aurora key), the
registry tables, the validate queue and the health bus (with a capture queue to read published
events). Build it inside ``mock_aws()`` + ``byok_emulator.behaviour()``; it takes a few tens of
milliseconds.

Usage (see ``tests/integration/conftest.py`` for the ``world`` fixture)::

    world = build_world()
    deps = world.deps()                      # byok.service.Deps wired to this world
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from byok_emulator.demo.world import CUSTOMER, PLATFORM, REGION, ROLE_ARN, ROLE_NAME
from byok_emulator.platform_side import (
    create_encrypted_bucket,
    create_encrypted_cluster,
    create_platform_role,
)

BUCKET = "platform-data-acme"
CLUSTER = "acme-db"
ENV_ID = "acme"
ENVIRONMENTS_TABLE = "byok-environments"
AUDIT_TABLE = "byok-audit"
IDEMPOTENCY_TABLE = "byok-idempotency"
#: template.yaml publishes health changes to the default bus (HEALTH_EVENT_BUS=default)
HEALTH_BUS = "default"
VALIDATE_QUEUE = "byok-validate"
CAPTURE_QUEUE = "byok-health-capture"
NOTIFICATION_TOPIC = "byok-notifications"
STACK = "byok-guard"
#: template.yaml's parameters for this world (clusters are named acme-...)
TEMPLATE_PARAMETERS = {
    "PlatformRoleArn": ROLE_ARN,
    "CustomerAccountIds": CUSTOMER,
    "ClusterNamePrefix": "acme-",
}
#: platform/platform-role.yaml's parameters for this world
PLATFORM_PARAMETERS = {"ByokStackName": STACK, "ClusterNamePrefix": "acme-"}
ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


_BASE: list[boto3.session.Session] = []


def admin_session(account: str, region: str = REGION) -> boto3.session.Session:
    """A session acting in ``account`` as its role ``admin``, which may do anything there.

    The role is created (with an allow-everything policy) on first use, so that setup calls pass
    moto's IAM authoriser when a test turns it on (``byok_emulator.authoriser``); create sessions
    before that. Sessions derive from one process-wide base session so botocore parses its
    models once.
    """
    from byok.aws.sessions import assumed_session

    if not _BASE:
        _BASE.append(boto3.session.Session(region_name=region))
    session = assumed_session(
        _BASE[0],
        _BASE[0].client("sts", region_name=region),
        role_arn=f"arn:aws:iam::{account}:role/admin",
        session_name="byok-test-admin",
        region=region,
    )
    iam = session.client("iam")
    try:
        iam.create_role(
            RoleName="admin",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        iam.put_role_policy(
            RoleName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY)
        )
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    return session


def template_resolver(
    template: Any, validate_queue_url: str, *, parameters: dict[str, str] | None = None
) -> Any:
    """Evaluates template.yaml's intrinsics with this world's physical ids (tables, queues,
    topic; log groups and queues the world has no use for get ARNs of their would-be names)."""
    from byok_emulator import sam_template

    def arn(service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{PLATFORM}:{resource}"

    tables = {
        "EnvironmentsTable": ENVIRONMENTS_TABLE,
        "AuditTable": AUDIT_TABLE,
        "IdempotencyTable": IDEMPOTENCY_TABLE,
    }
    attrs: dict[tuple[str, str], str] = {
        (logical, "Arn"): arn("dynamodb", f"table/{name}") for logical, name in tables.items()
    }
    for queue in ("ValidateDeadLetterQueue", "FunctionFailureQueue", "EventsDeadLetterQueue"):
        attrs[(queue, "Arn")] = arn("sqs", queue)
    attrs[("ValidateQueue", "Arn")] = arn("sqs", VALIDATE_QUEUE)
    for function in ("KeyEvents", "Sweep", "Validate", "Remediate"):
        attrs[(f"{function}LogGroup", "Arn")] = arn("logs", f"log-group:/byok/{function}:*")
    return sam_template.Resolver(
        template,
        {**TEMPLATE_PARAMETERS, **(parameters or {})},
        refs={
            **tables,
            "ValidateQueue": validate_queue_url,
            "NotificationTopic": arn("sns", NOTIFICATION_TOPIC),
        },
        attrs=attrs,
        region=REGION,
        account=PLATFORM,
        stack_name=STACK,
    )


def create_function_roles(platform: boto3.session.Session, validate_queue_url: str) -> dict:
    """Each function's role of the SAM-transformed template.yaml, as deployed into this world
    (intrinsics resolved to its resources), and a session with its credentials (what Lambda
    gives the function). Call before the authoriser goes on: Lambda, not a principal of the
    account, assumes these roles."""
    from byok.aws.sessions import assumed_session
    from byok_emulator import sam_template

    template = sam_template.transformed(TEMPLATE_PARAMETERS)
    roles = sam_template.function_roles(template, template_resolver(template, validate_queue_url))
    iam, sts = platform.client("iam"), platform.client("sts")
    sessions = {}
    for function, spec in roles.items():
        arn = iam.create_role(
            RoleName=spec.logical_id,
            Path=spec.path,
            AssumeRolePolicyDocument=json.dumps(spec.trust),
        )["Role"]["Arn"]
        for name, document in spec.policies.items():
            iam.put_role_policy(
                RoleName=spec.logical_id, PolicyName=name, PolicyDocument=json.dumps(document)
            )
        sessions[function] = assumed_session(
            platform, sts, role_arn=arn, session_name=f"lambda-{function}", region=REGION
        )
    return sessions


@dataclass
class Clock:
    """A settable clock for ``Deps``: tests move time forward explicitly."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@dataclass
class World:
    customer: boto3.session.Session
    platform: boto3.session.Session
    env: Any  # byok.models.Environment (registered)
    store: Any  # byok.store.Store
    validate_queue_url: str
    capture_queue_url: str
    clock: Clock = field(default_factory=Clock)
    #: function folder -> session with that function's role (``build_world(function_roles=True)``)
    function_sessions: dict[str, boto3.session.Session] = field(default_factory=dict)

    @functools.cached_property
    def customer_kms(self) -> Any:
        return self.customer.client("kms")

    @functools.cached_property
    def platform_sqs(self) -> Any:
        """One SQS client for the tests' queue reads (a client costs tens of milliseconds)."""
        return self.platform.client("sqs")

    def environ(self) -> dict[str, str]:
        """The Lambda environment variables of the platform functions for this world."""
        return {
            "ENVIRONMENTS_TABLE": ENVIRONMENTS_TABLE,
            "AUDIT_TABLE": AUDIT_TABLE,
            "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
            "PLATFORM_ROLE_ARN": ROLE_ARN,
            "HEALTH_EVENT_BUS": HEALTH_BUS,
            "VALIDATE_QUEUE_URL": self.validate_queue_url,
            "UNKNOWN_AFTER_FAILURES": "3",
            "UNKNOWN_AFTER_MINUTES": "15",
        }

    def function_session(self, function: str) -> boto3.session.Session:
        """The session of ``function``'s role, or the platform admin's in a world without roles."""
        if not self.function_sessions:
            return self.platform
        return self.function_sessions[function]

    def drop_actions(self, function: str, actions: set[str]) -> None:
        """Remove ``actions`` from ``function``'s role policies (a broken deployment)."""
        from byok_emulator import sam_template

        iam = self.platform.client("iam")
        role = _role_name(sam_template.functions(sam_template.load())[function].logical_id)
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            document = json.loads(document) if isinstance(document, str) else document
            for statement in document["Statement"]:
                listed = statement["Action"]
                listed = listed if isinstance(listed, list) else [listed]
                statement["Action"] = [a for a in listed if a not in actions] or ["none:None"]
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))

    def deps(self, function: str = "validate", **over: Any) -> Any:
        """``byok.service.Deps`` acting as ``function``'s Lambda role in this world."""
        from byok.aws.publisher import EventPublisher
        from byok.health import HealthSettings
        from byok.service import Deps, ServiceSettings
        from byok.store import Store

        session = self.function_session(function)
        settings = ServiceSettings(
            platform_role_arn=ROLE_ARN,
            health_event_bus=HEALTH_BUS,
            validate_queue_url=self.validate_queue_url,
            health=over.pop("health", HealthSettings()),
        )
        store = Store(ENVIRONMENTS_TABLE, AUDIT_TABLE, client=session.client("dynamodb"))
        values: dict[str, Any] = {
            "store": store,
            "session_factory": lambda: session,
            "settings": settings,
            "clock": self.clock,
            "publisher": EventPublisher(session.client("events"), HEALTH_BUS),
            "sqs": session.client("sqs"),
        }
        values.update(over)
        return Deps(**values)

    def published(self) -> list[dict[str, Any]]:
        """Health-changed events delivered so far (drains the capture queue)."""
        sqs = self.platform_sqs
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.capture_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.capture_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def register_registry_only(self, n: int) -> list[str]:
        """``n`` environments in the registry only (``env-000``...; their keys, buckets and
        clusters do not exist: for sweeps, which never call them); their ids."""
        import uuid

        from byok.models import Environment

        ids = []
        for i in range(n):
            env = Environment.create(
                environment_id=f"env-{i:03d}",
                customer_account=CUSTOMER,
                region=REGION,
                s3_key_arn=f"arn:aws:kms:{REGION}:{CUSTOMER}:key/{uuid.UUID(int=2 * i + 1)}",
                aurora_key_arn=f"arn:aws:kms:{REGION}:{CUSTOMER}:key/{uuid.UUID(int=2 * i + 2)}",
                bucket=f"registry-only-{i}-data",
                cluster_id=f"env-{i:03d}-db",
            )
            self.store.register(env)
            ids.append(env.environment_id)
        return ids

    def set_cluster_status(self, status: str) -> None:
        from moto.rds.models import rds_backends

        rds_backends[PLATFORM][REGION].clusters[self.env.cluster_id].status = status


def _create_key(kms: Any, description: str) -> str:
    return kms.create_key(
        Description=description, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT"
    )["KeyMetadata"]["Arn"]


def _role_name(logical_id: str) -> str:
    return logical_id.replace("Function", "Role")


def build_world(
    *,
    register: bool = True,
    function_roles: bool = False,
    platform_role_omits: tuple[str, ...] = (),
) -> World:
    """Create both accounts' resources (call inside ``mock_aws`` with the emulator installed).

    ``function_roles``: also create template.yaml's function roles (``World.deps(function)``
    then acts as that function's role; needs the SAM transform, ``make tools-sam``).
    ``platform_role_omits``: actions left out of the platform role's identity policy."""
    from byok.aws.iam_policies import clear_cache
    from byok.contract import render_policy
    from byok.models import Environment, Purpose
    from byok.store import Store, create_tables

    clear_cache()  # the platform role's policies are cached per process ("per container")
    customer = admin_session(CUSTOMER)
    platform = admin_session(PLATFORM)

    kms = customer.client("kms")
    s3_key = _create_key(kms, "acme s3")
    aurora_key = _create_key(kms, "acme aurora")
    for purpose, arn in ((Purpose.S3, s3_key), (Purpose.AURORA, aurora_key)):
        policy = render_policy(purpose, arn, ROLE_ARN, full=True)
        kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
        kms.enable_key_rotation(KeyId=arn)

    create_platform_role(  # in-house environments (keys of the platform account) too
        platform,
        ROLE_NAME,
        PLATFORM,
        [CUSTOMER, PLATFORM],
        parameters=PLATFORM_PARAMETERS,
        omit_actions=platform_role_omits,
    )
    create_encrypted_bucket(platform, BUCKET, REGION, s3_key)
    create_encrypted_cluster(platform, CLUSTER, aurora_key)

    create_tables(platform.client("dynamodb"), ENVIRONMENTS_TABLE, AUDIT_TABLE, IDEMPOTENCY_TABLE)
    store = Store(ENVIRONMENTS_TABLE, AUDIT_TABLE, client=platform.client("dynamodb"))

    sqs = platform.client("sqs")
    validate_url = sqs.create_queue(QueueName=VALIDATE_QUEUE)["QueueUrl"]
    capture_url = sqs.create_queue(QueueName=CAPTURE_QUEUE)["QueueUrl"]
    capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events = platform.client("events")
    events.put_rule(
        Name="capture-health",
        EventBusName=HEALTH_BUS,
        EventPattern=json.dumps({"source": ["byok.guard"]}),
    )
    events.put_targets(
        Rule="capture-health",
        EventBusName=HEALTH_BUS,
        Targets=[{"Id": "capture", "Arn": capture_arn}],
    )

    env = Environment.create(
        environment_id=ENV_ID,
        customer_account=CUSTOMER,
        region=REGION,
        s3_key_arn=s3_key,
        aurora_key_arn=aurora_key,
        bucket=BUCKET,
        cluster_id=CLUSTER,
    )
    if register:
        store.register(env)
    sessions = create_function_roles(platform, validate_url) if function_roles else {}
    return World(
        customer, platform, env, store, validate_url, capture_url, function_sessions=sessions
    )


# ---- events in the real shapes (from the events/ samples) -----------------------------------

_SAMPLES = Path(__file__).resolve().parents[2] / "events" / "key_events"


def cloudtrail_event(
    event_name: str,
    key_arn: str,
    *,
    at: datetime | None = None,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """A forwarded "AWS API Call via CloudTrail" KMS event for ``key_arn`` (customer account)."""
    event = json.loads((_SAMPLES / "disable_key.json").read_text())
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = event["detail"]
    account = key_arn.split(":")[4]
    event.update(id=str(uuid.uuid4()), time=when, account=account)
    detail.update(
        eventTime=when,
        eventName=event_name,
        eventID=event_id or str(uuid.uuid4()),
        requestParameters={"keyId": key_arn, **(request or {})},
        responseElements={"keyId": key_arn, **(response or {})},
        resources=[{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
        recipientAccountId=account,
    )
    return event


def rds_cluster_event(
    cluster_id: str, message: str, *, at: datetime | None = None
) -> dict[str, Any]:
    """An "RDS DB Cluster Event" on the platform account's default bus."""
    event = json.loads((_SAMPLES / "rds_cluster_event.json").read_text())
    when = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = f"arn:aws:rds:{REGION}:{PLATFORM}:cluster:{cluster_id}"
    event.update(id=str(uuid.uuid4()), time=when, account=PLATFORM, region=REGION, resources=[arn])
    event["detail"].update(SourceIdentifier=cluster_id, SourceArn=arn, Message=message, Date=when)
    return event


def key_access_error_event(key_arn: str, error_code: str, *, at: datetime | None = None) -> dict:
    """A platform service's "BYOK Key Access Error" report (source ``byok.platform``)."""
    event = json.loads((_SAMPLES / "key_access_error.json").read_text())
    when = (at or datetime.now(UTC)).astimezone(UTC)
    event.update(id=str(uuid.uuid4()), time=when.strftime("%Y-%m-%dT%H:%M:%SZ"), account=PLATFORM)
    event["detail"].update(
        environment_id=ENV_ID,
        key_arn=key_arn,
        error_code=error_code,
        error_message=f"{key_arn} is disabled.",
        observed_at=when.isoformat().replace("+00:00", "Z"),
        bucket=BUCKET,
    )
    return event
