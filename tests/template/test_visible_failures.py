"""Visible failures and bounded work: an alarm on every failure metric that is not retried,
reserved concurrency on every function, validate's timeouts derived from one record's worst case."""

from __future__ import annotations

import re
from pathlib import Path

from byok.aws.budget import call_seconds, record_seconds
from byok.aws.errors import client_config
from byok_emulator import sam_template

TEMPLATE = sam_template.load()
RES = TEMPLATE["Resources"]
FUNCTIONS = {
    spec.logical_id: RES[spec.logical_id] for spec in sam_template.functions(TEMPLATE).values()
}
ROOT = Path(__file__).resolve().parents[2]

#: metrics counted by a handler that answers success: no Errors alarm, DLQ or redrive sees them
NOT_RETRIED = {
    "DroppedMessages",
    "FailedRemediationSteps",
    "PlatformConfigurationErrors",
    "ScheduledRemediationFailures",
}


def _service(function: str) -> str:
    return FUNCTIONS[function]["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]


def _emitted_not_retried(function: str) -> set[str]:
    """Metrics of the handler that count failures it does not raise: the metric of every
    ``lambda_support`` error policy the handler uses (a policy raises only retryable errors)
    and the NOT_RETRIED counts its source names."""
    from byok import lambda_support

    code_uri = FUNCTIONS[function]["Properties"]["CodeUri"]
    source = (ROOT / code_uri / "app.py").read_text()
    policies = set(re.findall(r"support\.([A-Z_]+)\.handle\(", source))
    metrics = {getattr(lambda_support, p).metric for p in policies} - {None}
    named = set(re.findall(r'"(\w+)"', source))
    if "support.count_operator_problems(" in source:  # the operator's metrics (platform side)
        metrics |= set(lambda_support.OPERATOR_METRICS)
    return metrics | (named & NOT_RETRIED)


def _custom_alarms() -> set[tuple[str, str]]:
    """(service, metric) of every byok-guard metric an alarm fires on at the first count: a
    plain metric alarm, or a metric-math alarm summing several services' metrics."""
    found = set()
    for res in RES.values():
        props = res["Properties"]
        if res["Type"] != "AWS::CloudWatch::Alarm":
            continue
        stats = [m["MetricStat"] for m in props.get("Metrics", ()) if "MetricStat" in m]
        if props.get("Namespace") == "byok-guard":
            assert props["Statistic"] == "Sum"
            stats.append({"Metric": props, "Stat": "Sum"})
        for stat in stats:
            metric = stat["Metric"]
            if metric.get("Namespace") != "byok-guard":
                continue
            assert stat["Stat"] == "Sum" and props["Threshold"] == 1
            assert props["TreatMissingData"] == "notBreaching"
            dims = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
            found.add((dims["service"], metric["MetricName"]))
    return found


def test_every_failure_metric_that_is_not_retried_has_an_alarm() -> None:
    wanted = {(_service(f), m) for f in FUNCTIONS for m in _emitted_not_retried(f)}
    assert ("key_events", "InvalidEvents") in wanted  # the scan above sees the handlers
    assert ("validate", "DroppedMessages") in wanted
    assert ("sweep", "FailedSweeps") in wanted
    assert ("key_events", "PlatformConfigurationErrors") in wanted
    missing = wanted - _custom_alarms()
    assert not missing, f"failure metrics without an alarm: {sorted(missing)}"


def test_every_function_has_reserved_concurrency_from_a_parameter() -> None:
    params = TEMPLATE["Parameters"]
    for name, function in FUNCTIONS.items():
        reserved = function["Properties"]["ReservedConcurrentExecutions"]
        assert set(reserved) == {"Ref"}, name
        assert params[reserved["Ref"]]["MinValue"] >= 1, name  # 0 would stop the function
    validate = FUNCTIONS["ValidateFunction"]["Properties"]
    poller = validate["Events"]["ValidateQueue"]["Properties"]["ScalingConfig"]
    # the SQS poller's maximum must not exceed the reserved concurrency (else it is throttled)
    assert poller["MaximumConcurrency"] == validate["ReservedConcurrentExecutions"]


def test_validate_timeouts_follow_from_one_records_worst_case() -> None:
    """docs/platform.md "Validate: batch size and timeouts": the Lambda timeout holds one
    worst-case record and a normal batch; the visibility timeout is six times the timeout."""
    config = client_config()
    attempts = config.retries["max_attempts"]
    assert record_seconds(attempts, config.connect_timeout, config.read_timeout) == record_seconds()
    assert call_seconds(3, 3, 5) == 27  # 3 x (3 s + 5 s) + 1 s + 2 s of backoff
    spec = sam_template.function_spec(TEMPLATE, "ValidateFunction")
    source = RES["ValidateFunction"]["Properties"]["Events"]["ValidateQueue"]["Properties"]
    normal_batch = source["BatchSize"] * 2  # a validation normally takes well under 2 s
    assert spec.timeout >= record_seconds() + normal_batch
    assert spec.timeout <= 900  # Lambda's maximum
    queue = RES["ValidateQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * spec.timeout
    doc = (ROOT / "docs" / "platform.md").read_text()
    assert f"{record_seconds()} s" in doc and f"Timeout` {spec.timeout}" in doc


def test_the_sweep_requeue_age_outlasts_a_redelivery() -> None:
    """docs/validation.md "One queued validation per environment": a sweep message whose
    validation failed transiently reappears after the validate queue's visibility timeout; a
    requeue age shorter than that would let the sweep queue a copy while it waits."""
    from byok.service import DEFAULT_SWEEP_REQUEUE_AFTER

    default = TEMPLATE["Parameters"]["SweepRequeueAfterMinutes"]["Default"]
    assert int(default) * 60 == DEFAULT_SWEEP_REQUEUE_AFTER.total_seconds()
    assert int(default) * 60 >= RES["ValidateQueue"]["Properties"]["VisibilityTimeout"]
    globals_env = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert globals_env["SWEEP_REQUEUE_AFTER_MINUTES"] == {"Ref": "SweepRequeueAfterMinutes"}
