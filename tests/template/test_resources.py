"""template.yaml against the team's agreed interfaces: table layouts, env vars, runtime,
dead-letter queues on every asynchronous path and alarms on each of them."""

from __future__ import annotations

from typing import Any

from byok_emulator import sam_template

TEMPLATE = sam_template.load()
RES = TEMPLATE["Resources"]
FUNCTIONS = {n: r for n, r in RES.items() if r["Type"] == "AWS::Serverless::Function"}
#: env vars every function reads through ``byok.service.Deps.from_environment`` (team brief)
REQUIRED_ENV = {
    "ENVIRONMENTS_TABLE",
    "AUDIT_TABLE",
    "IDEMPOTENCY_TABLE",
    "PLATFORM_ROLE_ARN",
    "HEALTH_EVENT_BUS",
    "VALIDATE_QUEUE_URL",
    "UNKNOWN_AFTER_FAILURES",
    "UNKNOWN_AFTER_MINUTES",
    "CANARY_PREFIX",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}


def _keys(table: str) -> tuple[list[tuple[str, str]], dict[str, str]]:
    props = RES[table]["Properties"]
    schema = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    return schema, types


def test_table_layouts_match_the_store() -> None:
    pk_sk = [("pk", "HASH"), ("sk", "RANGE")]
    indexed = {"attention": "S", "customer_account": "S", "environment_id": "S"}
    assert _keys("EnvironmentsTable") == (pk_sk, {"pk": "S", "sk": "S", **indexed})
    assert _keys("AuditTable") == (pk_sk, {"pk": "S", "sk": "S"})
    attention, environments = RES["EnvironmentsTable"]["Properties"]["GlobalSecondaryIndexes"]
    assert attention == {
        "IndexName": "attention",
        "KeySchema": [{"AttributeName": "attention", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    assert environments == {
        "IndexName": "environments",
        "KeySchema": [
            {"AttributeName": "customer_account", "KeyType": "HASH"},
            {"AttributeName": "environment_id", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    assert _keys("IdempotencyTable") == ([("id", "HASH")], {"id": "S"})
    ttl = RES["IdempotencyTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expiration", "Enabled": True}


def test_table_layouts_match_byok_store_create_tables() -> None:
    """The tables the tests and the demo create (``byok.store.create_tables``) are the ones the
    template deploys."""
    import boto3
    from moto import mock_aws

    from byok.store import create_tables

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables(ddb, "env", "audit", "idem")
        for name, table in (
            ("env", "EnvironmentsTable"),
            ("audit", "AuditTable"),
            ("idem", "IdempotencyTable"),
        ):
            got = ddb.describe_table(TableName=name)["Table"]
            schema = [(k["AttributeName"], k["KeyType"]) for k in got["KeySchema"]]
            assert schema == _keys(table)[0], name


def test_every_function_gets_the_agreed_environment() -> None:
    specs = sam_template.functions(TEMPLATE)
    assert set(specs) >= {"key_events", "sweep", "validate"}
    for name, spec in specs.items():
        assert set(spec.environment) >= REQUIRED_ENV, name
        assert spec.environment["POWERTOOLS_SERVICE_NAME"] == name
        assert spec.environment["HEALTH_EVENT_BUS"] == "default"
        assert spec.handler == "app.handler"
        assert (spec.code_dir / "app.py").is_file(), name
        assert spec.layer_dirs == (sam_template.ROOT / "layers" / "byok",)


def test_runtime_and_layer_build() -> None:
    glob = TEMPLATE["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Tracing"] == "Active"
    layer = RES["ByokLayer"]
    assert layer["Metadata"]["BuildMethod"] == "python3.13"
    assert (sam_template.ROOT / layer["Properties"]["ContentUri"] / "requirements.txt").is_file()


def test_async_invocations_have_a_failure_destination() -> None:
    """EventBridge invokes key_events, sweep and remediate asynchronously: failures after
    Lambda's retries go to an SQS destination (and its alarm)."""
    for name in ("KeyEventsFunction", "SweepFunction", "RemediateFunction"):
        config = FUNCTIONS[name]["Properties"]["EventInvokeConfig"]
        on_failure = config["DestinationConfig"]["OnFailure"]
        assert on_failure == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["FunctionFailureQueue", "Arn"]},
        }


def test_validate_reads_its_queue_with_partial_batch_failures_and_a_redrive() -> None:
    event = FUNCTIONS["ValidateFunction"]["Properties"]["Events"]["ValidateQueue"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= event["Properties"]["BatchSize"] <= 10
    queue = RES["ValidateQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ValidateDeadLetterQueue", "Arn"]
    }
    timeout = sam_template.function_spec(TEMPLATE, "ValidateFunction").timeout
    assert queue["VisibilityTimeout"] >= 6 * timeout  # AWS's advice for Lambda consumers


def _alarm_targets() -> dict[str, dict[str, Any]]:
    out = {}
    for name, res in RES.items():
        if res["Type"] == "AWS::CloudWatch::Alarm":
            props = res["Properties"]
            assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
            if "Metrics" in props:  # metric math (PlatformRoleDeniedAlarm): its own test
                continue
            dims = {d["Name"]: d["Value"] for d in props["Dimensions"]}
            assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
            out[name] = {"metric": props["MetricName"], **dims}
    return out


def test_every_dead_letter_queue_and_function_has_an_alarm() -> None:
    alarms = list(_alarm_targets().values())
    queues = {"EventsDeadLetterQueue", "FunctionFailureQueue", "ValidateDeadLetterQueue"}
    watched_queues = {
        a["QueueName"]["Fn::GetAtt"][0]
        for a in alarms
        if a["metric"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched_queues >= queues
    watched_functions = {a["FunctionName"]["Ref"] for a in alarms if a["metric"] == "Errors"}
    assert watched_functions == set(FUNCTIONS)


def test_every_queue_is_a_work_queue_with_a_redrive_or_an_alarmed_dead_letter_queue() -> None:
    queues = {n for n, r in RES.items() if r["Type"] == "AWS::SQS::Queue"}
    alarmed = {
        a["QueueName"]["Fn::GetAtt"][0] for a in _alarm_targets().values() if "QueueName" in a
    }
    assert {"ValidateQueue", "EventsDeadLetterQueue", "FunctionFailureQueue"} <= queues
    for name in queues:
        props = RES[name]["Properties"]
        assert props["SqsManagedSseEnabled"] is True, name
        redrive = props.get("RedrivePolicy")
        if redrive is None:
            assert name in alarmed, f"{name}: a queue without a redrive must be an alarmed DLQ"
        else:
            assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in alarmed, name
