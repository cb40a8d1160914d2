"""The one grammar of every identifier byok-guard accepts: account ids, regions, partitions, KMS
key ids and key / alias ARNs, IAM role and assumed-role session ARNs, environment ids, S3 bucket
names, Aurora cluster ids, DynamoDB table names.

Why one module: an identifier that two entry points spell differently is two identifiers. Every
boundary (CLI flag, event field, queue message, registry row, key policy renderer, the customer
template generator) parses through here once, so the rest of the code can trust a ``KeyArn`` or
an account id without re-checking it. The rules (see ``docs/identifiers.md``):

- ASCII only, whole string: every pattern is applied with ``re.fullmatch`` and ``re.ASCII`` and
  uses explicit ``[0-9]`` classes, so full-width or Arabic-Indic digits, a trailing newline or a
  space never pass (``re.match(r"\\d{12}$")`` accepts full-width ``"\\uff11..."`` and
  ``"111122223333\\n"``).
- One canonical form: what is accepted is returned in the only spelling byok-guard stores and
  compares. Where AWS itself ignores case (Aurora cluster ids are "stored as a lowercase string")
  the canonical form is lower case; everywhere else another spelling is refused, never guessed.
- The partition agrees with the region (``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``,
  ``aws-iso*`` for the isolated regions, ``aws`` otherwise).

Every failure is an ``InputError`` whose message starts with the field name and quotes the value
as JSON on one line (``byok.errors.quote``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from byok.errors import InputError, quote

_A: Final = re.ASCII

# Patterns are whole-string: use them with ``fullmatch`` only.
ACCOUNT_RE: Final = re.compile(r"[0-9]{12}", _A)
REGION_RE: Final = re.compile(r"(?:[a-z]{2}(?:-gov|-iso[a-z]?)?|eusc-[a-z]{2})-[a-z]+-[0-9]", _A)
PARTITION_RE: Final = re.compile(r"aws(?:-cn|-us-gov|-iso|-iso-[bef]|-eusc)?", _A)
KEY_ID_RE: Final = re.compile(
    r"mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", _A
)
#: alias names: ``alias/`` then letters, digits, ``/_-`` (KMS CreateAlias), at most 256 in all
ALIAS_NAME_RE: Final = re.compile(r"alias/[A-Za-z0-9/_-]{1,250}", _A)
#: IAM names (roles, sessions): letters, digits and ``+=,.@_-``
IAM_NAME_CHARS: Final = r"[A-Za-z0-9+=,.@_-]"
ROLE_NAME_RE: Final = re.compile(IAM_NAME_CHARS + r"{1,64}", _A)
SESSION_NAME_RE: Final = re.compile(IAM_NAME_CHARS + r"{2,64}", _A)
#: IAM paths: ``/`` or ``/.../`` of printable ASCII (IAM allows ``!`` through ``~``), 512 at most
ROLE_PATH_RE: Final = re.compile(r"/(?:[\x21-\x7e]{1,510}/)?", _A)
ENV_ID_RE: Final = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", _A)
BUCKET_RE: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", _A)
CLUSTER_ID_RE: Final = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}", _A)
TABLE_NAME_RE: Final = re.compile(r"[A-Za-z0-9_.-]{3,255}", _A)
#: longest ARN accepted (IAM and KMS ARNs stay far below; 2048 is the usual API limit)
ARN_MAX: Final = 2048
_IP_ADDRESS_RE: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", _A)

#: S3 general purpose bucket naming rules: reserved prefixes and suffixes
BUCKET_RESERVED_PREFIXES: Final = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES: Final = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

_ISOLATED: Final = {"iso": "aws-iso", "isob": "aws-iso-b", "isoe": "aws-iso-e", "isof": "aws-iso-f"}


def _text(value: object, field: str, expected: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{field}: expected {expected}, got {quote(value)}")
    return value


def _refuse(field: str, expected: str, value: object) -> InputError:
    return InputError(f"{field}: expected {expected}, got {quote(value)}")


def _matched(pattern: re.Pattern[str], value: object, field: str, expected: str) -> str:
    """``value`` if ``pattern`` matches all of it, else the refusal naming ``field``."""
    if not pattern.fullmatch(_text(value, field, expected)):
        raise _refuse(field, expected, value)
    return str(value)


def validate_account_id(value: object, field: str = "account_id") -> str:
    """A 12-digit AWS account id (ASCII digits only)."""
    expected = "a 12-digit AWS account id"
    return _matched(ACCOUNT_RE, value, field, expected)


def validate_region(value: object, field: str = "region") -> str:
    """An AWS region code in lower case (``eu-west-1``, ``us-gov-west-1``, ``cn-north-1``)."""
    expected = 'an AWS region such as "eu-west-1"'
    return _matched(REGION_RE, value, field, expected)


def partition_for(region: str) -> str:
    """The partition a (valid) region belongs to."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("eusc-"):
        return "aws-eusc"
    middle = region.split("-")[1]
    return _ISOLATED.get(middle, "aws")


