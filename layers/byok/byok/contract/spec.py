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


_IDENTITY_CONTEXT = frozenset(k.lower() for k in (PRINCIPAL_ACCOUNT, PRINCIPAL_ARN, CALLER_ACCOUNT))


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
        via = next((v for k, v in self.context if k.lower() == VIA_SERVICE.lower()), None)
        parts = [f"via {via}" if via else "direct"]
        for key, value in self.context:
            if key.lower() not in _IDENTITY_CONTEXT and key.lower() != VIA_SERVICE.lower():
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

    outsider = p.outsider_account
    out += _public_probes(p, outsider, _default_outsiders(p, outsider))

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

    # principal-scope: only this role. Another principal of the platform account is wider than
    # the contract (warn); the role's name in another account is an outsider (fail).
    sibling_name = "byok-contract-sibling" if p.role.name != "byok-contract-sibling" else "other"
    sibling = p.iam_arn(acct, f"role/{sibling_name}")
    for req in _required(p):
        forbid(
            CheckId.PRINCIPAL_SCOPE, Severity.WARN, sibling, req.action,
            _ctx(acct, sibling, p.via(), _grant_flag(req)),
            "another principal of the platform account",
        )  # fmt: skip
    out += _lookalike_probes(p, outsider)

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


def _grant_flag(req: Expectation) -> bool | None:
    value = dict(req.context).get(GRANT_FOR_AWS)
    return None if value is None else bool(value)


def _default_outsiders(p: Parties, account: str) -> list[str]:
    return [
        p.iam_arn(account, "user/byok-contract-outsider"),
        p.iam_arn(account, "role/byok-contract-outsider"),
    ]


def _public_probes(p: Parties, account: str, principals: list[str]) -> list[Expectation]:
    """no-public-access: a principal of an unrelated account gets nothing, directly or through
    the purpose's service."""
    out: list[Expectation] = []
    for who in principals:
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:PutKeyPolicy"):
            out.append(
                Expectation(
                    CheckId.NO_PUBLIC_ACCESS, False, Severity.FAIL, who, action,
                    _ctx(account, who), "a principal of an unrelated account",
                )
            )  # fmt: skip
        for action in ("kms:Decrypt", "kms:CreateGrant"):
            out.append(
                Expectation(
                    CheckId.NO_PUBLIC_ACCESS, False, Severity.FAIL, who, action,
                    _ctx(account, who, p.via(), True if action == "kms:CreateGrant" else None),
                    "a principal of an unrelated account, through the purpose's service",
                )
            )  # fmt: skip
    return out


def _lookalike_probes(p: Parties, account: str) -> list[Expectation]:
    """principal-scope (fail): the platform role's path and name in an unrelated account."""
    lookalike = p.iam_arn(account, f"role{p.role.path}{p.role.name}")
    return [
        Expectation(
            CheckId.PRINCIPAL_SCOPE, False, Severity.FAIL, lookalike, req.action,
            _ctx(account, lookalike, p.via(), _grant_flag(req)),
            "the platform role's name in an unrelated account",
        )
        for req in _required(p)
    ]  # fmt: skip


def _service_probes(p: Parties, service: str) -> list[Expectation]:
    """no-public-access (confused deputy): a service principal the policy allows, acting for a
    resource of an unrelated account (``aws:SourceAccount`` / ``aws:SourceArn`` of that
    account). A statement for a service principal must pin the source to the customer."""
    account = p.outsider_account
    short = service.split(".")[0]
    source = f"arn:{p.key.partition}:{short}:{p.key.region}:{account}:byok-contract-outsider"
    ctx: tuple[tuple[str, str | bool], ...] = (
        ("aws:SourceAccount", account),
        ("aws:SourceArn", source),
    )
    return [
        Expectation(
            CheckId.NO_PUBLIC_ACCESS, False, Severity.FAIL, service, action, ctx,
            f"the service {service} acting for a resource of an unrelated account",
        )
        for action in ("kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant")
    ]  # fmt: skip


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


@lru_cache(maxsize=1024)
def named_outsider_expectations(p: Parties, named: tuple[str, ...]) -> tuple[Expectation, ...]:
    """Probes for the unrelated accounts and principals a policy names explicitly (a partner
    account, a role of another account): the fixed outsider probes cannot guess them.
    ``named`` holds principal ARNs or account ids outside the customer and platform accounts,
    and ``service:<principal>`` for the service principals the policy allows."""
    out: list[Expectation] = []
    by_account: dict[str, list[str]] = {}
    for name in named:
        if name.startswith("service:"):
            out += _service_probes(p, name.removeprefix("service:"))
            continue
        account = account_of(name)
        if account is None or account in (p.customer_account, p.platform_account):
            continue
        who = by_account.setdefault(account, [])
        specific = ":iam::" in name and not name.endswith(":root")
        if specific and "*" not in name and "?" not in name:
            who.append(name)
    for account, who in by_account.items():
        out += _public_probes(p, account, _default_outsiders(p, account) + who)
        out += _lookalike_probes(p, account)
    return tuple(out)


#: keys a witness never adds to a probe outside no-public-access: they carry the probe's meaning
#: (a "direct" probe has no kms:ViaService; "other service" and grant probes pin theirs)
#: and organisation keys only fit outsider probes (an org-mate is an outsider, the platform
#: role need not be in the customer's organisation)
_PINNED = frozenset(
    {VIA_SERVICE.lower(), GRANT_FOR_AWS.lower(), "aws:principalorgid", "aws:principalorgpaths"}
)


@lru_cache(maxsize=1024)
def witness_expectations(
    p: Parties, witnesses: tuple[tuple[tuple[str, object], ...], ...]
) -> tuple[Expectation, ...]:
    """The forbidden requests again, each merged with a context a caller can produce to meet a
    statement's conditions (``byok.contract.witness``). The probe's own keys always win."""
    out: list[Expectation] = []
    for witness in witnesses:
        keys = ", ".join(k for k, _ in witness)
        for e in expectations(p):
            if e.must_allow:
                continue
            own = {k.lower() for k, _ in e.context}
            extra = tuple(
                (k, v)
                for k, v in witness
                if k.lower() not in own
                and (e.check is CheckId.NO_PUBLIC_ACCESS or k.lower() not in _PINNED)
            )
            if extra:
                out.append(
                    Expectation(
                        e.check, False, e.severity, e.principal, e.action,
                        e.context + extra,  # type: ignore[operator]
                        f"{e.why}, meeting a statement's conditions on {keys}",
                    )
                )  # fmt: skip
    return tuple(out)
