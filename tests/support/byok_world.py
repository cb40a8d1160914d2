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

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from byok_emulator.platform_side import (
    create_encrypted_bucket,
    create_encrypted_cluster,
    create_platform_role,
)

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
REGION = "eu-west-1"
ROLE_NAME = "byok-platform"
ROLE_ARN = f"arn:aws:iam::{PLATFORM}:role/{ROLE_NAME}"
BUCKET = "platform-data-acme"
CLUSTER = "acme-db"
ENV_ID = "acme"
ENVIRONMENTS_TABLE = "byok-environments"
AUDIT_TABLE = "byok-audit"
IDEMPOTENCY_TABLE = "byok-idempotency"
HEALTH_BUS = "byok-health"
VALIDATE_QUEUE = "byok-validate"
CAPTURE_QUEUE = "byok-health-capture"


_BASE: list[boto3.session.Session] = []


def admin_session(account: str, region: str = REGION) -> boto3.session.Session:
    """A session acting in ``account`` (moto: assume-role into any account works).

    Sessions derive from one process-wide base session so botocore parses its models once.
    """
    from byok.aws.sessions import assumed_session

    if not _BASE:
        _BASE.append(boto3.session.Session(region_name=region))
    return assumed_session(
        _BASE[0],
        _BASE[0].client("sts", region_name=region),
        role_arn=f"arn:aws:iam::{account}:role/admin",
        session_name="byok-test-admin",
        region=region,
    )


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

    @property
    def customer_kms(self) -> Any:
        return self.customer.client("kms")

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

    def deps(self, **over: Any) -> Any:
        """``byok.service.Deps`` acting as the platform's Lambda role in this world."""
        from byok.aws.publisher import EventPublisher
        from byok.health import HealthSettings
        from byok.service import Deps, ServiceSettings

        settings = ServiceSettings(
            platform_role_arn=ROLE_ARN,
            health_event_bus=HEALTH_BUS,
            validate_queue_url=self.validate_queue_url,
            health=over.pop("health", HealthSettings()),
        )
        values: dict[str, Any] = {
            "store": self.store,
            "session_factory": lambda: self.platform,
            "settings": settings,
            "clock": self.clock,
            "publisher": EventPublisher(self.platform.client("events"), HEALTH_BUS),
            "sqs": self.platform.client("sqs"),
        }
        values.update(over)
        return Deps(**values)

    def published(self) -> list[dict[str, Any]]:
        """Health-changed events delivered so far (drains the capture queue)."""
        sqs = self.platform.client("sqs")
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

    def set_cluster_status(self, status: str) -> None:
        from moto.rds.models import rds_backends

        rds_backends[PLATFORM][REGION].clusters[self.env.cluster_id].status = status


def _create_key(kms: Any, description: str) -> str:
    return kms.create_key(
        Description=description, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT"
    )["KeyMetadata"]["Arn"]


def build_world(*, register: bool = True) -> World:
    """Create both accounts' resources (call inside ``mock_aws`` with the emulator installed)."""
    from byok.contract import render_policy
    from byok.models import Environment, Purpose
    from byok.store import Store, create_tables

    customer = admin_session(CUSTOMER)
    platform = admin_session(PLATFORM)

    kms = customer.client("kms")
    s3_key = _create_key(kms, "acme s3")
    aurora_key = _create_key(kms, "acme aurora")
    for purpose, arn in ((Purpose.S3, s3_key), (Purpose.AURORA, aurora_key)):
        policy = render_policy(purpose, arn, ROLE_ARN, full=True)
        kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
        kms.enable_key_rotation(KeyId=arn)

    create_platform_role(platform, ROLE_NAME, PLATFORM)
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
    events.create_event_bus(Name=HEALTH_BUS)
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
    return World(customer, platform, env, store, validate_url, capture_url)


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