def validate_partition(value: object, field: str = "partition") -> str:
    expected = "an AWS partition (aws, aws-cn, aws-us-gov, aws-iso...)"
    return _matched(PARTITION_RE, value, field, expected)


def check_partition(partition: str, region: str, field: str, value: object) -> None:
    """Refuse an ARN whose partition is not the one of its region (``arn:aws-cn:`` outside
    China, ``arn:aws:`` in ``us-gov-west-1``)."""
    wanted = partition_for(region)
    if partition != wanted:
        raise InputError(
            f"{field}: partition {quote(partition)} does not match region {quote(region)} "
            f"(expected {quote(wanted)}), got {quote(value)}"
        )


def validate_environment_id(value: object, field: str = "environment_id") -> str:
    expected = "1-63 lower-case letters, digits or '-' (not starting or ending with '-')"
    return _matched(ENV_ID_RE, value, field, expected)


def validate_key_id(value: object, field: str = "key_id") -> str:
    """A KMS key id: a lower-case UUID, or ``mrk-`` and 32 hex digits (multi-Region key)."""
    expected = "a KMS key id (a lower-case UUID or mrk-<32 hex digits>)"
    return _matched(KEY_ID_RE, value, field, expected)


def is_key_id(value: object) -> bool:
    return isinstance(value, str) and KEY_ID_RE.fullmatch(value) is not None


def validate_bucket_name(value: object, field: str = "bucket") -> str:
    """An S3 general purpose bucket name, by S3's naming rules (3-63 characters of lower-case
    letters, digits, '.' and '-'; letter or digit at both ends; no '..'; not an IP address; none
    of the reserved prefixes and suffixes)."""
    expected = "an S3 bucket name (3-63 lower-case letters, digits, '.' or '-')"
    name = _text(value, field, expected)
    if not BUCKET_RE.fullmatch(name) or ".." in name:
        raise _refuse(field, expected, value)
    if _IP_ADDRESS_RE.fullmatch(name):
        raise InputError(f"{field}: a bucket name must not be an IP address, got {quote(value)}")
    for prefix in BUCKET_RESERVED_PREFIXES:
        if name.startswith(prefix):
            raise InputError(
                f"{field}: the prefix {quote(prefix)} is reserved by S3, got {quote(value)}"
            )
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            raise InputError(
                f"{field}: the suffix {quote(suffix)} is reserved by S3, got {quote(value)}"
            )
    return name


def validate_cluster_id(value: object, field: str = "cluster_id") -> str:
    """An Aurora DB cluster identifier, returned in lower case: RDS stores it "as a lowercase
    string", so ``Acme-DB`` and ``acme-db`` are one cluster and must be one registry claim."""
    expected = (
        "an Aurora cluster identifier (letter first, then letters, digits or single hyphens, "
        "1-63, not ending with '-')"
    )
    name = _text(value, field, expected)
    if not CLUSTER_ID_RE.fullmatch(name) or name.endswith("-"):
        raise _refuse(field, expected, value)
    return name.lower()


