"""The boto3 adapters under moto (+ byok_emulator): one classifier, real botocore errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

import byok_emulator
from byok.aws import kms as kms_api
from byok.aws.errors import MAX_ATTEMPTS_CAP, classify, client_config
from byok.aws.rds import describe_cluster
from byok.aws.s3_probe import canary_lifecycle_rule, probe_bucket
from byok.aws.sts import assume_platform_role, session_name
from byok.validation import FactError, KeyMetadata
from byok_emulator import faults

REGION = "eu-west-1"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with mock_aws(), byok_emulator.behaviour():
        yield boto3.session.Session(region_name=REGION)


def test_describe_key_reads_metadata_and_missing_key_is_definitive(aws):
    kms = aws.client("kms", config=client_config())
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    meta = kms_api.describe_key(kms, arn)
    assert isinstance(meta, KeyMetadata)
    assert (meta.key_state, meta.key_spec, meta.region) == ("Enabled", "SYMMETRIC_DEFAULT", REGION)
    gone = kms_api.describe_key(kms, arn.replace(arn[-12:], "000000000000"))
    assert isinstance(gone, FactError)
    assert (gone.code, gone.transient, gone.operation) == (
        "NotFoundException",
        False,
        "DescribeKey",
    )


def test_throttling_and_server_errors_are_transient(aws):
    kms = aws.client("kms", config=client_config())
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    with faults.throttle(service="kms", operations={"DescribeKey"}):
        err = kms_api.describe_key(kms, arn)
    assert isinstance(err, FactError) and err.transient and err.code == "ThrottlingException"
    with faults.internal_error(service="kms"):
        err = kms_api.get_rotation_status(kms, arn)
    assert isinstance(err, FactError) and err.transient


def test_s3_probe_round_trip_and_kms_errors(aws):
    kms = aws.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = aws.client("s3", config=client_config())
    s3.create_bucket(Bucket="b-probe", CreateBucketConfiguration={"LocationConstraint": REGION})
    puts: list[dict] = []
    s3.meta.events.register(
        "provide-client-params.s3.PutObject", lambda params, **_: puts.append(dict(params))
    )
    ok = probe_bucket(s3, "b-probe", arn, prefix="byok-guard/canary", environment_id="acme")
    again = probe_bucket(s3, "b-probe", arn, prefix="byok-guard/canary", environment_id="acme")
    assert ok.ok and ok.object_key.startswith("byok-guard/canary/acme/")
    assert again.ok and again.object_key != ok.object_key  # one object key per probe
    assert [p["BucketKeyEnabled"] for p in puts] == [False, False]  # KMS called on every put
    assert s3.list_objects_v2(Bucket="b-probe").get("KeyCount") == 0  # canary deleted
    kms.disable_key(KeyId=arn)
    bad = probe_bucket(s3, "b-probe", arn, prefix="byok-guard/canary/", environment_id="acme")
    assert (bad.ok, bad.failed_step) == (False, "put")
    assert bad.error.code == "DisabledException"  # "KMS." prefix removed
    assert bad.error.context == f"DisabledException: {arn} is disabled."
    assert not bad.error.transient
    kms.enable_key(KeyId=arn)
    with faults.slow_down(operations={"PutObject"}):
        slow = probe_bucket(s3, "b-probe", arn, prefix="p/", environment_id="acme")
    assert slow.error.code == "SlowDown" and slow.error.transient


def test_missing_cluster_is_definitive(aws):
    facts = describe_cluster(aws.client("rds"), "nope")
    assert facts.error.code == "DBClusterNotFoundFault" and not facts.error.transient


def test_assume_platform_role_acts_in_the_platform_account(aws):
    role = "arn:aws:iam::444455556666:role/byok-platform"
    session = assume_platform_role(aws, role, "acme")
    who = session.client("sts").get_caller_identity()
    assert who["Account"] == "444455556666"
    assert who["Arn"].endswith("/byok-guard-acme")


def test_session_name_is_sts_safe():
    assert session_name("acme") == "byok-guard-acme"
    assert len(session_name("a" * 63)) == 64


def test_connection_errors_are_transient():
    client = boto3.client(
        "kms", region_name=REGION, endpoint_url="http://127.0.0.1:9", config=client_config()
    )
    err = kms_api.describe_key(client, "arn:aws:kms:eu-west-1:111122223333:key/x")
    assert isinstance(err, FactError) and err.transient
    assert err.code in {"EndpointConnectionError", "ConnectTimeoutError"}
    timeout = classify(ReadTimeoutError(endpoint_url="https://kms.eu-west-1.amazonaws.com"))
    assert timeout.transient and timeout.code == "ReadTimeoutError"


def test_retries_are_bounded(monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "50")
    assert client_config().retries["max_attempts"] == MAX_ATTEMPTS_CAP
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    config = client_config()
    assert config.retries == {"max_attempts": 3, "mode": "standard"}
    assert (config.connect_timeout, config.read_timeout) == (3, 5)


def test_s3_probe_failed_delete_still_proves_the_key(aws):
    kms = aws.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3 = aws.client("s3", config=client_config())
    s3.create_bucket(Bucket="b-clean", CreateBucketConfiguration={"LocationConstraint": REGION})
    denied = {"code": "AccessDenied", "message": "Access Denied", "status": 403}
    with faults.inject("s3", operations={"DeleteObject"}, **denied):
        probe = probe_bucket(s3, "b-clean", arn, prefix="p/", environment_id="acme")
    assert probe.ok and probe.failed_step is None
    assert probe.cleanup_error.code == "AccessDenied"


def test_canary_lifecycle_rule_is_accepted_by_s3(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="b-life", CreateBucketConfiguration={"LocationConstraint": REGION})
    rule = canary_lifecycle_rule("byok-guard/canary/")
    s3.put_bucket_lifecycle_configuration(Bucket="b-life", LifecycleConfiguration={"Rules": [rule]})
    (stored,) = s3.get_bucket_lifecycle_configuration(Bucket="b-life")["Rules"]
    assert stored["Filter"] == {"Prefix": "byok-guard/canary/"}
    assert stored["Expiration"] == {"Days": 1}
