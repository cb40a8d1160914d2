"""Every ARN, account id and region byok-guard accepts is validated once, at the boundary."""

from __future__ import annotations

import pytest

from byok.errors import InputError
from byok.identifiers import (
    AliasArn,
    AssumedRoleArn,
    KeyArn,
    RoleArn,
    UserArn,
    partition_for,
    validate_account_id,
    validate_arn,
    validate_bucket_name,
    validate_cluster_id,
    validate_environment_id,
    validate_region,
    validate_table_name,
)

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


# ---- one strict grammar: ASCII only, whole string, canonical, partition of the region ---------

FULL_WIDTH = "\uff11\uff11\uff11\uff11\uff12\uff12\uff12\uff12\uff13\uff13\uff13\uff13"
ARABIC_INDIC = "\u0661\u0661\u0661\u0661\u0662\u0662\u0662\u0662\u0663\u0663\u0663\u0663"


@pytest.mark.parametrize(
    "bad",
    [
        FULL_WIDTH,
        ARABIC_INDIC,
        "111122223333\n",
        " 111122223333",
        "111122223333 ",
        "1111-2222-3333",
    ],
)
def test_account_id_is_twelve_ascii_digits_and_nothing_else(bad: str) -> None:
    with pytest.raises(InputError, match=r"^account_id: expected a 12-digit AWS account id, got "):
        validate_account_id(bad)


def test_messages_quote_values_as_json_on_one_line() -> None:
    with pytest.raises(InputError) as exc:
        validate_account_id("111122223333\n")
    assert exc.value.message.endswith('got "111122223333\\n"')
    with pytest.raises(InputError) as exc:
        validate_account_id(None)
    assert exc.value.message.endswith("got null")
    with pytest.raises(InputError) as exc:
        KeyArn.parse({"ARN": "x"})
    assert exc.value.message.endswith('got {"ARN": "x"}')
    with pytest.raises(InputError) as exc:
        validate_account_id(FULL_WIDTH)
    assert "\\uff11" in exc.value.message and "\n" not in exc.value.message


@pytest.mark.parametrize("bad", ["eu-west-1\n", "eu-west-\u0661", "EU-WEST-1", " eu-west-1"])
def test_region_is_strict(bad: str) -> None:
    with pytest.raises(InputError, match=r"^region: "):
        validate_region(bad)


@pytest.mark.parametrize(
    "bad",
    [
        KEY + "\n",
        KEY + " ",
        KEY.replace("111122223333", FULL_WIDTH),
        KEY.replace("1234abcd", "1234ABCD"),
        KEY.replace("eu-west-1", "eu-west-\uff11"),
    ],
)
def test_key_arn_spellings_are_refused(bad: str) -> None:
    with pytest.raises(InputError, match=r"^key_arn: "):
        KeyArn.parse(bad)


@pytest.mark.parametrize(
    ("arn", "ok"),
    [
        ("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        ("arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
        (
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            True,
        ),
        ("arn:aws-cn:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        ("arn:aws:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", False),
        (
            "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            True,
        ),
    ],
)
def test_partition_must_match_the_region(arn: str, ok: bool) -> None:
    if ok:
        assert str(KeyArn.parse(arn)) == arn
    else:
        with pytest.raises(InputError, match=r"^key_arn: partition .* does not match region"):
            KeyArn.parse(arn)


def test_partition_for_regions() -> None:
    assert [
        partition_for(r)
        for r in ("eu-west-1", "cn-northwest-1", "us-gov-east-1", "us-iso-east-1", "eu-isoe-west-1")
    ] == ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-e"]


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:iam::444455556666:role/byok-platform\n",
        "arn:aws:iam::444455556666:role/byok platform",
        "arn:aws:iam::444455556666:role/",
        "arn:aws:iam::444455556666:role//x",
        f"arn:aws:iam::{FULL_WIDTH}:role/x",
        "arn:aws:iam::444455556666:role/caf\u00e9",
    ],
)
def test_role_arn_is_strict(bad: str) -> None:
    with pytest.raises(InputError, match=r"^role_arn: "):
        RoleArn.parse(bad)


def test_alias_user_and_session_arns() -> None:
    alias = "arn:aws:kms:eu-west-1:111122223333:alias/byok/s3"
    assert str(AliasArn.parse(alias)) == alias
    user = "arn:aws:iam::111122223333:user/ops/admin"
    assert str(UserArn.parse(user)) == user
    session = "arn:aws:sts::444455556666:assumed-role/byok-platform/byok-guard"
    assert AssumedRoleArn.parse(session).role_name == "byok-platform"
    with pytest.raises(InputError, match=r"^session_arn: "):
        AssumedRoleArn.parse(session + "\n")
    with pytest.raises(InputError, match=r"^arn: "):
        validate_arn("arn:aws:s3:::bucket\n")
    assert validate_arn("arn:aws:s3:::bucket") == "arn:aws:s3:::bucket"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("192.168.5.4", "must not be an IP address"),
        ("xn--bucket", "prefix"),
        ("sthree-data", "prefix"),
        ("data-s3alias", "suffix"),
        ("data--ol-s3", "suffix"),
        ("a..b", "S3 bucket name"),
        ("Acme-Data", "S3 bucket name"),
        ("acme-data\n", "S3 bucket name"),
        ("ab", "S3 bucket name"),
        ("a" * 64, "S3 bucket name"),
    ],
)
def test_bucket_names_follow_the_s3_rules(name: str, message: str) -> None:
    with pytest.raises(InputError, match=rf"^bucket: .*{message}"):
        validate_bucket_name(name)


def test_bucket_names_accepted() -> None:
    for name in ("acme-prod-data", "a.b.c", "192.168.5", "abc"):
        assert validate_bucket_name(name) == name


def test_cluster_id_is_canonical_lower_case() -> None:
    """RDS stores cluster ids in lower case: two spellings are one cluster."""
    assert validate_cluster_id("Acme-Prod-DB") == "acme-prod-db"
    for bad in ("1db", "db-", "d--b", "db\n", "d\u00e9", "a" * 64):
        with pytest.raises(InputError, match=r"^cluster_id: "):
            validate_cluster_id(bad)


def test_environment_id_and_table_names() -> None:
    with pytest.raises(InputError, match=r"^environment_id: "):
        validate_environment_id("acme\n")
    assert validate_table_name("byok-environments") == "byok-environments"
    with pytest.raises(InputError, match=r"^table: "):
        validate_table_name("t")


def test_arns_are_bounded() -> None:
    long_arn = "arn:aws:events:eu-west-1:444455556666:rule/" + "x" * 3000
    with pytest.raises(InputError, match=r"^arn: an ARN is at most 2048 characters"):
        validate_arn(long_arn)
    with pytest.raises(InputError, match=r"^role_arn: an ARN is at most 2048"):
        RoleArn.parse("arn:aws:iam::444455556666:role/" + "p/" * 1100 + "x")
