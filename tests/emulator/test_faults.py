"""Fault injection, in-process (mock_aws) and through the emulator server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import byok_emulator
from byok_emulator import faults
from byok_emulator.server import EmulatorServer

from .conftest import LOCATION, NO_RETRY, REGION, base_session


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    srv = byok_emulator.server.start()
    try:
        yield srv
    finally:
        srv.stop()


def _client(service: str, endpoint_url: str | None) -> Any:
    return base_session().client(
        service, region_name=REGION, endpoint_url=endpoint_url, config=NO_RETRY
    )


def _kms(endpoint_url: str | None = None) -> Any:
    return _client("kms", endpoint_url)


def _s3(endpoint_url: str | None = None) -> Any:
    return _client("s3", endpoint_url)


def _assert_throttled(kms, key: str) -> None:
    with pytest.raises(ClientError) as caught:
        kms.describe_key(KeyId=key)
    response = caught.value.response
    assert response["Error"]["Code"] == "ThrottlingException"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_throttle_in_process_counts_and_expires(emulated: None) -> None:
    kms = _kms()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with faults.throttle(service="kms", operations={"DescribeKey"}, times=2) as fault:
        _assert_throttled(kms, key)
        kms.list_keys()  # other operations are untouched
        _assert_throttled(kms, key)
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    assert fault.hits == 2
    assert not fault.active


def test_throttle_through_the_server(server: EmulatorServer) -> None:
    kms = _kms(server.endpoint_url)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with faults.throttle(service="kms", operations={"DescribeKey"}) as fault:
        _assert_throttled(kms, key)
        _assert_throttled(kms, key)
    assert fault.hits == 2
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key


def test_server_enforces_key_states(server: EmulatorServer) -> None:
    kms = _kms(server.endpoint_url)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert caught.value.response["Error"]["Message"] == f"{key} is disabled."


@pytest.mark.parametrize("mode", ["in-process", "server"])
def test_s3_slow_down_and_internal_error(mode: str, request: pytest.FixtureRequest) -> None:
    if mode == "server":
        endpoint = request.getfixturevalue("server").endpoint_url
        context = None
    else:
        endpoint = None
        context = mock_aws()
        context.start()
        byok_emulator.install()
    try:
        s3 = _s3(endpoint)
        s3.create_bucket(Bucket="fault-bucket", CreateBucketConfiguration=LOCATION)
        with faults.slow_down(operations={"PutObject"}, times=1):
            with pytest.raises(ClientError) as caught:
                s3.put_object(Bucket="fault-bucket", Key="k", Body=b"v")
            assert caught.value.response["Error"]["Code"] == "SlowDown"
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        s3.put_object(Bucket="fault-bucket", Key="k", Body=b"v")
        with faults.internal_error(service="s3", operations={"GetObject"}):
            with pytest.raises(ClientError) as caught:
                s3.get_object(Bucket="fault-bucket", Key="k")
            assert caught.value.response["Error"]["Code"] == "InternalError"
            assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert s3.get_object(Bucket="fault-bucket", Key="k")["Body"].read() == b"v"
    finally:
        if context is not None:
            byok_emulator.uninstall()
            context.stop()


def test_kms_internal_error_and_account_filter(emulated: None) -> None:
    kms = _kms()
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with faults.internal_error(service="kms", accounts={"999999999999"}):
        kms.describe_key(KeyId=key)  # caller is 123456789012: not affected
    with faults.internal_error(service="kms"), pytest.raises(ClientError) as caught:
        kms.describe_key(KeyId=key)
    assert caught.value.response["Error"]["Code"] == "KMSInternalException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_query_protocol_service_gets_query_error(emulated: None) -> None:
    sts = base_session().client("sts", region_name=REGION, config=NO_RETRY)
    with (
        faults.throttle(service="sts", operations={"GetCallerIdentity"}),
        pytest.raises(ClientError) as caught,
    ):
        sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


def test_boto3_retries_consume_a_counted_fault(emulated: None) -> None:
    """Default retries (legacy mode: up to 5 attempts) absorb a short throttle: documented."""
    kms = base_session().client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with faults.throttle(service="kms", operations={"DescribeKey"}, times=2) as fault:
        assert kms.describe_key(KeyId=key)["KeyMetadata"]["Arn"] == key
    assert fault.hits == 2


def test_reset_and_validation(emulated: None) -> None:
    faults.throttle(service="kms")
    faults.slow_down()
    assert len(faults.active()) == 2
    faults.reset()
    assert faults.active() == []
    with pytest.raises(ValueError, match="times"):
        faults.throttle(times=0)
    with pytest.raises(ValueError, match="status"):
        faults.inject("kms", code="X", message="y", status=200)


def test_counting_is_thread_safe(server: EmulatorServer) -> None:
    kms = _kms(server.endpoint_url)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    errors: list[str] = []

    def call() -> None:
        client = _kms(server.endpoint_url)
        try:
            client.describe_key(KeyId=key)
        except ClientError as exc:
            errors.append(exc.response["Error"]["Code"])

    with faults.throttle(service="kms", operations={"DescribeKey"}, times=5) as fault:
        threads = [threading.Thread(target=call) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert fault.hits == 5
    assert errors == ["ThrottlingException"] * 5


def test_server_reset_forgets_resources_and_faults(server: EmulatorServer) -> None:
    kms = _kms(server.endpoint_url)
    kms.create_key()
    faults.throttle(service="dynamodb")
    server.reset()
    assert kms.list_keys()["Keys"] == []
    assert faults.active() == []


def test_server_s3_sse_kms_cross_account(server: EmulatorServer) -> None:
    """The demo's path: assume-role and SSE-KMS through the endpoint, key in another account."""
    import json

    from .conftest import CUSTOMER, PLATFORM, assume, s3_key_policy

    customer = assume(CUSTOMER, "admin", endpoint_url=server.endpoint_url)
    platform = assume(PLATFORM, "platform", endpoint_url=server.endpoint_url)
    kms = customer.client("kms", endpoint_url=server.endpoint_url)
    key = kms.create_key(Policy=json.dumps(s3_key_policy()))["KeyMetadata"]["Arn"]
    s3 = platform.client("s3", endpoint_url=server.endpoint_url, config=NO_RETRY)
    s3.create_bucket(Bucket="server-bucket", CreateBucketConfiguration=LOCATION)
    sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}
    s3.put_object(Bucket="server-bucket", Key="k", Body=b"v", **sse)
    assert s3.get_object(Bucket="server-bucket", Key="k")["Body"].read() == b"v"

    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="server-bucket", Key="k")
    assert caught.value.response["Error"]["Code"] == "KMS.DisabledException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_two_servers_share_one_install() -> None:
    first = byok_emulator.server.start()
    second = byok_emulator.server.start()
    try:
        assert first.port != second.port
        first.stop()
        assert byok_emulator.installed()  # the second server still needs it
        kms = _kms(second.endpoint_url)
        key = kms.create_key()["KeyMetadata"]["Arn"]
        kms.disable_key(KeyId=key)
        with pytest.raises(ClientError):
            kms.encrypt(KeyId=key, Plaintext=b"x")
    finally:
        first.stop()
        second.stop()
    assert not byok_emulator.installed()


