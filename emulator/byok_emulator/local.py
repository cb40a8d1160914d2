"""A local platform to try ``byok env`` by hand: ``byok emulator start`` (docs/operations.md).

The embedded AWS (moto's server + this extension) on 127.0.0.1 with both accounts built exactly
as ``byok demo`` builds them (``DemoWorld.build``, so the two cannot drift apart): the platform
side of ``template.yaml`` (registry tables, the byok bus, every queue and topic, the platform
role, the environment's bucket and Aurora cluster) and a sample customer who launched
``customer/byok-keys.yaml``. Nothing is registered: registering is the operator's first command.

The Lambda functions do not run here (no rule delivers events): ``byok env validate`` runs the
same validation code path the functions do, on demand. ``customer_key_action`` plays the
customer breaking or fixing a key, through the running server, as the customer account.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import urllib.parse
from dataclasses import dataclass, field
from typing import IO, Any

from .demo.runner import logs_to
from .demo.world import (
    BUCKET,
    BUS_NAME,
    CLUSTER,
    CUSTOMER,
    ENV_ID,
    PLATFORM,
    PROCESS_ENV,
    REGION,
    ROLE_ARN,
    STACK,
    TABLES,
    DemoWorld,
)
from .platform_side import create_encrypted_bucket
from .server import EmulatorServer
from .server import start as start_server

__all__ = [
    "CUSTOMER_ACTIONS",
    "LocalPlatform",
    "customer_key_action",
    "start",
]

#: a second bucket of the platform account, encrypted with the sample customer's S3 key
SPARE_BUCKET = "byok-acme-prod-archive"

#: ``byok emulator customer ACTION``: the KMS call the customer makes on one of their keys
CUSTOMER_ACTIONS = {
    "disable-key": "disable_key",
    "enable-key": "enable_key",
}


@dataclass
class LocalPlatform:
    """A running local platform: the server and what was built on it."""

    server: EmulatorServer
    world: DemoWorld
    _logs: contextlib.ExitStack = field(default_factory=contextlib.ExitStack, repr=False)

    @property
    def exports(self) -> dict[str, str]:
        """What a shell needs for ``byok env`` to talk to this platform (emulator-only
        credentials of the platform account: moto's STS hands them out, AWS never would)."""
        creds = self.world.platform.get_credentials().get_frozen_credentials()
        return {
            "AWS_ENDPOINT_URL": self.server.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
            "AWS_SESSION_TOKEN": creds.token or "",
            "ENVIRONMENTS_TABLE": TABLES["EnvironmentsTable"],
            "AUDIT_TABLE": TABLES["AuditTable"],
            "PLATFORM_ROLE_ARN": ROLE_ARN,
            "HEALTH_EVENT_BUS": "default",
            "BYOK_S3_KEY_ARN": self.world.s3_key_arn,
            "BYOK_AURORA_KEY_ARN": self.world.aurora_key_arn,
        }

    def describe(self) -> list[str]:
        """What was built, for the terminal (within 100 columns)."""
        return [
            f"byok emulator: AWS (moto + byok_emulator) on {self.server.endpoint_url}; "
            "Ctrl-C stops it",
            f"platform {PLATFORM}: tables {', '.join(TABLES.values())}",
            f"  bus {BUS_NAME}, the queues and topics of template.yaml, role "
            f"{ROLE_ARN.split('/')[-1]}",
            f"  buckets {BUCKET}, {SPARE_BUCKET} (SSE-KMS with the s3 key)",
            f"  Aurora cluster {CLUSTER} (encrypted with the aurora key)",
            f"customer {CUSTOMER}: stack {STACK} (customer/byok-keys.yaml)",
            f"  s3 key     {self.world.s3_key_arn}",
            f"  aurora key {self.world.aurora_key_arn}",
            f"sample environment {ENV_ID}: not registered yet",
        ]

    def stop(self) -> None:
        self.server.stop()
        self._logs.close()


def start(port: int, log: IO[str]) -> LocalPlatform:
    """Start the server on 127.0.0.1:``port`` (0: any free port) and build both accounts.

    Sets this process's environment (endpoint, region, the platform account's credentials):
    the command owns its process for as long as the emulator runs.
    """
    logs = contextlib.ExitStack()
    logs.enter_context(logs_to(log))  # werkzeug's request lines and byok's logs: not the terminal
    try:
        server = start_server(port)
    except BaseException:
        logs.close()
        raise
    try:
        os.environ.update(PROCESS_ENV)
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        # any credentials do for the first STS call; build() replaces them with the platform's
        os.environ.update(
            AWS_ACCESS_KEY_ID="emulator", AWS_SECRET_ACCESS_KEY="emulator", AWS_SESSION_TOKEN=""
        )
        world = DemoWorld.build(server.endpoint_url, log)
        # a second bucket under the same key: something `byok env update` can move to
        create_encrypted_bucket(world.platform, SPARE_BUCKET, REGION, world.s3_key_arn)
    except BaseException:
        server.stop()
        logs.close()
        raise
    return LocalPlatform(server=server, world=world, _logs=logs)


def loopback_endpoint(endpoint_url: str | None) -> str:
    """``AWS_ENDPOINT_URL`` if it points at this machine; the customer commands never reach AWS."""
    if not endpoint_url:
        raise ValueError(
            "AWS_ENDPOINT_URL: not set; export the variables `byok emulator start` prints"
        )
    host = urllib.parse.urlsplit(endpoint_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"AWS_ENDPOINT_URL: expected the emulator on 127.0.0.1 (http://127.0.0.1:PORT), "
            f"got {endpoint_url!r}"
        )
    return endpoint_url


def customer_key_action(action: str, purpose: str, endpoint_url: str | None) -> str:
    """As the sample customer, call KMS ``action`` on their ``purpose`` key; returns its ARN.

    The key ARN comes from the customer stack's outputs (as the customer would read them).
    """
    import boto3

    from byok.aws.sessions import assumed_session

    if action not in CUSTOMER_ACTIONS:
        raise ValueError(f"action: expected one of {', '.join(CUSTOMER_ACTIONS)}, got {action!r}")
    if purpose not in ("s3", "aurora"):
        raise ValueError(f"purpose: expected s3 or aurora, got {purpose!r}")
    endpoint = loopback_endpoint(endpoint_url)
    base = boto3.session.Session(region_name=REGION)
    customer = assumed_session(
        base,
        base.client("sts", endpoint_url=endpoint),
        role_arn=f"arn:aws:iam::{CUSTOMER}:role/demo-admin",
        session_name="byok-emulator-customer",
        region=REGION,
    )
    cf = customer.client("cloudformation", endpoint_url=endpoint)
    outputs: dict[str, Any] = {
        o["OutputKey"]: o["OutputValue"]
        for o in cf.describe_stacks(StackName=STACK)["Stacks"][0].get("Outputs", [])
    }
    key_arn = str(outputs["S3KeyArn" if purpose == "s3" else "AuroraKeyArn"])
    kms = customer.client("kms", endpoint_url=endpoint)
    getattr(kms, CUSTOMER_ACTIONS[action])(KeyId=key_arn)
    return key_arn
