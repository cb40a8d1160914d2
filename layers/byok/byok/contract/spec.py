"""The BYOK contract of DESIGN.md section 1, as data.

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

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from byok.errors import InputError
from byok.identifiers import KeyArn, RoleArn
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


class CheckId(StrEnum):
    """The six checks of DESIGN.md section 5 (stable ids, in report order)."""

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
        ctx = dict(self.context)
        parts = []
        if VIA_SERVICE in ctx:
            parts.append(f"via {ctx[VIA_SERVICE]}")
        else:
            parts.append("direct")
        if GRANT_FOR_AWS in ctx:
            parts.append(f"{GRANT_FOR_AWS}={str(ctx[GRANT_FOR_AWS]).lower()}")
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
    out: list[Expectation] = []
    if p.purpose is Purpose.S3:
        # S3 SSE-KMS: PutObject needs GenerateDataKey, GetObject needs Decrypt (AWS-FACTS.md).
        for action, why in (
            ("kms:GenerateDataKey", "S3 PutObject with SSE-KMS"),
            ("kms:Decrypt", "S3 GetObject of an SSE-KMS object"),
        ):
            out.append(
                Expectation(
                    CheckId.REQUIRED_ACCESS, True, Severity.FAIL, role, action,
                    _ctx(acct, role, via), why, SID_S3,
                )
            )  # fmt: skip
        return out
    out.append(
        Expectation(
            CheckId.REQUIRED_ACCESS, True, Severity.FAIL, role, "kms:DescribeKey",
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
                CheckId.REQUIRED_ACCESS, True, Severity.FAIL, role, action,
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


def _forbidden(p: Parties) -> list[Expectation]:
    role, acct = p.role_arn, p.platform_account
    out: list[Expectation] = []

    def forbid(
        check: CheckId, sev: Severity, principal: str, action: str, ctx: tuple, why: str
    ) -> None:
        out.append(Expectation(check, False, sev, principal, action, ctx, why))

    # no-public-access: an outsider (neither customer nor platform account) gets nothing,
    # directly or through the purpose's service.
    outsider = p.outsider_account
    for resource in ("user/byok-contract-outsider", "role/byok-contract-outsider"):
        who = p.iam_arn(outsider, resource)
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:PutKeyPolicy"):
            forbid(
                CheckId.NO_PUBLIC_ACCESS, Severity.FAIL, who, action,
                _ctx(outsider, who), "a principal of an unrelated account",
            )  # fmt: skip
        for action in ("kms:Decrypt", "kms:CreateGrant"):
            forbid(
                CheckId.NO_PUBLIC_ACCESS, Severity.FAIL, who, action,
                _ctx(outsider, who, p.via(), grant_for_aws=action == "kms:CreateGrant" or None),
                "a principal of an unrelated account, through the purpose's service",
            )  # fmt: skip

    # no-direct-access: the platform role never calls KMS itself for cryptography, grants or
    # administration (only the service does, on its behalf).
    for action in DIRECT_FORBIDDEN:
        grant = False if action in GRANT_ACTIONS else None
        forbid(
            CheckId.NO_DIRECT_ACCESS, Severity.WARN, role, action,
            _ctx(acct, role, grant_for_aws=grant), "direct call (no kms:ViaService)",
        )  # fmt: skip

    # no-other-service: the purpose's service in the key's region, nothing else.
    other_purpose_service = "rds" if p.purpose is Purpose.S3 else "s3"
    vias = [
        (p.via("ec2"), "another service (EC2/EBS)"),
        (p.via("lambda"), "another service (Lambda)"),
        (p.via("secretsmanager"), "another service (Secrets Manager)"),
        (p.via(other_purpose_service), "the other purpose's service"),
        (p.via(region=p.other_region), "the purpose's service in another region"),
    ]
    actions = (
        ("kms:GenerateDataKey", "kms:Decrypt")
        if p.purpose is Purpose.S3
        else ("kms:CreateGrant", "kms:Decrypt")
    )
    for via, why in vias:
        for action in actions:
            grant = True if action in GRANT_ACTIONS else None
            forbid(
                CheckId.NO_OTHER_SERVICE, Severity.WARN, role, action,
                _ctx(acct, role, via, grant), f"via {why}",
            )  # fmt: skip

    # principal-scope: only this role. The same role name in another account is an outsider
    # (fail); another principal of the platform account is wider than the contract (warn).
    lookalike = p.iam_arn(outsider, f"role{p.role.path}{p.role.name}")
    sibling_name = "byok-contract-sibling" if p.role.name != "byok-contract-sibling" else "other"
    sibling = p.iam_arn(acct, f"role/{sibling_name}")
    for req in _required(p):
        ctx = dict(req.context)
        grant = ctx.get(GRANT_FOR_AWS)
        grant_flag = bool(grant) if grant is not None else None
        forbid(
            CheckId.PRINCIPAL_SCOPE, Severity.FAIL, lookalike, req.action,
            _ctx(outsider, lookalike, p.via(), grant_flag),
            "the platform role's name in an unrelated account",
        )  # fmt: skip
        forbid(
            CheckId.PRINCIPAL_SCOPE, Severity.WARN, sibling, req.action,
            _ctx(acct, sibling, p.via(), grant_flag),
            "another principal of the platform account",
        )  # fmt: skip

    # grants-for-aws-resources-only: grant operations only when an AWS service makes them for
    # an AWS resource (kms:GrantIsForAWSResource = true), even through the right service.
    for action in GRANT_ACTIONS:
        forbid(
            CheckId.GRANTS_FOR_AWS_RESOURCES_ONLY, Severity.WARN, role, action,
            _ctx(acct, role, p.via(), grant_for_aws=False),
            "grant not made by an AWS service for an AWS resource",
        )  # fmt: skip
    return out


@lru_cache(maxsize=256)
def expectations(p: Parties) -> tuple[Expectation, ...]:
    """Every request of the contract for these parties: required first, then forbidden."""
    return tuple(_required(p) + _forbidden(p))
