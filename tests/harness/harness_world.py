"""The AWS side of the local-invoke harness: the two-account world on the emulator's server.

The functions run in another process (the RIE), so the world lives on a moto server
(``byok_emulator.server``: moto + the extension that enforces KMS key states and makes S3 call
KMS) on 127.0.0.1, reached through ``AWS_ENDPOINT_URL``. It is the world of the scenario tests
(``tests/support/byok_world.py``), plus a rule on the default bus that copies ``byok.guard`` events
to a queue (the template's functions publish to the default bus), and the customer notification
topic (``NotificationTopic``) with a queue subscribed to it: the customer's inbox. Each function
runs with the credentials of its own role, created from the SAM-transformed template as deployed
(``byok_world.create_function_roles``), and moto's own IAM authoriser decides every call
(``conftest.harness``): a call the template does not allow fails the test.

The samples in ``events/`` name fixed ids (README there); ``sample_event`` rewrites them to the
ids this world created (key ids are random in moto), so each file goes in as written otherwise.
Expected results (``expected/<function>/<sample>.json``, written with this world's ids: environment
``acme``, cluster ``acme-db``) may ask for ``given`` steps first, e.g. ``{"disable_key": "s3"}``:
the verdict comes from the key as it is, not from the event.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import byok_world as bw

from byok_emulator import sam_template

EVENTS = sam_template.ROOT / "events"
EXPECTED = Path(__file__).resolve().parent / "expected"
SAMPLE_S3_KEY_ID = "1111aaaa-1111-4111-8111-111111111111"
SAMPLE_AURORA_KEY_ID = "2222bbbb-2222-4222-8222-222222222222"
SAMPLE_CLUSTER = "byok-demo-aurora"
SAMPLE_BUCKET = "byok-acme-prod-data"
SAMPLE_ENV = "acme-prod"
HEALTH_CAPTURE_QUEUE = "byok-default-bus-capture"
NOTIFICATION_TOPIC = bw.NOTIFICATION_TOPIC
INBOX_QUEUE = "byok-customer-inbox"


def notification_topic(session: Any) -> str:
    """The template's ``NotificationTopic`` on the emulator (its ARN)."""
    return str(session.client("sns").create_topic(Name=NOTIFICATION_TOPIC)["TopicArn"])


