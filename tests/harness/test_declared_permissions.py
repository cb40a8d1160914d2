"""Declared permissions, checked (Cloud Custodian's pattern; issue 11, Build 2).

Every module that calls AWS declares ``PERMISSIONS`` (``byok.permissions``). This test walks what
each handler reaches by running it: the four handlers of template.yaml are imported and invoked
in this process (``local_invoke.invoke_in_process``) with their template environment and the
credentials of their own role (the SAM-transformed template as deployed), under moto's own IAM
authoriser, on events that take every path that calls AWS (a key event that changes the flag and
is remembered, a PutKeyPolicy, a sweep and the validations it enqueues, a health change that
pauses writes and notifies, a scheduled remediation run). Every call each principal made is
recorded (``byok_emulator.iam_resources.recording``). Then, evaluated with ``byok.policy`` on the
resolved role policies:

- every call is declared by some module (a call nobody declared fails);
- each function's role grants every call it made (moto already refused anything else);
- no role grants anything beyond what the modules it reached declare, plus what Lambda itself
  does with the function's role (logs, traces, the failure destination, the SQS poller);
- the platform role's calls are declared as the platform role's, and the validation checks'
  declared KMS/S3/RDS permissions are exactly what platform/platform-role.yaml grants beyond the
  contract's service-side requests.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import byok_world as bw
import pytest
from harness_world import EVENTS
from local_invoke import invoke_in_process, load_handler_module
from moto import mock_aws

import byok_emulator
from byok.aws import iam_policies
from byok.contract import expectations, parties
from byok.models import Purpose
from byok.permissions import DECLARING_MODULES, As, Permission, Resource
from byok.policy import Request, evaluate, parse_policy
from byok.policy.handshake import identity_decision, identity_from_texts
from byok.validation.registry import REGISTRY
from byok_emulator import authoriser, iam_resources, sam_template
from byok_emulator.platform_side import platform_role_documents

TEMPLATE = sam_template.load()
SPECS = sam_template.functions(TEMPLATE)
P, R = bw.PLATFORM, bw.REGION


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{R}:{P}:{resource}"


#: each declared resource kind as ARN patterns in this world
PATTERNS: dict[Resource, tuple[str, ...]] = {
    Resource.ENVIRONMENTS_TABLE: (_arn("dynamodb", f"table/{bw.ENVIRONMENTS_TABLE}"),),
    Resource.ENVIRONMENTS_INDEX: (_arn("dynamodb", f"table/{bw.ENVIRONMENTS_TABLE}/index/*"),),
    Resource.AUDIT_TABLE: (_arn("dynamodb", f"table/{bw.AUDIT_TABLE}"),),
    Resource.IDEMPOTENCY_TABLE: (_arn("dynamodb", f"table/{bw.IDEMPOTENCY_TABLE}"),),
    Resource.VALIDATE_QUEUE: (_arn("sqs", bw.VALIDATE_QUEUE),),
    Resource.DEFAULT_BUS: (_arn("events", "event-bus/default"),),
    Resource.NOTIFICATION_TOPIC: (_arn("sns", bw.NOTIFICATION_TOPIC),),
    Resource.PLATFORM_ROLE: (bw.ROLE_ARN,),
    Resource.MANAGED_POLICY: (f"arn:aws:iam::{P}:policy/*", "arn:aws:iam::aws:policy/*"),
    Resource.ENVIRONMENT_CLUSTER: (_arn("rds", "cluster:acme-*"),),
    Resource.CUSTOMER_KEY: (f"arn:aws:kms:{R}:{bw.CUSTOMER}:key/*",),
    Resource.CANARY_OBJECT: (f"arn:aws:s3:::{bw.BUCKET}/byok-guard/canary/*",),
}


def _lambda_service(function: str, resolver: Any) -> set[tuple[str, str]]:
    """What Lambda itself does with the function's role (no byok code runs these), as
    (action, resource ARN)."""
    return {
        (action, "*" if logical == "*" else resolver.resolve({"Fn::GetAtt": [logical, "Arn"]}))
        for action, logical in _lambda_service_ids(function)
    }


def _lambda_service_ids(function: str) -> set[tuple[str, str]]:
    logical = SPECS[function].logical_id.replace("Function", "")
    out = {
        ("logs:createlogstream", f"{logical}LogGroup"),
        ("logs:putlogevents", f"{logical}LogGroup"),
        ("xray:puttracesegments", "*"),
        ("xray:puttelemetryrecords", "*"),
    }
    props = TEMPLATE["Resources"][SPECS[function].logical_id]["Properties"]
    if "EventInvokeConfig" in props:  # the asynchronous failure destination
        out.add(("sqs:sendmessage", "FunctionFailureQueue"))
    for event in props.get("Events", {}).values():
        if event["Type"] == "SQS":  # the event source mapping polls with the function's role
            for action in ("receivemessage", "deletemessage", "changemessagevisibility"):
                out.add((f"sqs:{action}", "ValidateQueue"))
            out.add(("sqs:getqueueattributes", "ValidateQueue"))
    return out


def declared() -> dict[str, tuple[Permission, ...]]:
    return {m: importlib.import_module(m).PERMISSIONS for m in DECLARING_MODULES}


def _matches(permission: Permission, action: str, resource: str) -> bool:
    return permission.action.lower() == action.lower() and any(
        fnmatch.fnmatchcase(resource, pattern) for pattern in PATTERNS[permission.resource]
    )


# --- exercising every handler ------------------------------------------------------------------


def _environment(world: bw.World, function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    resolver = bw.template_resolver(TEMPLATE, world.validate_queue_url)
    for name, value in SPECS[function].environment.items():
        monkeypatch.setenv(name, str(resolver.resolve(value)))
    creds = world.function_session(function).get_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds.token)
    monkeypatch.setenv("AWS_SECURITY_TOKEN", creds.token)  # botocore reads this one first


def _run(world: bw.World, function: str, event: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    iam_policies.clear_cache()  # each function is its own container
    with monkeypatch.context() as m:
        _environment(world, function, m)
        return invoke_in_process(load_handler_module(SPECS[function]), SPECS[function], event)


def _key_event(world: bw.World, name: str) -> dict[str, Any]:
    text = (EVENTS / "key_events" / f"{name}.json").read_text()
    text = text.replace("1111aaaa-1111-4111-8111-111111111111", world.env.s3_key_arn.split("/")[1])
    return json.loads(text)


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[bw.World, dict[str, set[tuple[str, str]]]]]:
    monkeypatch = pytest.MonkeyPatch()
    with mock_aws(), byok_emulator.behaviour():
        world = bw.build_world(function_roles=True)
        world.platform.client("sns").create_topic(Name=bw.NOTIFICATION_TOPIC)
        with authoriser.enabled(), iam_resources.recording() as calls:
            world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
            assert (
                _run(world, "key_events", _key_event(world, "disable_key"), monkeypatch)["status"]
                == "validated"
            )
            assert _run(world, "key_events", _key_event(world, "put_key_policy"), monkeypatch)
            schedule = json.loads((EVENTS / "sweep" / "scheduled_event.json").read_text())
            assert _run(world, "sweep", schedule, monkeypatch)["enqueued"] == 1
            # remediate each health change while it is the newest (an older one is ignored as
            # stale), so the writes-paused path runs too
            seen = _remediate_new(world, monkeypatch, 0)
            world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)  # validate changes the flag
            got = world.platform.client("sqs").receive_message(QueueUrl=world.validate_queue_url)
            records = [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": _arn("sqs", bw.VALIDATE_QUEUE),
                    "awsRegion": R,
                }
                for m in got["Messages"]
            ]
            assert _run(world, "validate", {"Records": records}, monkeypatch)
            _remediate_new(world, monkeypatch, seen)
            remind = json.loads((EVENTS / "remediate" / "scheduled_event.json").read_text())
            assert _run(world, "remediate", remind, monkeypatch)
        by_principal: dict[str, set[tuple[str, str]]] = defaultdict(set)
        for principal, action, resource in calls:
            if ":assumed-role/" in principal:
                by_principal[principal.split("/")[1]].add((action.lower(), resource))
        yield world, dict(by_principal)
    monkeypatch.undo()


def _role_of(function: str) -> str:
    return SPECS[function].logical_id.replace("Function", "Role")


def _role_policy(world: bw.World, function: str) -> tuple[Any, list[dict[str, Any]]]:
    transformed = sam_template.transformed(bw.TEMPLATE_PARAMETERS)
    resolver = bw.template_resolver(transformed, world.validate_queue_url)
    spec = sam_template.function_roles(transformed, resolver)[function]
    statements = [s for doc in spec.policies.values() for s in doc["Statement"]]
    principal = f"arn:aws:iam::{P}:role{spec.path}{spec.logical_id}"
    document = {"Statement": [{**s, "Principal": {"AWS": principal}} for s in statements]}
    return (parse_policy(json.dumps(document)), principal), statements


def _context(action: str) -> dict[str, str]:
    return {"events:source": "byok.guard"} if action == "events:putevents" else {}


def _remediate_new(world, monkeypatch, seen: int) -> int:
    """Run remediate on the health changes published since the first ``seen``; return the count."""
    events = world.published()
    for event in events[seen:]:
        if event["detail-type"] == "BYOK Environment Health Changed":
            event.setdefault("account", P)  # moto's EventBridge->SQS leaves it out
            assert _run(world, "remediate", event, monkeypatch)["status"] == "ok"
    return len(events)


@pytest.mark.parametrize("function", sorted(SPECS))
def test_each_call_is_declared_granted_and_nothing_more(recorded, function: str) -> None:
    world, by_principal = recorded
    calls = by_principal.get(_role_of(function), set())
    assert calls, f"{function} made no AWS call: the walk did not reach it"
    modules = declared()
    own = {m: [p for p in perms if p.principal is As.FUNCTION] for m, perms in modules.items()}

    undeclared = {c for c in calls if not any(_matches(p, *c) for ps in own.values() for p in ps)}
    assert undeclared == set(), f"{function}: calls no module declares"

    (policy, principal), statements = _role_policy(world, function)
    refused = {
        (a, r)
        for a, r in calls
        if not evaluate(policy, Request(principal, a, r, _context(a))).allowed
    }
    assert refused == set(), f"{function}'s role does not grant what it called"

    reached = [
        p for ps in own.values() if any(_matches(p, *c) for p in ps for c in calls) for p in ps
    ]
    service = _lambda_service(function, bw.template_resolver(TEMPLATE, world.validate_queue_url))
    beyond = []
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        targets = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for action in actions:
            for target in targets:
                by_lambda = (action.lower(), target) in service
                by_code = any(
                    p.action.lower() == action.lower()
                    and any(
                        fnmatch.fnmatchcase(target, pat) or fnmatch.fnmatchcase(pat, target)
                        for pat in PATTERNS[p.resource]
                    )
                    for p in reached
                )
                if not (by_lambda or by_code):
                    beyond.append((statement.get("Sid"), action, target))
    assert beyond == [], f"{function}'s role grants what no reached module declares"


def test_the_platform_roles_calls_are_declared_and_granted(recorded) -> None:
    _, by_principal = recorded
    calls = by_principal.get(bw.ROLE_NAME, set())
    assert calls, "the platform role made no call"
    platform = [p for ps in declared().values() for p in ps if p.principal is As.PLATFORM_ROLE]
    assert {c for c in calls if not any(_matches(p, *c) for p in platform)} == set()
    _, policies = platform_role_documents(
        bw.ROLE_NAME, P, [bw.CUSTOMER], parameters=bw.PLATFORM_PARAMETERS
    )
    identity = identity_from_texts([(n, json.dumps(d)) for n, d in policies.items()], bw.ROLE_ARN)
    for action, resource in calls:
        via = (
            {"kms:ViaService": f"s3.{R}.amazonaws.com"}
            if action in ("kms:generatedatakey", "kms:decrypt")
            else {}
        )
        decision = identity_decision(identity, Request(bw.ROLE_ARN, action, resource, via))
        assert decision.value == "allow", (action, resource)


def test_the_checks_declared_permissions_are_what_the_platform_role_grants() -> None:
    """The platform role's actions = the checks' declared KMS/S3/RDS permissions plus the
    contract's service-side requests (RDS's grants); nothing beyond, nothing missing."""
    _, policies = platform_role_documents("byok-guard-platform", P, [bw.CUSTOMER])
    granted = {
        a.lower()
        for d in policies.values()
        for s in d["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    checks = {
        p.lower()
        for check in REGISTRY.values()
        for p in check.permissions
        if p.split(":")[0] in ("kms", "s3", "rds")
    }
    key = f"arn:aws:kms:{R}:{bw.CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    contract = {
        e.action.lower()
        for purpose in Purpose
        for e in expectations(parties(purpose, key, bw.ROLE_ARN))
        if e.must_allow
    }
    assert checks <= granted, "a check needs what the platform role does not grant"
    assert granted == checks | contract, "the platform role grants what no check or contract needs"
