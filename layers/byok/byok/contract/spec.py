"""The BYOK contract of docs/architecture.md section 1, as data.

A contract is a list of *expectations*: a request (principal, action, request context) and what
the key policy must answer for it. Required requests must be allowed (the platform needs them);
forbidden requests must be denied (they would grant more than the contract). Keeping the contract
as data, not as code that inspects statements, is what lets ``check`` use the real evaluator and
stay right for any way a customer writes the policy (Principal "*" plus conditions, NotAction,
explicit Deny guards...): we only ever ask "would AWS allow this request?".

Everything derives from three inputs: the purpose, the key ARN (customer account, region,
partition) and the platform role ARN (platform account, role name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

from byok.errors import InputError
from byok.identifiers import ACCOUNT_RE, KeyArn, RoleArn
from byok.models import Purpose

#: rendered and required cryptographic actions (one statement per purpose, via the service)
CRYPTO_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
#: Aurora takes a grant at cluster creation and uses it for the cluster's life; RDS lists and
#: revokes its grants. Source: Amazon Aurora User Guide, "AWS KMS key management" >
#: "Authorizing use of a customer managed key" (kms:CreateGrant and kms:DescribeKey are required
#: to create an Aurora resource with a customer managed key; the docs advise restricting
#: CreateGrant with kms:ViaService / kms:GrantIsForAWSResource so only the service can use it).
GRANT_ACTIONS: tuple[str, ...] = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
#: optional direct, metadata-only access used by health checks (no cryptography)
HEALTH_CHECK_ACTIONS: tuple[str, ...] = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
)
#: the usual key-administrator action list (as the KMS console proposes it): manage, never use
ADMIN_ACTIONS: tuple[str, ...] = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)

SERVICE_OF: dict[Purpose, str] = {Purpose.S3: "s3", Purpose.AURORA: "rds"}

# Stable statement ids (customers paste them; drift tests and fixes key on them).
SID_ROOT = "EnableIAMUserPermissions"
SID_ADMINS = "AllowKeyAdministrators"
SID_S3 = "BYOKPlatformS3ViaService"
SID_AURORA = "BYOKPlatformAuroraViaService"
SID_AURORA_GRANTS = "BYOKPlatformAuroraGrants"
SID_HEALTH = "BYOKPlatformHealthChecks"

VIA_SERVICE = "kms:ViaService"
PRINCIPAL_ACCOUNT = "aws:PrincipalAccount"
PRINCIPAL_ARN = "aws:PrincipalArn"
CALLER_ACCOUNT = "kms:CallerAccount"
GRANT_FOR_AWS = "kms:GrantIsForAWSResource"


_VIA_LOWER = VIA_SERVICE.lower()
_IDENTITY_CONTEXT = frozenset(
    k.lower() for k in (PRINCIPAL_ACCOUNT, PRINCIPAL_ARN, CALLER_ACCOUNT, "aws:ResourceAccount")
)


class CheckId(StrEnum):
    """The six checks of docs/architecture.md section 5 (stable ids, in report order)."""

    REQUIRED_ACCESS = "required-access"
    NO_PUBLIC_ACCESS = "no-public-access"
    NO_DIRECT_ACCESS = "no-direct-access"
    NO_OTHER_SERVICE = "no-other-service"
    PRINCIPAL_SCOPE = "principal-scope"
    GRANTS_FOR_AWS_RESOURCES_ONLY = "grants-for-aws-resources-only"


class Severity(StrEnum):
    """What a violated expectation does to its check: ``fail`` breaks the platform or opens the
    key to outsiders; ``warn`` works but grants the platform more than the contract."""

    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Expectation:
    """One request of the contract and the answer the key policy must give."""

    check: CheckId
    must_allow: bool
    severity: Severity
    principal: str
    action: str
    context: tuple[tuple[str, str | bool], ...]
    why: str
    #: for required requests: the Sid of the rendered statement that grants it
    sid: str | None = None

    def describe(self) -> str:
        """One line for people: who, what, how (the context that matters)."""
        via = next((v for k, v in self.context if k.lower() == _VIA_LOWER), None)
        parts = [f"via {via}" if via else "direct"]
        for key, value in self.context:
            low = key.lower()
            if low not in _IDENTITY_CONTEXT and low != _VIA_LOWER:
                parts.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
        return f"{self.principal} {self.action} ({', '.join(parts)})"

    def to_dict(self) -> dict[str, object]:
        return {
            "principal": self.principal,
            "action": self.action,
            "context": dict(self.context),
            "expected": "allow" if self.must_allow else "deny",
        }


@dataclass(frozen=True, slots=True)
class Parties:
    """Who is who, derived once from the key ARN and the platform role ARN."""

    purpose: Purpose
    key: KeyArn
    role: RoleArn
    #: the three fields' hash, computed once: parties key a dozen caches per check
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.purpose, self.key, self.role)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def customer_account(self) -> str:
        return self.key.account

    @property
    def platform_account(self) -> str:
        return self.role.account

    @property
    def role_arn(self) -> str:
        return str(self.role)

    @property
    def service(self) -> str:
        return SERVICE_OF[self.purpose]

    def via(self, service: str | None = None, region: str | None = None) -> str:
        return f"{service or self.service}.{region or self.key.region}.amazonaws.com"

    @property
    def other_region(self) -> str:
        return "us-east-1" if self.key.region != "us-east-1" else "us-west-2"

    @property
    def outsider_account(self) -> str:
        taken = {self.customer_account, self.platform_account}
        return next(a for a in ("999999999999", "888888888888", "777777777777") if a not in taken)

    def iam_arn(self, account: str, resource: str) -> str:
        return f"arn:{self.key.partition}:iam::{account}:{resource}"

    @property
    def session_arn(self) -> str:
        """A session of the platform role: how the platform really calls (any session name;
        the contract uses one no statement can single out)."""
        return (
            f"arn:{self.key.partition}:sts::{self.platform_account}:assumed-role/"
            f"{self.role.name}/byok-contract-session"
        )

    @property
    def root_arn(self) -> str:
        """The customer account principal (``arn:<p>:iam::<customer>:root``)."""
        return self.iam_arn(self.customer_account, "root")


def parse_purpose(value: object) -> Purpose:
    if isinstance(value, Purpose):
        return value
    try:
        return Purpose(str(value).lower())
    except ValueError:
        choices = ", ".join(p.value for p in Purpose)
        raise InputError(f"purpose: expected one of {choices}, got {value!r}") from None


@lru_cache(maxsize=256)
def parties(purpose: Purpose | str, key_arn: str, platform_role_arn: str) -> Parties:
    """Validate the three inputs once; the key and the role must live in two accounts of one
    partition (BYOK: the customer owns the key, the platform uses it)."""
    p = parse_purpose(purpose)
    key = KeyArn.parse(str(key_arn), "key_arn")
    role = RoleArn.parse(str(platform_role_arn), "platform_role_arn")
    if role.partition != key.partition:
        raise InputError(
            f"platform_role_arn: partition {role.partition!r} differs from the key's "
            f"{key.partition!r}"
        )
    if "*" in role.path or "?" in role.path:
        # IAM allows them in paths, but a key policy principal cannot contain wildcards
        raise InputError(
            f"platform_role_arn: a role path with '*' or '?' cannot be named as a key policy "
            f"principal, got {platform_role_arn!r}"
        )
    if role.account == key.account:
        raise InputError(
            f"platform_role_arn: must be in the platform account, not in the key's (customer) "
            f"account {key.account}"
        )
    return Parties(p, key, role)


def _ctx(
    account: str, principal: str, via: str | None = None, grant_for_aws: bool | None = None
) -> tuple[tuple[str, str | bool], ...]:
    items: list[tuple[str, str | bool]] = [
        (PRINCIPAL_ACCOUNT, account),
        (CALLER_ACCOUNT, account),
        (PRINCIPAL_ARN, principal),
    ]
    if via is not None:
        items.append((VIA_SERVICE, via))
    if grant_for_aws is not None:
        items.append((GRANT_FOR_AWS, grant_for_aws))
    return tuple(items)


def _required(p: Parties) -> list[Expectation]:
    role, acct, via = p.role_arn, p.platform_account, p.via()
    session = p.session_arn
    out: list[Expectation] = []
    if p.purpose is Purpose.S3:
        # S3 SSE-KMS: PutObject needs GenerateDataKey, GetObject needs Decrypt (docs/aws-notes.md).
        for action, why in (
            ("kms:GenerateDataKey", "S3 PutObject with SSE-KMS"),
            ("kms:Decrypt", "S3 GetObject of an SSE-KMS object"),
        ):
            out.append(
                Expectation(
                    CheckId.REQUIRED_ACCESS, True, Severity.FAIL, session, action,
                    _ctx(acct, role, via), why, SID_S3,
                )
            )  # fmt: skip
        return out
    out.append(
        Expectation(
            CheckId.REQUIRED_ACCESS, True, Severity.FAIL, session, "kms:DescribeKey",
            _ctx(acct, role, via), "RDS reads the key when creating an encrypted cluster",
            SID_AURORA,
        )
    )  # fmt: skip
    for action, why in (
        ("kms:CreateGrant", "Aurora takes a grant for the cluster's storage"),
        ("kms:ListGrants", "RDS lists the cluster's grants"),
        ("kms:RevokeGrant", "RDS revokes the grant when the cluster goes away"),
    ):
        out.append(
            Expectation(
                CheckId.REQUIRED_ACCESS, True, Severity.FAIL, session, action,
                _ctx(acct, role, via, grant_for_aws=True), why, SID_AURORA_GRANTS,
            )
        )  # fmt: skip
    return out


#: direct calls by the platform role that the contract forbids (health-check metadata reads
#: are not in this list: they are the optional read-only statement)
DIRECT_FORBIDDEN: tuple[str, ...] = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:CreateGrant",
    "kms:RevokeGrant",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
)


@lru_cache(maxsize=256)
def expectations(p: Parties) -> tuple[Expectation, ...]:
    """The requests the platform needs (the forbidden classes live in ``byok.contract.check``)."""
    return tuple(_required(p))


def account_of(principal: str) -> str | None:
    """The account of an ARN or bare account id (None for '*', services, malformed)."""
    if ACCOUNT_RE.match(principal):
        return principal
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and ACCOUNT_RE.match(parts[4]):
        return parts[4]
    return None


def pattern_instance(pattern: str, taken: tuple[str, ...]) -> str | None:
    """A 12-digit account matching an account pattern (``11112222333?``, ``*``) that is not in
    ``taken``: the outsider a wildcard in a who-condition lets in."""
    for digit in "9876543210":
        value = pattern.replace("?", digit)
        if "*" in value:
            need = 12 - (len(value) - value.count("*"))
            if need < 0:
                return None
            first = value.index("*")
            value = value[:first] + digit * need + value[first + 1 :].replace("*", "")
        if ACCOUNT_RE.match(value) and value not in taken:
            return value
    return None