def test_other_json_services_can_be_throttled(emulated: None) -> None:
    dynamodb = _client("dynamodb", None)
    with (
        faults.throttle(service="dynamodb", operations={"ListTables"}),
        pytest.raises(ClientError) as caught,
    ):
        dynamodb.list_tables()
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert dynamodb.list_tables()["TableNames"] == []


# ---- lost answers, timeouts, chosen items, rates, failed entries ------------------------------


def _table(dynamodb: Any, name: str) -> None:
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )


def _item(dynamodb: Any, table: str, pk: str) -> dict[str, Any] | None:
    return dynamodb.get_item(TableName=table, Key={"pk": {"S": pk}}).get("Item")


@pytest.mark.parametrize("mode", ["in-process", "server"])
def test_answer_lost_after_processing_and_timeout_before(
    mode: str, request: pytest.FixtureRequest
) -> None:
    """ANSWER_LOST: the item is written, the caller sees a timeout / dropped connection;
    CONNECT_TIMEOUT: nothing is written."""
    from botocore.exceptions import ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError

    if mode == "server":
        endpoint = request.getfixturevalue("server").endpoint_url
        lost_error: tuple[type[Exception], ...] = (ConnectionClosedError,)
        before_error: tuple[type[Exception], ...] = (ConnectionClosedError,)
    else:
        request.getfixturevalue("emulated")
        endpoint = None
        lost_error, before_error = (ReadTimeoutError,), (ConnectTimeoutError,)
    dynamodb = _client("dynamodb", endpoint)
    _table(dynamodb, "t")
    with faults.answer_lost("dynamodb", {"PutItem"}, times=1) as fault, pytest.raises(lost_error):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "lost"}})
    assert fault.hits == 1
    assert _item(dynamodb, "t", "lost") == {"pk": {"S": "lost"}}  # processed
    with (
        faults.timeout("dynamodb", {"PutItem"}, times=1, after_processing=False),
        pytest.raises(before_error),
    ):
        dynamodb.put_item(TableName="t", Item={"pk": {"S": "never"}})
    assert _item(dynamodb, "t", "never") is None  # not processed
    dynamodb.put_item(TableName="t", Item={"pk": {"S": "fine"}})  # marks do not leak
    assert _item(dynamodb, "t", "fine") is not None


