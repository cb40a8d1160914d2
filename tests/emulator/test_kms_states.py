"""KMS key states as docs/aws-notes.md states them: each state x each cryptographic call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import byok_emulator

from .conftest import REGION, base_session

Call = Callable[[Any, str, bytes], Any]

CALLS: dict[str, Call] = {
    "Encrypt": lambda kms, key, _blob: kms.encrypt(KeyId=key, Plaintext=b"secret"),
    "Decrypt": lambda kms, _key, blob: kms.decrypt(CiphertextBlob=blob),
    "Decrypt with KeyId": lambda kms, key, blob: kms.decrypt(CiphertextBlob=blob, KeyId=key),
    "ReEncrypt to the key": lambda kms, key, _blob: kms.re_encrypt(
        CiphertextBlob=kms.encrypt(KeyId=_other_key(kms), Plaintext=b"x")["CiphertextBlob"],
        DestinationKeyId=key,
    ),
    "ReEncrypt from the key": lambda kms, _key, blob: kms.re_encrypt(
        CiphertextBlob=blob, DestinationKeyId=_other_key(kms)
    ),
    "GenerateDataKey": lambda kms, key, _blob: kms.generate_data_key(KeyId=key, KeySpec="AES_256"),
    "GenerateDataKeyWithoutPlaintext": lambda kms, key, _blob: (
        kms.generate_data_key_without_plaintext(KeyId=key, NumberOfBytes=32)
    ),
    "CreateGrant": lambda kms, key, _blob: kms.create_grant(
        KeyId=key,
        GranteePrincipal="arn:aws:iam::111111111111:role/app",
        Operations=["Decrypt"],
    ),
}


def _other_key(kms: Any) -> str:
    """An enabled second key (created once per test, found by its description)."""
    for entry in kms.list_keys()["Keys"]:
        meta = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
        if meta["Description"] == "other" and meta["KeyState"] == "Enabled":
            return meta["Arn"]
    return kms.create_key(Description="other")["KeyMetadata"]["Arn"]


def _to_state(kms: Any, key: str, state: str) -> None:
    if state == "Disabled":
        kms.disable_key(KeyId=key)
    elif state == "PendingDeletion":
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    else:  # PendingImport, Unavailable: no API leads there in moto
        byok_emulator.set_key_state(key, state)


EXPECTED = {
    "Disabled": ("DisabledException", "{arn} is disabled."),
    "PendingDeletion": ("KMSInvalidStateException", "{arn} is pending deletion."),
    "PendingImport": ("KMSInvalidStateException", "{arn} is pending import."),
    "Unavailable": ("KMSInvalidStateException", "{arn} is unavailable."),
}


@pytest.fixture
def kms(emulated: None) -> Any:
    return base_session().client("kms", region_name=REGION)


@pytest.mark.parametrize("state", sorted(EXPECTED))
@pytest.mark.parametrize("call", sorted(CALLS))
def test_cryptographic_call_fails_with_aws_error(kms: Any, state: str, call: str) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
    _other_key(kms)
    _to_state(kms, key, state)

    with pytest.raises(ClientError) as caught:
        CALLS[call](kms, key, blob)

    code, message = EXPECTED[state]
    error = caught.value.response["Error"]
    assert error["Code"] == code
    assert error["Message"] == message.format(arn=key)
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("call", sorted(CALLS))
def test_enabled_key_works(kms: Any, call: str) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
    CALLS[call](kms, key, blob)  # no error


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_metadata_calls_work_in_every_state(kms: Any, state: str) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    grant = kms.create_grant(
        KeyId=key, GranteePrincipal="arn:aws:iam::111111111111:role/app", Operations=["Decrypt"]
    )["GrantId"]
    _to_state(kms, key, state)

    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == state
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key)["Grants"]] == [grant]
    kms.revoke_grant(KeyId=key, GrantId=grant)
    assert kms.list_grants(KeyId=key)["Grants"] == []


def test_cancel_deletion_leaves_key_disabled_until_enabled(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kms.cancel_key_deletion(KeyId=key)

    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as caught:
        kms.encrypt(KeyId=key, Plaintext=b"x")
    assert caught.value.response["Error"]["Code"] == "DisabledException"

    kms.enable_key(KeyId=key)
    assert kms.encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key


@pytest.mark.parametrize("days", [1, 6, 31, 365])
def test_schedule_deletion_refuses_window_outside_7_to_30(kms: Any, days: int) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as caught:
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert f"Value '{days}' at 'pendingWindowInDays'" in error["Message"]
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


@pytest.mark.parametrize("days", [7, 30])
def test_schedule_deletion_accepts_window_bounds(kms: Any, days: int) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    response = kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=days)
    assert response["DeletionDate"]
    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    assert meta["DeletionDate"]


@pytest.mark.parametrize("operation", ["enable_key", "disable_key", "schedule_key_deletion"])
def test_state_changes_refused_while_pending_deletion(kms: Any, operation: str) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    kwargs = {"PendingWindowInDays": 7} if operation == "schedule_key_deletion" else {}
    with pytest.raises(ClientError) as caught:
        getattr(kms, operation)(KeyId=key, **kwargs)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidStateException"
    assert caught.value.response["Error"]["Message"] == f"{key} is pending deletion."
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_cancel_deletion_of_a_key_not_pending_deletion_fails(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    with pytest.raises(ClientError) as caught:
        kms.cancel_key_deletion(KeyId=key)
    assert caught.value.response["Error"]["Code"] == "KMSInvalidStateException"


def test_state_changes_accept_a_key_arn(kms: Any) -> None:
    """moto 5.2 alone raises KeyError (HTTP 500) for DisableKey with a key ARN."""
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key)
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "Enabled"


def test_imported_key_material_expiry_is_described(kms: Any) -> None:
    import datetime as dt

    key = kms.create_key()["KeyMetadata"]["Arn"]
    valid_to = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    byok_emulator.set_imported_key_material(key, valid_to)

    meta = kms.describe_key(KeyId=key)["KeyMetadata"]
    assert meta["Origin"] == "EXTERNAL"
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert meta["ValidTo"] == valid_to


def test_alias_resolves_to_the_guarded_key(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/byok-s3", TargetKeyId=key)
    kms.disable_key(KeyId=key)
    with pytest.raises(ClientError) as caught:
        kms.generate_data_key(KeyId="alias/byok-s3", KeySpec="AES_256")
    assert caught.value.response["Error"]["Message"] == f"{key} is disabled."


def test_without_the_extension_moto_encrypts_with_a_disabled_key() -> None:
    """The gap this package closes (and proof that the tests above can fail)."""
    assert not byok_emulator.installed()
    with mock_aws():
        kms = base_session().client("kms", region_name=REGION)
        key = kms.create_key()["KeyMetadata"]["Arn"]
        kms.disable_key(KeyId=kms.describe_key(KeyId=key)["KeyMetadata"]["KeyId"])
        assert kms.encrypt(KeyId=key, Plaintext=b"x")["KeyId"] == key
