"""Every ARN, account id and region byok-guard accepts is validated once, at the boundary."""

from __future__ import annotations

import pytest

from byok.errors import InputError
from byok.identifiers import KeyArn, RoleArn, validate_account_id, validate_region

KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_key_arn_round_trips() -> None:
    arn = KeyArn.parse(KEY)
    assert (arn.region, arn.account) == ("eu-west-1", "111122223333")
    assert str(arn) == KEY


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:kms:eu-west-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:111122223333:alias/byok/s3",
        "arn:aws:s3:::bucket",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:moon-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        None,
    ],
)
def test_key_arn_rejects_with_field_name(bad: object) -> None:
    with pytest.raises(InputError, match=r"^key_arn: "):
        KeyArn.parse(bad)


def test_role_arn_with_path() -> None:
    arn = RoleArn.parse("arn:aws:iam::444455556666:role/platform/byok-platform")
    assert (arn.account, arn.path, arn.name) == ("444455556666", "/platform/", "byok-platform")


@pytest.mark.parametrize(
    "bad", ["arn:aws:iam::444455556666:user/bob", "arn:aws:iam:us-east-1:444455556666:role/x"]
)
def test_role_arn_rejects(bad: str) -> None:
    with pytest.raises(InputError, match="role_arn"):
        RoleArn.parse(bad)


def test_account_and_region() -> None:
    assert validate_account_id("123456789012") == "123456789012"
    with pytest.raises(InputError, match="12-digit"):
        validate_account_id("12345678901")
    assert validate_region("us-gov-west-1") == "us-gov-west-1"
    with pytest.raises(InputError, match="region"):
        validate_region("EU-WEST-1")