@dataclass
class HarnessWorld:
    world: bw.World
    endpoint_url: str
    default_bus_capture_url: str
    notification_topic_arn: str
    inbox_url: str

    @classmethod
    def build(cls, endpoint_url: str) -> HarnessWorld:
        """Build on the server behind ``AWS_ENDPOINT_URL`` (the caller sets it)."""
        world = bw.build_world(function_roles=True)
        sqs = world.platform.client("sqs")
        url = sqs.create_queue(QueueName=HEALTH_CAPTURE_QUEUE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = world.platform.client("events")
        events.put_rule(Name="capture", EventPattern=json.dumps({"source": ["byok.guard"]}))
        events.put_targets(Rule="capture", Targets=[{"Id": "capture", "Arn": arn}])
        topic = notification_topic(world.platform)
        inbox = sqs.create_queue(QueueName=INBOX_QUEUE)["QueueUrl"]
        inbox_arn = f"arn:aws:sqs:{bw.REGION}:{bw.PLATFORM}:{INBOX_QUEUE}"
        world.platform.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        return cls(world, endpoint_url, url, topic, inbox)

    # --- what the template's functions see -------------------------------------------------
    def resolver(self, template: Mapping[str, Any]) -> sam_template.Resolver:
        return bw.template_resolver(template, self.world.validate_queue_url)

    def credentials(self, function: str) -> dict[str, str]:
        """Credentials of ``function``'s own role (template.yaml as deployed in this world)."""
        session = self.world.function_session(function)
        creds = session.get_credentials().get_frozen_credentials()
        return {
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
            "AWS_SESSION_TOKEN": creds.token or "",
        }

    # --- samples ------------------------------------------------------------------------------
    def sample_event(self, path: Path) -> Any:
        """The sample with its fixed ids replaced by this world's."""
        env = self.world.env
        text = path.read_text()
        for old, new in (
            (SAMPLE_S3_KEY_ID, env.s3_key_arn.rsplit("/", 1)[1]),
            (SAMPLE_AURORA_KEY_ID, env.aurora_key_arn.rsplit("/", 1)[1]),
            (SAMPLE_BUCKET, env.bucket),
            (SAMPLE_CLUSTER, env.cluster_id),
        ):
            text = text.replace(old, new)
        text = re.sub(rf"(?<![\w-]){re.escape(SAMPLE_ENV)}(?![\w-])", env.environment_id, text)
        return json.loads(text)

    def expected(self, function: str, sample: Path) -> dict[str, Any]:
        """``expected/<function>/<sample>.json`` with ``<s3_key_arn>`` / ``<aurora_key_arn>``
        standing for this world's key ARNs (moto makes up key ids)."""
        text = (EXPECTED / function / sample.name).read_text()
        text = text.replace("<s3_key_arn>", self.world.env.s3_key_arn)
        text = text.replace("<aurora_key_arn>", self.world.env.aurora_key_arn)
        return json.loads(text)

    # --- given steps --------------------------------------------------------------------------
    def apply(self, steps: list[Mapping[str, Any]], event: Any) -> None:
        kms = self.world.customer_kms
        for step in steps:
            ((action, arg),) = step.items()
            key = self.world.env.s3_key_arn if arg == "s3" else self.world.env.aurora_key_arn
            if action == "disable_key":
                kms.disable_key(KeyId=key)
            elif action == "schedule_key_deletion":
                kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
            elif action == "cancel_key_deletion":
                kms.cancel_key_deletion(KeyId=key)
            elif action == "put_key_policy_from_event":
                policy = event["detail"]["requestParameters"]["policy"]
                kms.put_key_policy(
                    KeyId=key,
                    PolicyName="default",
                    Policy=policy,
                    BypassPolicyLockoutSafetyCheck=True,
                )
            elif action == "cluster_status":
                self.world.set_cluster_status(arg)
            elif action == "writes_paused":
                self.world.store.set_writes_paused(
                    self.world.env.environment_id, bool(arg), "given", "2026-11-24T09:20:00+00:00"
                )
            else:
                raise ValueError(f"given: unknown step {action!r}")

    # --- observations ---------------------------------------------------------------------------
    def flag(self) -> dict[str, Any] | None:
        flag = self.world.store.get_flag(self.world.env.environment_id)
        if flag is None:
            return None
        return {"status": flag.status.value, "reasons": list(flag.reasons)}

    def audit_count(self) -> int:
        return len(self.world.store.list_audit(self.world.env.environment_id))

    def published(self) -> list[dict[str, Any]]:
        """``byok.guard`` events the functions put on the default bus (drains the queue)."""
        return _drain(self.world.platform.client("sqs"), self.default_bus_capture_url)

    def notifications(self) -> list[dict[str, str]]:
        """What the customer's inbox received: each message's attributes plus its subject."""
        out = []
        for body in _drain(self.world.platform.client("sqs"), self.inbox_url):
            attributes = {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()}
            out.append({**attributes, "subject": body.get("Subject", ""), "body": body["Message"]})
        return out

    def writes_paused(self) -> bool:
        return self.world.store.writes_paused(self.world.env.environment_id)

    def cluster_status(self) -> str:
        rds = self.world.platform.client("rds")
        found = rds.describe_db_clusters(DBClusterIdentifier=self.world.env.cluster_id)
        return str(found["DBClusters"][0]["Status"])

    def queued_validations(self) -> list[dict[str, Any]]:
        sqs = self.world.platform.client("sqs")
        got = sqs.receive_message(
            QueueUrl=self.world.validate_queue_url, MaxNumberOfMessages=10
        ).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message body on the queue, parsed (the queue is left empty)."""
    out: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in got:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return out


def matches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Differences between an expected subset and the actual value (dicts: listed keys only;
    lists: same length, element by element; anything else: equal)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {value!r})")
            else:
                out += matches(value, actual[key], f"{where}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in matches(e, a, f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]
