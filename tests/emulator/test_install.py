"""install() / uninstall() are idempotent and uninstall restores moto exactly."""

from __future__ import annotations

from moto import mock_aws
from moto.core.responses import BaseResponse
from moto.kms.models import Key, KmsBackend
from moto.kms.responses import KmsResponse
from moto.rds.models import RDSBackend
from moto.s3.responses import S3Response

import byok_emulator
from byok_emulator import faults

from .conftest import REGION, base_session

PATCHED = [
    (KmsBackend, "encrypt"),
    (KmsBackend, "decrypt"),
    (KmsBackend, "create_grant"),
    (KmsBackend, "schedule_key_deletion"),
    (KmsBackend, "enable_key"),
    (Key, "to_dict"),
    (KmsResponse, "kms_backend"),
    (KmsResponse, "call_action"),
    (S3Response, "put_object"),
    (S3Response, "get_object"),
    (BaseResponse, "setup_class"),
    (RDSBackend, "start_db_cluster"),
]


def _snapshot() -> list[object]:
    return [owner.__dict__.get(name) for owner, name in PATCHED]


def test_uninstall_restores_moto_exactly() -> None:
    before = _snapshot()
    byok_emulator.install()
    byok_emulator.install()  # idempotent
    assert byok_emulator.installed()
    assert _snapshot() != before
    byok_emulator.uninstall()
    byok_emulator.uninstall()
    assert not byok_emulator.installed()
    assert _snapshot() == before


def test_after_uninstall_moto_ignores_key_state_again() -> None:
    with mock_aws():
        kms = base_session().client("kms", region_name=REGION)
        key = kms.create_key()["KeyMetadata"]
        with byok_emulator.behaviour():
            faults.throttle(service="kms", operations={"ListKeys"})
        kms.disable_key(KeyId=key["KeyId"])
        assert kms.encrypt(KeyId=key["Arn"], Plaintext=b"x")["KeyId"] == key["Arn"]
        assert kms.list_keys()["Keys"]  # the fault went with uninstall


def test_behaviour_keeps_an_outer_install() -> None:
    byok_emulator.install(key_policies="all")
    try:
        with byok_emulator.behaviour():
            assert byok_emulator.installed()
        assert byok_emulator.installed()
        assert byok_emulator.config.settings.key_policies is byok_emulator.KeyPolicyMode.ALL
    finally:
        byok_emulator.uninstall()
