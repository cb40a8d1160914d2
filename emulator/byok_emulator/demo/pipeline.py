"""Delivering events the way EventBridge, the schedule and SQS would, and timing event -> flag.

- A customer's KMS call lands on the customer's default bus; the customer stack's forwarding rule
  (its pattern read back from the deployed rule) decides whether it reaches the platform's byok
  bus, where the template's rules route it to functions.
- RDS cluster events land on the platform's default bus and are routed by the template's rules.
- The sweep: the function(s) with a ``Schedule`` event get the scheduled event; the SQS queues
  they fill are drained into the Lambda SQS event of the function subscribed to each queue (the
  template's ``SQS`` events), and successfully handled messages are deleted (partial batch
  failures stay in the queue, as Lambda's poller would leave them).
- Health changes: the functions publish "BYOK Environment Health Changed" on the platform's
  default bus; a capture rule copies every ``byok.guard`` event to a queue, and each is routed by
  the template's rules (the ``remediate`` function's ``HealthChanged`` rule).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .events import scheduled_event, sqs_event
from .platform import matches
from .world import BUS_NAME, PLATFORM, REGION, DemoWorld

HEALTH_CHANGED = "BYOK Environment Health Changed"


@dataclass
class Delivery:
    """One event delivered: which functions it reached, what they answered, how long it took."""

    event: str
    routed: list[str]
    results: list[Any]
    latency_ms: float
    forwarded: bool = True


@dataclass
class RemediationRun:
    """The ``byok.guard`` events published during a step, where the rules sent them, answers."""

    routed: list[str] = field(default_factory=list)  # "remediate:HealthChanged", ...
    unrouted_health_changes: int = 0
    results: list[Any] = field(default_factory=list)


class Pipeline:
    def __init__(self, world: DemoWorld) -> None:
        self.world = world
        self.app = world.app

    # --- event sources -----------------------------------------------------------------------
    def customer_event(self, event: Mapping[str, Any], label: str) -> Delivery:
        """A customer-account event: forwarding rule first, then the byok bus rules."""
        started = time.perf_counter()
        forwarded = matches(self.world.forwarding_pattern, event)
        routes = self.app.routes_for(event, BUS_NAME) if forwarded else []
        results = [self.app.invoke(r.function, event) for r in routes]
        elapsed = (time.perf_counter() - started) * 1000
        names = [f"{r.function}:{r.rule}" for r in routes]
        return Delivery(label, names, results, elapsed, forwarded)

    def platform_event(self, event: Mapping[str, Any], label: str) -> Delivery:
        """An event on the platform account's default bus (RDS cluster events)."""
        started = time.perf_counter()
        routes = self.app.routes_for(event, "default")
        results = [self.app.invoke(r.function, event) for r in routes]
        elapsed = (time.perf_counter() - started) * 1000
        return Delivery(label, [f"{r.function}:{r.rule}" for r in routes], results, elapsed)

    def sweep(self, label: str = "scheduled sweep") -> Delivery:
        """The schedule fires; the queues it fills are consumed by their subscribers.

        Each scheduled function runs in template order, its queue work drained right after it;
        the clock stops when the last queue work is done (a scheduled run that fills no queue,
        such as remediation's reminders, is not on the path to the flag).
        """
        started = time.perf_counter()
        finished = started
        names: list[str] = []
        results: list[Any] = []
        for route in self.app.scheduled():
            rule = f"byok-guard-{route.function}-{route.rule}"
            event = scheduled_event(account=PLATFORM, region=REGION, rule_name=rule)
            results.append(self.app.invoke(route.function, event))
            names.append(f"{route.function}:{route.rule}")
            for function, queue_logical in self._sqs_subscriptions():
                drained = self._drain(function, queue_logical)
                if drained:
                    names.append(f"{function}:SQS({len(drained)})")
                    results.extend(drained)
                    finished = time.perf_counter()
        if finished == started:
            finished = time.perf_counter()
        return Delivery(label, names, results, (finished - started) * 1000)

    def _sqs_subscriptions(self) -> list[tuple[str, str]]:
        """(function, queue logical id) for every ``SQS`` event in the template."""
        found = []
        for function, spec in self.app.specs.items():
            resource = self.app.template["Resources"][spec.logical_id]
            for source in (resource.get("Properties", {}).get("Events") or {}).values():
                if source.get("Type") != "SQS":
                    continue
                queue = source["Properties"]["Queue"]
                logical = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
                if logical in self.world.queue_urls:
                    found.append((function, logical))
        return found

    def _drain(self, function: str, queue_logical: str) -> list[Any]:
        sqs = self.world.client(PLATFORM, "sqs")
        url = self.world.queue_urls[queue_logical]
        arn = f"arn:aws:sqs:{REGION}:{PLATFORM}:{url.rsplit('/', 1)[1]}"
        results: list[Any] = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return results
            answer = self.app.invoke(function, sqs_event(messages, queue_arn=arn))
            failed = {f["itemIdentifier"] for f in (answer or {}).get("batchItemFailures", [])}
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(done)
                    ],
                )
            results.append(answer)
            if failed:
                # Lambda's poller would retry after the visibility timeout; the demo stops here
                return results

    # --- health changes -> remediation ----------------------------------------------------------
    def remediate_pending(self) -> RemediationRun:
        """Route every captured ``byok.guard`` event by the template's default-bus rules."""
        run = RemediationRun()
        for event in self._captured():
            routes = self.app.routes_for(event, "default")
            if not routes and event.get("detail-type") == HEALTH_CHANGED:
                run.unrouted_health_changes += 1
            for route in routes:
                run.routed.append(f"{route.function}:{route.rule}")
                run.results.append(self.app.invoke(route.function, event))
        return run

    def health_routes(self) -> list[str]:
        """The rules a health change matches (shown in the output's header)."""
        probe = {"source": "byok.guard", "detail-type": HEALTH_CHANGED, "detail": {}}
        return [f"{r.function}:{r.rule}" for r in self.app.routes_for(probe, "default")]

    def _take_all(self, url: str) -> list[dict[str, Any]]:
        """Every message body (JSON) waiting in a queue, deleted once read."""
        sqs = self.world.client(PLATFORM, "sqs")
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not got:
                return out
            for message in got:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def _captured(self) -> list[dict[str, Any]]:
        """The ``byok.guard`` events the default bus delivered, as EventBridge delivers them:
        moto's SQS target leaves out the envelope's ``account`` (AWS always sets it, to the
        account of the bus), which the remediate function's envelope check requires."""
        events = self._take_all(self.world.capture_url)
        return [{"account": PLATFORM, **event} for event in events]

    def notifications(self) -> list[dict[str, str]]:
        """Messages the customer's inbox received since the last call (SNS -> SQS envelopes)."""
        out: list[dict[str, str]] = []
        for body in self._take_all(self.world.inbox_url):
            attributes = body.get("MessageAttributes") or {}
            out.append(
                {
                    "subject": body.get("Subject") or "",
                    "severity": (attributes.get("severity") or {}).get("Value", ""),
                    "message": body.get("Message") or "",
                }
            )
        return out