def validate_table_name(value: object, field: str = "table") -> str:
    """A DynamoDB table name (3-255 letters, digits, '_', '-' or '.')."""
    expected = "a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')"
    return _matched(TABLE_NAME_RE, value, field, expected)


def _arn_parts(value: object, field: str, service: str, expected: str) -> list[str]:
    text = _text(value, field, expected)
    if len(text) > ARN_MAX:
        raise InputError(f"{field}: an ARN is at most {ARN_MAX} characters, got {quote(value)}")
    if not text.isascii() or not text.isprintable() or any(c.isspace() for c in text):
        raise InputError(
            f"{field}: expected {expected}; ARNs are printable ASCII without spaces, "
            f"got {quote(value)}"
        )
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service:
        raise _refuse(field, expected, value)
    if not PARTITION_RE.fullmatch(parts[1]):
        raise InputError(f"{field}: unknown partition {quote(parts[1])} in {quote(value)}")
    return parts


def _account_in(account: str, field: str, value: object) -> None:
    if not ACCOUNT_RE.fullmatch(account):
        raise InputError(f"{field}: invalid account id {quote(account)} in {quote(value)}")


def _region_in(region: str, field: str, value: object) -> None:
    if not REGION_RE.fullmatch(region):
        raise InputError(f"{field}: invalid region {quote(region)} in {quote(value)}")


@dataclass(frozen=True, slots=True)
class KeyArn:
    """A KMS key ARN (``arn:<partition>:kms:<region>:<account>:key/<key-id>``)."""

    partition: str
    region: str
    account: str
    key_id: str

    @classmethod
    def parse(cls, value: object, field: str = "key_arn") -> KeyArn:
        expected = 'a KMS key ARN such as "arn:aws:kms:eu-west-1:111122223333:key/<key-id>"'
        _, partition, _, region, account, resource = _arn_parts(value, field, "kms", expected)
        _region_in(region, field, value)
        _account_in(account, field, value)
        if not resource.startswith("key/") or not KEY_ID_RE.fullmatch(resource[4:]):
            if resource.startswith("alias/"):
                raise InputError(f"{field}: expected a key ARN, got an alias ARN {quote(value)}")
            raise InputError(
                f'{field}: expected "key/<key-id>" (a lower-case UUID or mrk-...) after the '
                f"account, got {quote(value)}"
            )
        check_partition(partition, region, field, value)
        return cls(partition, region, account, resource[4:])

    def __str__(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:key/{self.key_id}"


@dataclass(frozen=True, slots=True)
class AliasArn:
    """A KMS alias ARN (``arn:<partition>:kms:<region>:<account>:alias/<name>``): it names
    whatever key the alias points to *now*, so byok-guard never registers or resolves one."""

    partition: str
    region: str
    account: str
    name: str

    @classmethod
    def parse(cls, value: object, field: str = "alias_arn") -> AliasArn:
        expected = 'a KMS alias ARN such as "arn:aws:kms:eu-west-1:111122223333:alias/name"'
        _, partition, _, region, account, resource = _arn_parts(value, field, "kms", expected)
        _region_in(region, field, value)
        _account_in(account, field, value)
        if not ALIAS_NAME_RE.fullmatch(resource):
            raise _refuse(field, expected, value)
        check_partition(partition, region, field, value)
        return cls(partition, region, account, resource[len("alias/") :])

    def __str__(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account}:alias/{self.name}"


def _iam_path_name(
    value: object, field: str, kind: str, expected: str
) -> tuple[str, str, str, str]:
    """(partition, account, path, name) of ``arn:<partition>:iam::<account>:<kind>[/path]/name``."""
    _, partition, _, region, account, resource = _arn_parts(value, field, "iam", expected)
    if region != "":
        raise InputError(f"{field}: an IAM ARN has no region, got {quote(value)}")
    _account_in(account, field, value)
    if not resource.startswith(f"{kind}/"):
        raise InputError(f'{field}: expected "{kind}/<name>" after the account, got {quote(value)}')
    head, _, name = resource[len(kind) :].rpartition("/")
    path = f"{head}/"
    if not ROLE_NAME_RE.fullmatch(name) or not ROLE_PATH_RE.fullmatch(path):
        raise InputError(f"{field}: invalid {kind} name or path in {quote(value)}")
    return partition, account, path, name


@dataclass(frozen=True, slots=True)
class RoleArn:
    """An IAM role ARN (``arn:<partition>:iam::<account>:role[/path]/<name>``)."""

    partition: str
    account: str
    path: str
    name: str

    @classmethod
    def parse(cls, value: object, field: str = "role_arn") -> RoleArn:
        expected = 'an IAM role ARN such as "arn:aws:iam::444455556666:role/byok-platform"'
        return cls(*_iam_path_name(value, field, "role", expected))

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class UserArn:
    """An IAM user ARN (``arn:<partition>:iam::<account>:user[/path]/<name>``)."""

    partition: str
    account: str
    path: str
    name: str

    @classmethod
    def parse(cls, value: object, field: str = "user_arn") -> UserArn:
        expected = 'an IAM user ARN such as "arn:aws:iam::111122223333:user/admin"'
        return cls(*_iam_path_name(value, field, "user", expected))

    def __str__(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:user{self.path}{self.name}"


@dataclass(frozen=True, slots=True)
class AssumedRoleArn:
    """An STS assumed-role session ARN (``arn:<partition>:sts::<account>:assumed-role/<role
    name>/<session name>``): what a caller is while it uses a role."""

    partition: str
    account: str
    role_name: str
    session_name: str

    @classmethod
    def parse(cls, value: object, field: str = "session_arn") -> AssumedRoleArn:
        expected = (
            "an assumed-role session ARN such as "
            '"arn:aws:sts::444455556666:assumed-role/byok-platform/session"'
        )
        _, partition, _, region, account, resource = _arn_parts(value, field, "sts", expected)
        if region != "":
            raise InputError(f"{field}: an STS ARN has no region, got {quote(value)}")
        _account_in(account, field, value)
        kind, _, rest = resource.partition("/")
        role, _, session = rest.partition("/")
        if (
            kind != "assumed-role"
            or not ROLE_NAME_RE.fullmatch(role)
            or not SESSION_NAME_RE.fullmatch(session)
        ):
            raise _refuse(field, expected, value)
        return cls(partition, account, role, session)

    def __str__(self) -> str:
        return (
            f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_name}/"
            f"{self.session_name}"
        )


#: the service part of an ARN (``kms``, ``iam``, ``s3``...)
_SERVICE_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,62}", _A)