def test_botocore_retries_a_lost_answer_into_the_first_attempts_effect(emulated: None) -> None:
    """The reason conditional writes must recognise their own result: the retry of a
    processed request meets it."""
    from botocore.config import Config

    dynamodb = base_session().client(
        "dynamodb", region_name=REGION, config=Config(retries={"total_max_attempts": 2})
    )
    _table(dynamodb, "t")
    with faults.answer_lost("dynamodb", {"PutItem"}, times=1), pytest.raises(ClientError) as caught:
        dynamodb.put_item(
            TableName="t",
            Item={"pk": {"S": "once"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    assert caught.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert _item(dynamodb, "t", "once") is not None


def test_faults_chosen_by_table_and_item_key(emulated: None) -> None:
    dynamodb = _client("dynamodb", None)
    _table(dynamodb, "a")
    _table(dynamodb, "b")
    with faults.throttle("dynamodb", tables={"b"}) as by_table:
        dynamodb.put_item(TableName="a", Item={"pk": {"S": "x"}})
        with pytest.raises(ClientError) as caught:
            dynamodb.put_item(TableName="b", Item={"pk": {"S": "x"}})
        assert caught.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert by_table.hits == 1
    with faults.internal_error("dynamodb", item={"pk": "hot"}) as by_item:
        dynamodb.put_item(TableName="a", Item={"pk": {"S": "cold"}})
        with pytest.raises(ClientError):
            dynamodb.get_item(TableName="a", Key={"pk": {"S": "hot"}})
        with pytest.raises(ClientError):  # any item of a transaction
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": "a", "Item": {"pk": {"S": "cold2"}}}},
                    {"Put": {"TableName": "b", "Item": {"pk": {"S": "hot"}}}},
                ]
            )
    assert by_item.hits == 2
    assert _item(dynamodb, "a", "cold2") is None
    with faults.throttle("dynamodb", where=lambda r: r.operation == "GetItem" and "b" in r.tables):
        dynamodb.get_item(TableName="a", Key={"pk": {"S": "x"}})
        with pytest.raises(ClientError):
            dynamodb.get_item(TableName="b", Key={"pk": {"S": "x"}})


def test_random_rate_is_reproducible(emulated: None) -> None:
    kms = _kms()
    key = kms.create_key()["KeyMetadata"]["Arn"]

    def pattern(seed: int) -> list[bool]:
        out = []
        with faults.throttle("kms", {"DescribeKey"}, rate=0.5, seed=seed):
            for _ in range(40):
                try:
                    kms.describe_key(KeyId=key)
                    out.append(False)
                except ClientError:
                    out.append(True)
        return out

    first = pattern(3)
    assert first == pattern(3)
    assert 5 < sum(first) < 35  # some calls hit, some not
    with pytest.raises(ValueError, match="rate"):
        faults.throttle("kms", rate=1.5)


def test_eventbridge_failed_entries_are_partial(emulated: None) -> None:
    events = _client("events", None)
    entries = [
        {"Source": "byok.guard", "DetailType": kind, "Detail": "{}"} for kind in ("a", "b", "a")
    ]
    with faults.failed_entries(detail_types={"a"}, times=1) as fault:
        answer = events.put_events(Entries=entries)
    assert answer["FailedEntryCount"] == 1
    assert answer["Entries"][0]["ErrorCode"] == "InternalFailure"
    assert "EventId" in answer["Entries"][1] and "EventId" in answer["Entries"][2]
    assert fault.hits == 1 and not fault.active
    assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
