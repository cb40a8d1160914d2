"""S3 SSE-KMS calls KMS in the key owner's account as the requester (docs/aws-notes.md, S3 section).

The customer's key lives in 111111111111 (created through assume-role into that account); the
platform's bucket and role in 222222222222.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import byok_emulator

from .conftest import CUSTOMER, LOCATION, REGION, base_session, s3_key_policy


def _error(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def test_put_and_get_work_with_a_usable_cross_account_key(
    platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    s3 = platform.client("s3")
    put = s3.put_object(Bucket=platform_bucket, Key="canary", Body=b"hello")
    assert put["ServerSideEncryption"] == "aws:kms"
    assert put["SSEKMSKeyId"] == customer_key
    got = s3.get_object(Bucket=platform_bucket, Key="canary")
    assert got["Body"].read() == b"hello"
    assert got["SSEKMSKeyId"] == customer_key


@pytest.mark.parametrize(
    ("state", "code", "suffix"),
    [
        ("Disabled", "KMS.DisabledException", "is disabled."),
        ("PendingDeletion", "KMS.KMSInvalidStateException", "is pending deletion."),
        ("PendingImport", "KMS.KMSInvalidStateException", "is pending import."),
    ],
)
@pytest.mark.parametrize("operation", ["PutObject", "GetObject"])
def test_unusable_key_breaks_put_and_get(
    customer: boto3.Session,
    platform: boto3.Session,
    customer_key: str,
    platform_bucket: str,
    state: str,
    code: str,
    suffix: str,
    operation: str,
) -> None:
    s3 = platform.client("s3")
    s3.put_object(Bucket=platform_bucket, Key="existing", Body=b"data")
    kms = customer.client("kms")
    if state == "Disabled":
        kms.disable_key(KeyId=customer_key)
    elif state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=customer_key, PendingWindowInDays=7)
    else:
        byok_emulator.set_key_state(customer_key, state)

    with pytest.raises(ClientError) as caught:
        if operation == "PutObject":
            s3.put_object(Bucket=platform_bucket, Key="new", Body=b"data")
        else:
            s3.get_object(Bucket=platform_bucket, Key="existing")

    assert _error(caught) == (400, code, f"{customer_key} {suffix}")


def test_a_failed_put_stores_nothing(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    customer.client("kms").disable_key(KeyId=customer_key)
    s3 = platform.client("s3")
    with pytest.raises(ClientError):
        s3.put_object(Bucket=platform_bucket, Key="new", Body=b"data")
    assert s3.list_objects_v2(Bucket=platform_bucket)["KeyCount"] == 0


def test_enabling_the_key_again_restores_access(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    s3 = platform.client("s3")
    s3.put_object(Bucket=platform_bucket, Key="existing", Body=b"data")
    kms = customer.client("kms")
    kms.schedule_key_deletion(KeyId=customer_key, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=customer_key)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=platform_bucket, Key="existing")
    assert _error(caught)[1] == "KMS.DisabledException"
    kms.enable_key(KeyId=customer_key)
    assert s3.get_object(Bucket=platform_bucket, Key="existing")["Body"].read() == b"data"


def test_policy_without_the_platform_role_denies_put_with_access_denied(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    policy = s3_key_policy()
    policy["Statement"] = policy["Statement"][:1]  # only the customer's administration
    customer.client("kms").put_key_policy(
        KeyId=customer_key, PolicyName="default", Policy=json.dumps(policy)
    )
    with pytest.raises(ClientError) as caught:
        platform.client("s3").put_object(Bucket=platform_bucket, Key="new", Body=b"data")
    status, code, message = _error(caught)
    assert (status, code) == (403, "AccessDenied")
    assert "kms:GenerateDataKey" in message
    assert customer_key in message
    assert "arn:aws:sts::222222222222:assumed-role/platform/" in message


def test_policy_denial_on_get_names_decrypt(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    s3 = platform.client("s3")
    s3.put_object(Bucket=platform_bucket, Key="existing", Body=b"data")
    policy = s3_key_policy()
    policy["Statement"][1]["Action"] = ["kms:GenerateDataKey"]
    customer.client("kms").put_key_policy(
        KeyId=customer_key, PolicyName="default", Policy=json.dumps(policy)
    )
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=platform_bucket, Key="existing")
    status, code, message = _error(caught)
    assert (status, code) == (403, "AccessDenied")
    assert "kms:Decrypt" in message


def test_via_service_condition_is_checked(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    """A policy admitting the platform only via S3 of another region denies this region's S3."""
    policy = s3_key_policy(region="us-east-1")
    customer.client("kms").put_key_policy(
        KeyId=customer_key, PolicyName="default", Policy=json.dumps(policy)
    )
    with pytest.raises(ClientError) as caught:
        platform.client("s3").put_object(Bucket=platform_bucket, Key="new", Body=b"data")
    assert _error(caught)[:2] == (403, "AccessDenied")


def test_same_role_name_in_another_account_is_denied(
    customer_key: str, platform_bucket: str, emulated: None
) -> None:
    from .conftest import assume

    intruder = assume("333333333333", "platform")
    s3 = intruder.client("s3")
    with pytest.raises(ClientError) as caught:
        s3.put_object(
            Bucket=platform_bucket,
            Key="x",
            Body=b"data",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=customer_key,
        )
    assert _error(caught)[:2] == (403, "AccessDenied")


