"""The demo's AWS: the emulator's moto server, the customer's stack, the platform's side.

Set-up, in the order a real onboarding happens:

1. ``byok_emulator.server.start()``: moto on 127.0.0.1 (free port) with the AWS-behaviour
   extension; this process's ``AWS_ENDPOINT_URL`` points at it (fake credentials only).
2. Two accounts by STS assume-role (moto gives each role's account): customer 111122223333,
   platform 444455556666.
3. The customer launches ``customer/byok-keys.yaml`` through CloudFormation (forwarding to the
   platform bus on); the two key ARNs come from the stack outputs.
4. The platform side: the tables (``byok.store.create_tables``), the byok bus, every queue and
   topic of ``template.yaml``, a customer "inbox" queue subscribed to the notification topic,
   the bucket (default SSE-KMS with the S3 key), the platform role, the Aurora cluster
   (aurora-postgresql, encrypted with the Aurora key), and a rule copying every ``byok.guard``
   event of the default bus to a queue (so the demo sees health changes and routes them).
5. ``byok env register`` (the CLI, in-process) registers the environment and runs its first
   validation.

The handlers then run in this process with the platform account's credentials in
``os.environ``, as a Lambda function's role would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import boto3

from byok_emulator.platform_side import (
    create_encrypted_bucket,
    create_encrypted_cluster,
    create_platform_role,
)

from .platform import ROOT, PlatformApp

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
REGION = "eu-west-1"
ENV_ID = "acme-prod"
ROLE_NAME = "byok-platform"
ROLE_ARN = f"arn:aws:iam::{PLATFORM}:role/{ROLE_NAME}"
BUS_NAME = "byok-guard"  # template.yaml parameter EventBusName (default)
BUS_ARN = f"arn:aws:events:{REGION}:{PLATFORM}:event-bus/{BUS_NAME}"
BUCKET = "byok-acme-prod-data"
CLUSTER = "byok-acme-prod-aurora"  # template.yaml ClusterNamePrefix (byok-): remediate may start it
STACK = "byok-keys-acme-prod"
CUSTOMER_TEMPLATE = ROOT / "customer" / "byok-keys.yaml"
#: physical names of the template's tables (store.create_tables creates them)
TABLES = {
    "EnvironmentsTable": "byok-environments",
    "AuditTable": "byok-audit",
    "IdempotencyTable": "byok-idempotency",
}
INBOX_QUEUE = "demo-customer-inbox"
HEALTH_CAPTURE_QUEUE = "demo-default-bus-capture"

#: set in this process for the demo's duration (restored afterwards)
PROCESS_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon here
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextlib.contextmanager
def process_environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for a block and restore them (the demo may run in a test)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    default_session = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = None  # credentials are read per session: start from ours
    try:
        yield
    finally:
        boto3.DEFAULT_SESSION = default_session
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


@dataclass
class DemoWorld:
    """Everything the scenarios touch; built by ``DemoWorld.build`` on a running server."""

    endpoint_url: str
    customer: boto3.session.Session
    platform: boto3.session.Session
    s3_key_arn: str
    aurora_key_arn: str
    app: PlatformApp
    store: Any  # byok.store.Store
    topic_arns: list[str]
    inbox_url: str
    capture_url: str
    queue_urls: dict[str, str]
    forwarding_pattern: str
    clients: dict[str, Any] = field(default_factory=dict)

    # --- construction ----------------------------------------------------------------------
    @classmethod
    def build(cls, endpoint_url: str, log: IO[str]) -> DemoWorld:
        base = boto3.session.Session(region_name=REGION)
        customer = _account_session(base, CUSTOMER)
        platform = _account_session(base, PLATFORM)
        creds = platform.get_credentials().get_frozen_credentials()
        # the functions' "execution role": the platform account's credentials for every
        # boto3 session the handlers (and the byok CLI) create in this process
        os.environ.update(
            AWS_ACCESS_KEY_ID=creds.access_key,
            AWS_SECRET_ACCESS_KEY=creds.secret_key,
            AWS_SESSION_TOKEN=creds.token or "",
        )
        boto3.DEFAULT_SESSION = None

        bus_arn = _platform_bus(platform)
        outputs, forwarding_pattern = _deploy_customer_stack(customer, bus_arn)
        s3_key, aurora_key = outputs["S3KeyArn"], outputs["AuroraKeyArn"]

        from byok.store import Store, create_tables

        dynamodb = platform.client("dynamodb")
        create_tables(
            dynamodb,
            TABLES["EnvironmentsTable"],
            TABLES["AuditTable"],
            TABLES["IdempotencyTable"],
        )
        refs, attrs, queue_urls = _template_resources(platform)
        refs.update(TABLES)
        refs["ByokEventBus"] = BUS_NAME
        attrs[("ByokEventBus", "Arn")] = bus_arn
        create_platform_role(platform, ROLE_NAME, PLATFORM, [CUSTOMER])
        create_encrypted_bucket(platform, BUCKET, REGION, s3_key)
        create_encrypted_cluster(platform, CLUSTER, aurora_key)
        capture_url = _health_capture(platform)

        app = PlatformApp(
            parameters={"PlatformRoleArn": ROLE_ARN, "CustomerAccountIds": CUSTOMER},
            refs=refs,
            attrs=attrs,
            region=REGION,
            account=PLATFORM,
            log=log,
            extra_env={"POWERTOOLS_TRACE_DISABLED": "true"},
        )
        topics = _notification_topics(app)
        inbox_url = _customer_inbox(platform, topics)
        store = Store(TABLES["EnvironmentsTable"], TABLES["AuditTable"], client=dynamodb)
        return cls(
            endpoint_url=endpoint_url,
            customer=customer,
            platform=platform,
            s3_key_arn=s3_key,
            aurora_key_arn=aurora_key,
            app=app,
            store=store,
            topic_arns=topics,
            inbox_url=inbox_url,
            capture_url=capture_url,
            queue_urls=queue_urls,
            forwarding_pattern=forwarding_pattern,
        )

    def client(self, account: str, service: str) -> Any:
        """One client per account and service for the whole run (built once, reused)."""
        key = f"{account}:{service}"
        if key not in self.clients:
            session = self.customer if account == CUSTOMER else self.platform
            self.clients[key] = session.client(service)
        return self.clients[key]

    @property
    def customer_kms(self) -> Any:
        return self.client(CUSTOMER, "kms")

    def key_arn(self, purpose: str) -> str:
        return self.s3_key_arn if purpose == "s3" else self.aurora_key_arn

    # --- onboarding --------------------------------------------------------------------------
    def register(self) -> dict[str, Any]:
        """``byok env register`` in this process (its first validation included)."""
        from byok.cli import main

        argv = [
            "env",
            "register",
            "--environment-id",
            ENV_ID,
            "--customer-account",
            CUSTOMER,
            "--region",
            REGION,
            "--s3-key-arn",
            self.s3_key_arn,
            "--aurora-key-arn",
            self.aurora_key_arn,
            "--bucket",
            BUCKET,
            "--cluster-id",
            CLUSTER,
            "--platform-role-arn",
            ROLE_ARN,
            "--environments-table",
            TABLES["EnvironmentsTable"],
            "--audit-table",
            TABLES["AuditTable"],
            "--format",
            "json",
        ]
        out, err = io.StringIO(), io.StringIO()
        env = {
            "PLATFORM_ROLE_ARN": ROLE_ARN,
            "HEALTH_EVENT_BUS": "default",
            "IDEMPOTENCY_TABLE": TABLES["IdempotencyTable"],
        }
        with (
            process_environment(env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(argv)
        if code != 0:
            raise RuntimeError(f"byok env register failed ({code}): {err.getvalue().strip()}")
        return json.loads(out.getvalue())

    # --- platform-side facts ---------------------------------------------------------------
    def cluster_status(self) -> str:
        rds = self.client(PLATFORM, "rds")
        return str(rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["Status"])

    def set_cluster_status(self, status: str) -> None:
        """What Aurora does by itself when it loses its key (moto cannot: set on its backend)."""
        from moto.rds.models import rds_backends

        rds_backends[PLATFORM][REGION].clusters[CLUSTER].status = status

    def writes_paused(self) -> bool:
        return bool(self.store.writes_paused(ENV_ID))


# ---- set-up helpers ----------------------------------------------------------------------------


def _account_session(base: boto3.session.Session, account: str) -> boto3.session.Session:
    """A session acting in ``account`` (moto: assume-role into any account gives that account)."""
    from byok.aws.sessions import assumed_session

    return assumed_session(
        base,
        base.client("sts"),
        role_arn=f"arn:aws:iam::{account}:role/demo-admin",
        session_name="byok-demo",
        region=REGION,
    )


def _platform_bus(platform: boto3.session.Session) -> str:
    """The byok bus, admitting the customer account (template: ByokEventBusAccountsPolicy)."""
    events = platform.client("events")
    arn = str(events.create_event_bus(Name=BUS_NAME)["EventBusArn"])
    events.put_permission(
        EventBusName=BUS_NAME,
        Action="events:PutEvents",
        Principal=CUSTOMER,
        StatementId="byok-guard-customer-accounts",
    )
    return arn


def _deploy_customer_stack(
    customer: boto3.session.Session, bus_arn: str
) -> tuple[dict[str, str], str]:
    """Launch customer/byok-keys.yaml as the customer would; outputs and the forwarding pattern."""
    cf = customer.client("cloudformation")
    parameters = {
        "EnvironmentId": ENV_ID,
        "PlatformAccountId": PLATFORM,
        "PlatformRoleName": ROLE_NAME,
        "PlatformRegion": REGION,
        "PlatformEventBusArn": bus_arn,
    }
    cf.create_stack(
        StackName=STACK,
        TemplateBody=CUSTOMER_TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = cf.describe_stacks(StackName=STACK)["Stacks"][0]
    if stack["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(
            f"customer stack: {stack['StackStatus']}: {stack.get('StackStatusReason')}"
        )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    rule_arn = outputs["KeyEventsForwardingRuleArn"]
    rule = customer.client("events").describe_rule(Name=rule_arn.rsplit("/", 1)[1])
    return outputs, str(rule["EventPattern"])


def _template_resources(
    platform: boto3.session.Session,
) -> tuple[dict[str, Any], dict[tuple[str, str], Any], dict[str, str]]:
    """Every queue and topic ``template.yaml`` declares, created; their Ref / GetAtt values."""
    from .platform import TEMPLATE, sam_template

    template = sam_template().load(TEMPLATE)
    sqs, sns = platform.client("sqs"), platform.client("sns")
    refs: dict[str, Any] = {}
    attrs: dict[tuple[str, str], Any] = {}
    queue_urls: dict[str, str] = {}
    for logical, resource in template["Resources"].items():
        name = f"byok-guard-{_kebab(logical)}"
        if resource["Type"] == "AWS::SQS::Queue":
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            refs[logical] = url
            queue_urls[logical] = url
            attrs[(logical, "Arn")] = f"arn:aws:sqs:{REGION}:{PLATFORM}:{name}"
            attrs[(logical, "QueueName")] = name
        elif resource["Type"] == "AWS::SNS::Topic":
            arn = sns.create_topic(Name=name)["TopicArn"]
            refs[logical] = arn
            attrs[(logical, "TopicName")] = name
    return refs, attrs, queue_urls


def _health_capture(platform: boto3.session.Session) -> str:
    """A queue receiving every ``byok.guard`` event put on the platform's default bus."""
    sqs = platform.client("sqs")
    url = sqs.create_queue(QueueName=HEALTH_CAPTURE_QUEUE)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{PLATFORM}:{HEALTH_CAPTURE_QUEUE}"
    events = platform.client("events")
    events.put_rule(
        Name="demo-capture-byok-guard", EventPattern=json.dumps({"source": ["byok.guard"]})
    )
    events.put_targets(Rule="demo-capture-byok-guard", Targets=[{"Id": "capture", "Arn": arn}])
    return str(url)


def _notification_topics(app: PlatformApp) -> list[str]:
    """The SNS topics the remediate function's environment names: its customer notifications."""
    if not app.has("remediate"):
        return []
    return sorted(
        {v for v in app.environment("remediate").values() if v.startswith("arn:aws:sns:")}
    )


def _customer_inbox(platform: boto3.session.Session, topics: list[str]) -> str:
    """An SQS queue subscribed to the notification topics: what the customer would receive."""
    sqs = platform.client("sqs")
    url = sqs.create_queue(QueueName=INBOX_QUEUE)["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{PLATFORM}:{INBOX_QUEUE}"
    for topic in topics:
        platform.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return str(url)
