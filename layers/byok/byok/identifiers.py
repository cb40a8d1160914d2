"""Validation and parsing of the identifiers byok-guard accepts: account ids, regions, ARNs.

Everything that crosses a boundary (CLI flag, event field, registry row) goes through here once,
so the rest of the code can trust a ``KeyArn`` or ``RoleArn`` without re-checking it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from byok.errors import InputError

ACCOUNT_RE = re.compile(r"^\d{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
PARTITION_RE = re.compile(r"^aws(-cn|-us-gov|-iso|-iso-b|-iso-e|-iso-f|-eusc)?$")
KEY_ID_RE = re.compile(
    r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)
ROLE_PATH_NAME_RE = re.compile(r"^(/[\x21-\x7e]*/)?[\w+=,.@-]{1,64}$")
ENV_ID_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def validate_account_id(value: object, field: str = "account_id") -> str:
    if not isinstance(value, str) or not ACCOUNT_RE.match(value):
        raise InputError(f"{field}: expected a 12-digit AWS account id, got {value!r}")
    return value


def validate_region(value: object, field: str = "region") -> str:
    if not isinstance(value, str) or not REGION_RE.match(value):
        raise InputError(f"{field}: expected an AWS region such as 'eu-west-1', got {value!r}")
    return value


def validate_environment_id(value: object, field: str = "environment_id") -> str:
    if not isinstance(value, str) or not ENV_ID_RE.match(value):
        raise InputError(
            f"{field}: expected 1-63 lower-case letters, digits or '-' "
            f"(not starting or ending with '-'), got {value!r}"
        )
    return value


@dataclass(frozen=True, slots=True)
class KeyArn:
    """A KMS key ARN (``arn:<partition>:kms:<region>:<account>:key/<key-id>``)."""

    partition: str
    region: str
    account: str
    key_id: str

    @classmethod
    def parse(cls, value: object, field: str = "key_arn") -> KeyArn:
        expected = "a KMS key ARN such as 'arn:aws:kms:eu-west-1:111122223333:key/<key-id>'"
        if not isinstance(value, str):
            raise InputError(f"{field}: expected {expected}, got {value!r}")
        parts = value.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
            raise InputError(f"{field}: expected {expected}, got {value!r}")
        _, partition, _, region, account, resource = parts
        if not PARTITION_RE.match(partition):
            raise InputError(f"{field}: unknown partition {partition!r} in {value!r}")
        if not REGION_RE.match(region):
            raise InputError(f"{field}: invalid region {region!r} in {value!r}")
        if not ACCOUNT_RE.match(account):
            raise InputError(f"{field}: invalid account id {account!r} in {value!r}")
        if not resource.startswith("key/") or not KEY_ID_RE.match(resource[4:]):
            if resource.startswith("alias/"):
                raise InputError(f"{field}: expected a key ARN, got an alias ARN {value!r}")
            raise InputError(f"{field}: expected 'key/<key-id>' after the account, got {value!r}")
        return cls(partition, region, account, resource[4:])

    def __str__(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{self.key_id}"


@dataclass(frozen=True, slots=True)
class RoleArn:
    """An IAM role ARN (``arn:<partition>:iam::<account>:role[/path]/<name>``)."""

    partition: str
    account: str
    path: str
    name: str

    @classmethod
    def parse(cls, value: object, field: str = "role_arn") -> RoleArn:
        expected = "an IAM role ARN such as 'arn:aws:iam::444455556666:role/byok-platform'"
        if not isinstance(value, str):
            raise InputError(f"{field}: expected {expected}, got {value!r}")
        parts = value.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or parts[3] != "":
            raise InputError(f"{field}: expected {expected}, got {value!r}")
        _, partition, _, _, account, resource = parts
        if not PARTITION_RE.match(partition):
            raise InputError(f"{field}: unknown partition {partition!r} in {value!r}")
        if not ACCOUNT_RE.match(account):
            raise InputError(f"{field}: invalid account id {account!r} in {value!r}")
        if not resource.startswith("role/"):
            raise InputError(f"{field}: expected 'role/<name>' after the account, got {value!r}")
        rest = resource[5:]
        path, _, name = rest.rpartition("/")
        path = f"/{path}/" if path else "/"
        if not ROLE_PATH_NAME_RE.match(rest if "/" not in rest else f"/{rest}") or not name:
            raise InputError(f"{field}: invalid role name or path in {value!r}")
        return cls(partition, account, path, name)

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"
