"""Every sample in ``events/<function>/`` through its function, as ``sam local invoke`` runs it.

Each function of template.yaml runs behind the Lambda Runtime Interface Emulator of the aws-sam-cli
wheel (``local_invoke.LocalFunction``) with its Handler, CodeUri, layer and Environment from the
template, against the emulator's moto server. The expected result of each sample is written down
in ``expected/<function>/<sample>.json``: ``given`` steps applied to the world first (the verdict
comes from the key as it is, never from the event), then the expected ``response`` (a subset),
the environment's ``flag`` afterwards, the statuses ``published`` on the default bus, and for the
sweep the number of validations ``queued``; for remediate the ``byok.guard`` detail-types
``published_types``, the customer ``notifications`` (message attributes and subject, a subset),
``writes_paused`` and the ``cluster_status`` afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from harness_world import EVENTS, EXPECTED, HarnessWorld, matches
from local_invoke import LocalFunction, lambda_environment

from byok_emulator import faults, sam_template

TEMPLATE = sam_template.load()
SPECS = sam_template.functions(TEMPLATE)
SAMPLES = [(fn, p) for fn in sorted(SPECS) for p in sorted((EVENTS / fn).glob("*.json"))]


def _local(harness: HarnessWorld, function: str, **extra: str) -> LocalFunction:
    spec = SPECS[function]
    env = lambda_environment(
        spec,
        harness.resolver(TEMPLATE),
        endpoint_url=harness.endpoint_url,
        credentials=harness.credentials(function),
        region="eu-west-1",
        extra=extra,
    )
    return LocalFunction(spec, env)


def test_every_sample_has_an_expected_result_and_no_expectation_is_orphaned() -> None:
    samples = {(fn, p.name) for fn, p in SAMPLES}
    expectations = {(p.parent.name, p.name) for p in EXPECTED.glob("*/*.json")}
    missing_functions = set(SPECS) - {fn for fn, _ in samples}
    assert not missing_functions, f"add sample events in events/<function>/ for {missing_functions}"
    assert samples - expectations == set(), "write tests/harness/expected/<function>/<sample>"
    assert expectations - samples == set(), "expected results for samples that do not exist"


#: an AccessDenied a call got (moto's authoriser or a key policy), in AWS's wording; a sample's
#: own text (a failed CloudTrail call carries errorCode AccessDenied) is not one
_DENIED = re.compile(
    r"(?:AccessDenied\w*\W{1,9}(?:User: )?)?\S+ is not authorized to perform: [\w:*-]+"
    r"|Access Denied"
)


def _denials(logs: str) -> list[str]:
    """Every AccessDenied the function met: each fails the sample."""
    return [m.group(0) for m in _DENIED.finditer(logs)]


def run_sample(harness: HarnessWorld, function: str, sample: Path) -> None:
    """One sample through its function; raises AssertionError on any difference, and on any
    AccessDenied the function met (even one it handled), so a missing permission always fails."""
    expected = harness.expected(function, sample)
    event = harness.sample_event(sample)
    harness.apply(expected.get("given", []), event)
    with _local(harness, function) as fn:
        result = fn.invoke(event)
        logs = fn.logs()
    assert _denials(logs) == [], "denied calls:\n" + "\n".join(_denials(logs))
    assert result.ok, f"{result.error}\n{logs[-4000:]}"
    assert matches(expected["response"], result.payload) == [], result.payload
    if "flag" in expected:
        assert matches(expected["flag"], harness.flag()) == []
    published = harness.published()
    if "published" in expected:
        assert [e["detail"]["status"] for e in published] == expected["published"]
    if "published_types" in expected:
        assert [e["detail-type"] for e in published] == expected["published_types"]
    if "queued" in expected:
        assert len(harness.queued_validations()) == expected["queued"]
    if "notifications" in expected:
        assert matches(expected["notifications"], harness.notifications()) == []
    if "writes_paused" in expected:
        assert harness.writes_paused() is expected["writes_paused"]
    if "cluster_status" in expected:
        assert harness.cluster_status() == expected["cluster_status"]


@pytest.mark.slow
@pytest.mark.parametrize(("function", "sample"), SAMPLES, ids=[f"{f}/{p.stem}" for f, p in SAMPLES])
def test_sample_through_local_invoke(harness: HarnessWorld, function: str, sample: Path) -> None:
    run_sample(harness, function, sample)


@pytest.mark.slow
def test_same_event_twice_validates_once(harness: HarnessWorld) -> None:
    """Idempotency on the event id: the second delivery returns the first result (its request
    id) without validating again; one audit record, one health-changed event."""
    event = harness.sample_event(EVENTS / "key_events" / "disable_key.json")
    harness.apply([{"disable_key": "s3"}], event)
    with _local(harness, "key_events") as fn:
        first = fn.invoke(event)
        harness.world.customer_kms.enable_key(KeyId=harness.world.env.s3_key_arn)
        second = fn.invoke(event)
    assert first.payload["duplicate"] is False
    assert second.payload["duplicate"] is True
    assert second.payload["request_id"] == first.payload["request_id"]
    assert second.payload["outcomes"] == first.payload["outcomes"]
    assert harness.flag() == {"status": "KEY_UNUSABLE", "reasons": ["KEY_DISABLED"]}
    assert harness.audit_count() == 1
    assert len(harness.published()) == 1


@pytest.mark.slow
def test_malformed_event_gets_a_structured_error_not_a_crash(harness: HarnessWorld) -> None:
    event = harness.sample_event(EVENTS / "key_events" / "disable_key.json")
    event["detail-type"] = "Something Else"
    with _local(harness, "key_events") as fn:
        result = fn.invoke(event)
    assert result.ok
    assert result.payload["status"] == "error"
    assert result.payload["error"]["code"] == "INVALID_EVENT"
    assert result.payload["error"]["message"].startswith("detail-type:")
    assert harness.flag() is None


@pytest.mark.slow
def test_misconfigured_function_fails_loudly(harness: HarnessWorld) -> None:
    """A bad environment is an invocation error (retried, then the DLQ and its alarm), never an
    event silently dropped."""
    event = harness.sample_event(EVENTS / "key_events" / "disable_key.json")
    with _local(harness, "key_events", PLATFORM_ROLE_ARN="not-an-arn") as fn:
        result = fn.invoke(event)
    assert result.error is not None
    assert "PLATFORM_ROLE_ARN" in result.error["errorMessage"]


@pytest.mark.slow
def test_validate_reports_only_the_failed_record(harness: HarnessWorld) -> None:
    """The health-changed event cannot be published (EventBridge throttles): the record whose
    validation changed the flag fails alone and will be redelivered; the other succeeds."""
    event = harness.sample_event(EVENTS / "validate" / "sqs_batch.json")
    with (
        faults.throttle(service="events", operations={"PutEvents"}, times=None),
        # one botocore attempt per call: the publisher's own in-place retries are what is tested
        _local(harness, "validate", AWS_MAX_ATTEMPTS="1") as fn,
    ):
        result = fn.invoke(event)
    assert result.ok, result.error
    failed = [f["itemIdentifier"] for f in result.payload["batchItemFailures"]]
    assert failed == [event["Records"][0]["messageId"]]


def _as_sqs_event(bodies: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """What the SQS event source mapping hands the validate function."""
    return {
        "Records": [
            {
                "messageId": f"00000000-0000-4000-8000-{i:012d}",
                "receiptHandle": f"handle-{i}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "eu-west-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


@pytest.mark.slow
def test_sweep_then_validate_under_kms_throttling_leaves_the_flag(harness: HarnessWorld) -> None:
    """The scheduled path end to end (sweep -> queue -> validate), twice: first a healthy
    verdict, then a sweep during which every KMS call is throttled. Throttling is no evidence
    about a key: the flag stays HEALTHY and nothing is published."""
    schedule = json.loads((EVENTS / "sweep" / "scheduled_event.json").read_text())
    queue_arn = "arn:aws:sqs:eu-west-1:444455556666:byok-validate"
    # one botocore attempt per call: throttling that outlasts the retries is what is tested
    validating = _local(harness, "validate", AWS_MAX_ATTEMPTS="1")
    with _local(harness, "sweep") as sweep, validating as validate:
        assert sweep.invoke(schedule).payload["enqueued"] == 1
        first = validate.invoke(_as_sqs_event(harness.queued_validations(), queue_arn))
        assert first.payload == {"batchItemFailures": []}
        assert harness.flag() == {"status": "HEALTHY", "reasons": []}
        assert [e["detail"]["status"] for e in harness.published()] == ["HEALTHY"]

        with faults.throttle(service="kms", times=None) as fault:
            assert sweep.invoke(schedule).payload["enqueued"] == 1
            second = validate.invoke(_as_sqs_event(harness.queued_validations(), queue_arn))
        assert fault.hits > 0
        assert second.payload == {"batchItemFailures": []}, validate.logs()[-3000:]
    assert harness.flag() == {"status": "HEALTHY", "reasons": []}
    assert harness.published() == []


@pytest.mark.slow
def test_validate_role_without_update_item_fails_the_harness(harness: HarnessWorld) -> None:
    """moto's IAM authoriser, not byok's evaluator, decides the functions' calls: with
    ``dynamodb:UpdateItem`` taken out of the validate role (the outbox marks a published change
    with it), the sample that passes with the role as written
    (``test_sample_through_local_invoke[validate/sqs_batch]``) fails on moto's AccessDenied."""
    harness.world.drop_actions("validate", {"dynamodb:UpdateItem"})
    with pytest.raises(
        AssertionError, match=r"(?s)denied calls:.*AccessDenied.*dynamodb:UpdateItem"
    ):
        run_sample(harness, "validate", EVENTS / "validate" / "sqs_batch.json")