def test_explicit_header_with_missing_key_is_not_found(
    platform: boto3.Session, platform_bucket: str, customer_key: str
) -> None:
    missing = customer_key.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError) as caught:
        platform.client("s3").put_object(
            Bucket=platform_bucket,
            Key="x",
            Body=b"data",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=missing,
        )
    assert _error(caught)[:2] == (400, "KMS.NotFoundException")


def test_key_in_another_region_is_not_found(
    customer: boto3.Session, platform: boto3.Session, platform_bucket: str
) -> None:
    other = customer.client("kms", region_name="us-east-1")
    key = other.create_key(Policy=json.dumps(s3_key_policy(region="us-east-1")))["KeyMetadata"]
    with pytest.raises(ClientError) as caught:
        platform.client("s3").put_object(
            Bucket=platform_bucket,
            Key="x",
            Body=b"data",
            ServerSideEncryption="aws:kms",
            SSEKMSKeyId=key["Arn"],
        )
    assert _error(caught)[:2] == (400, "KMS.NotFoundException")


def test_deleted_key_makes_get_not_found(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    """After the waiting period the key is gone: reads fail with KMS.NotFoundException."""
    from moto.kms.models import kms_backends

    s3 = platform.client("s3")
    s3.put_object(Bucket=platform_bucket, Key="existing", Body=b"data")
    kms_backends[CUSTOMER][REGION].delete_key(customer_key.rsplit("/", 1)[1])
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=platform_bucket, Key="existing")
    assert _error(caught)[:2] == (400, "KMS.NotFoundException")


def test_same_account_default_policy_works_with_alias_header(emulated: None) -> None:
    """Key ids and aliases in the header resolve in the requester's account."""
    kms = base_session().client("kms", region_name=REGION)
    s3 = base_session().client("s3", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/data", TargetKeyId=key)
    s3.create_bucket(Bucket="own-bucket", CreateBucketConfiguration=LOCATION)
    put: dict[str, Any] = s3.put_object(
        Bucket="own-bucket",
        Key="k",
        Body=b"v",
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId="alias/data",
    )
    assert put["ServerSideEncryption"] == "aws:kms"
    assert s3.head_object(Bucket="own-bucket", Key="k")["SSEKMSKeyId"] == key
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="own-bucket", Key="k")
    assert _error(caught)[:2] == (400, "KMS.DisabledException")


def test_sse_s3_objects_do_not_touch_kms(emulated: None) -> None:
    s3 = base_session().client("s3", region_name=REGION)
    s3.create_bucket(Bucket="plain-bucket", CreateBucketConfiguration=LOCATION)
    s3.put_object(Bucket="plain-bucket", Key="k", Body=b"v", ServerSideEncryption="AES256")
    assert s3.get_object(Bucket="plain-bucket", Key="k")["Body"].read() == b"v"


def test_unparsable_key_policy_denies_cross_account_use(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    """Fail closed: moto stores any policy text; the emulator never allows on a broken one."""
    from moto.kms.models import kms_backends

    kms_backends[CUSTOMER][REGION].keys[customer_key.rsplit("/", 1)[1]].policy = "{not json"
    with pytest.raises(ClientError) as caught:
        platform.client("s3").put_object(Bucket=platform_bucket, Key="x", Body=b"data")
    assert _error(caught)[:2] == (403, "AccessDenied")


def test_policy_enforcement_can_be_switched_off(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    policy = s3_key_policy()
    policy["Statement"] = policy["Statement"][:1]
    customer.client("kms").put_key_policy(
        KeyId=customer_key, PolicyName="default", Policy=json.dumps(policy)
    )
    byok_emulator.install(key_policies="off")
    platform.client("s3").put_object(Bucket=platform_bucket, Key="x", Body=b"data")


def test_copy_object_decrypts_source_and_encrypts_destination(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    s3 = platform.client("s3")
    s3.put_object(Bucket=platform_bucket, Key="src", Body=b"data")
    source = {"Bucket": platform_bucket, "Key": "src"}
    copied = s3.copy_object(Bucket=platform_bucket, Key="dst", CopySource=source)
    assert copied["SSEKMSKeyId"] == customer_key
    assert s3.get_object(Bucket=platform_bucket, Key="dst")["Body"].read() == b"data"

    customer.client("kms").disable_key(KeyId=customer_key)
    with pytest.raises(ClientError) as caught:
        s3.copy_object(Bucket=platform_bucket, Key="dst2", CopySource=source)
    assert _error(caught)[:2] == (400, "KMS.DisabledException")


def test_multipart_upload_needs_the_key(
    customer: boto3.Session, platform: boto3.Session, customer_key: str, platform_bucket: str
) -> None:
    s3 = platform.client("s3")
    upload = s3.create_multipart_upload(Bucket=platform_bucket, Key="big")["UploadId"]
    part = {"Bucket": platform_bucket, "Key": "big", "UploadId": upload, "PartNumber": 1}
    etag = s3.upload_part(Body=b"x" * 10, **part)["ETag"]

    customer.client("kms").disable_key(KeyId=customer_key)
    with pytest.raises(ClientError) as caught:
        s3.upload_part(Body=b"y" * 10, **{**part, "PartNumber": 2})
    assert _error(caught)[:2] == (400, "KMS.DisabledException")
    with pytest.raises(ClientError) as caught:
        s3.create_multipart_upload(Bucket=platform_bucket, Key="big2")
    assert _error(caught)[:2] == (400, "KMS.DisabledException")

    customer.client("kms").enable_key(KeyId=customer_key)
    s3.complete_multipart_upload(
        Bucket=platform_bucket,
        Key="big",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]},
    )
    assert s3.get_object(Bucket=platform_bucket, Key="big")["Body"].read() == b"x" * 10