def validate_arn(value: object, field: str = "arn") -> str:
    """Any ARN, checked as far as its general shape goes: printable ASCII without spaces,
    ``arn:<partition>:<service>:<region or empty>:<account or empty>:<resource>`` with a known
    partition, a valid region and account when present, and the partition of that region. IAM
    role, user and STS session ARNs get their own full grammar."""
    expected = 'an ARN such as "arn:aws:kms:eu-west-1:111122223333:key/<key-id>"'
    text = _text(value, field, expected)
    parts = text.split(":", 5)
    service = parts[2] if len(parts) == 6 else ""
    if not _SERVICE_RE.fullmatch(service):
        raise _refuse(field, expected, value)
    _, partition, _, region, account, resource = _arn_parts(value, field, service, expected)
    if region:
        _region_in(region, field, value)
        check_partition(partition, region, field, value)
    if account and account != "aws":  # "aws" stands for AWS itself in managed-policy ARNs
        _account_in(account, field, value)
    if not resource:
        raise _refuse(field, expected, value)
    if service == "iam" and resource.startswith("role/"):
        return str(RoleArn.parse(value, field))
    if service == "iam" and resource.startswith("user/"):
        return str(UserArn.parse(value, field))
    if service == "sts" and resource.startswith("assumed-role/"):
        return str(AssumedRoleArn.parse(value, field))
    if service == "kms" and resource.startswith("key/"):
        return str(KeyArn.parse(value, field))
    return text
