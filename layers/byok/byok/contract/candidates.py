"""The candidate requests of a contract check, derived from the normalised policy.

``check`` asks existential questions ("is there a request by an outsider that the key policy
allows?"). The request space is infinite, but a policy can only tell requests apart through
what it names: its action patterns, its principals and the literals of its conditions. This
module turns a parsed policy into finite candidate sets that realise every distinction the
policy can make (docs/policy.md, "Why these candidates are enough"):

- **callers** (:func:`callers`): per party (the platform role's sessions, other principals of
  the platform account, outsiders, the platform role's name in an outsider account), every kind
  of principal (account root, user, role session, federated user, AWS service principal acting
  for an account or for none, the named principals of the policy) in every account the policy
  names plus one fresh outsider account;
- **actions** (:func:`action_classes`): the KMS key actions grouped by which of the policy's
  action patterns they match; one representative per group decides for the whole group;
- **values** (:func:`key_values`): per condition key, every literal, one fresh value, "absent",
  a witness for every wildcard pattern (each ``*`` as nothing and as a fresh character), the
  regions between numeric / date bounds, the edges of every CIDR, both truth values, case
  variants for ``IgnoreCase``, and the substitutions of every policy variable.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple

from byok.contract.spec import Parties, account_of, pattern_instance
from byok.policy import Policy
from byok.policy.conditions import ConditionClause
from byok.policy.matching import (
    ACCOUNT_ID_RE,
    PrincipalSpec,
    compile_patterns,
    parse_caller,
    split_arn,
)
from byok.policy.variables import Template, Variable, parse_template
from byok.times import epoch_seconds

#: every KMS API action that is authorised against a KMS key by its key policy (AWS KMS
#: Developer Guide, "AWS KMS permissions"); the action universe of the contract's checks
KMS_KEY_ACTIONS: tuple[str, ...] = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DeleteImportedKeyMaterial",
    "kms:DeriveSharedSecret",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateMac",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:GetParametersForImport",
    "kms:GetPublicKey",
    "kms:ImportKeyMaterial",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:ReplicateKey",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:Sign",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
    "kms:UpdatePrimaryRegion",
    "kms:Verify",
    "kms:VerifyMac",
)


class Party(StrEnum):
    """Who a caller is to the contract."""

    PLATFORM_ROLE = "platform-role"  # a session of the platform role
    PLATFORM_OTHER = "platform-other"  # any other principal of the platform account
    LOOKALIKE = "lookalike"  # the platform role's name in an unrelated account
    OUTSIDER = "outsider"  # any other principal outside the customer and platform accounts
    CUSTOMER = "customer"  # the customer's own principals: never a violation


#: keys IAM fills from the caller; the evaluator derives the first group from the principal
DERIVED_KEYS = frozenset(
    {
        "aws:principalaccount",
        "kms:calleraccount",
        "aws:principalarn",
        "aws:principaltype",
        "aws:username",
        "aws:principalisawsservice",
        "aws:principalservicename",
    }
)
#: keys bound to who the caller is or where it connects from, that the evaluator does not derive:
#: a caller cannot pick a value the policy names, but its own value may be anything else (or
#: absent), including a value a wildcard pattern of the policy matches
BOUND_KEYS = frozenset(
    {
        "aws:userid",
        "aws:principalservicenameslist",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:vpcsourceip",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
    }
)
#: organisation of the caller: an outsider may be in the customer's organisation (an org-mate is
#: still an outsider to the contract), the platform's principals are not
ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})
#: set only for AWS service principals acting for a resource (confused deputy guards)
SOURCE_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn"})
RESOURCE_ACCOUNT = "aws:resourceaccount"
#: keys whose only values are true and false
BOOLEAN_KEYS = frozenset(
    {
        "aws:securetransport",
        "aws:multifactorauthpresent",
        "aws:viaawsservice",
        "aws:principalisawsservice",
        "kms:grantisforawsresource",
    }
)
#: multivalued context keys: a request may carry several values (IAM User Guide, "AWS global
#: condition context keys", value type "Multivalued"; AWS KMS Developer Guide, condition keys of
#: type ArrayOfString). Every other ``aws:`` and ``kms:`` key is single-valued: at most one value
#: in a request, whatever operator a policy applies to it (IAM User Guide, "Single-valued vs.
#: multivalued context keys": "The difference ... lies in the number of values in the request
#: context, not the number of values in the policy condition"; ``aws:PrincipalTag/tag-key`` has
#: one value per tag key)
MULTIVALUED_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:calledvia",
        "aws:principalorgpaths",
        "aws:principalservicenameslist",
        "aws:resourceorgpaths",
        "aws:sourceorgpaths",
        "kms:grantoperations",
        "kms:encryptioncontextkeys",
        "kms:resourcealiases",
    }
)


def is_multivalued(key: str, set_operator_used: bool) -> bool:
    """May a request carry several values for ``key`` (lower case)? The documented ``aws:`` and
    ``kms:`` keys by their value type; another service's key is unknown here, so a set operator
    on it in the policy counts as evidence (the reading that considers more requests)."""
    if key in MULTIVALUED_KEYS:
        return True
    if key.startswith(("aws:", "kms:")):
        return False
    return set_operator_used


FRESH = "byok-fresh"
FRESH_CHAR = "~"
FRESH_SESSION = "byok-contract-session"
#: a value absent from the request
ABSENT = None
#: one choice for a key: a value, a set of values (multi-valued keys) or ABSENT
Choice = str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Candidate:
    """A caller: its principal, its party, and the context IAM fills from it."""

    principal: str
    party: Party
    #: context keys this caller gives explicitly (the evaluator derives the rest)
    identity: tuple[tuple[str, str], ...] = ()
    #: service callers: the account it acts for (None: unknown, e.g. no aws:SourceAccount)
    acting: str | None = None
    #: lower-case keys whose value this caller fixes (absent unless in ``identity``)
    fixed: frozenset[str] = field(default_factory=frozenset)


# --- templates ---------------------------------------------------------------------------------


def templates_of(values: Iterable[str], variables: bool) -> list[Template]:
    if not variables:
        return []
    out = []
    for value in values:
        if "${" in value:
            try:
                template = parse_template(value, "", wildcards=False)
            except Exception:
                continue
            if template is not None:
                out.append(template)
    return out


def variable_keys(template: Template) -> set[str]:
    return {part.key for part in template.parts if isinstance(part, Variable)}


def clause_keys(clause: ConditionClause, variables: bool) -> frozenset[str]:
    """The keys a clause reads: its own and those of the policy variables in its values."""
    if not variables or not any("${" in value for value in clause.values):
        return frozenset((clause.key_lower,))  # no variable: only its own key (the common case)
    keys = {clause.key_lower}
    for template in templates_of(clause.values, variables):
        keys |= variable_keys(template)
    return frozenset(keys)


def _fills(pattern: str) -> list[str]:
    """Witnesses of a wildcard pattern: each ``*`` as nothing and as a fresh character."""
    if "*" not in pattern and "?" not in pattern:
        return [pattern]
    empty = pattern.replace("*", "").replace("?", FRESH_CHAR)
    one = pattern.replace("*", FRESH_CHAR).replace("?", FRESH_CHAR)
    two = pattern.replace("*", FRESH_CHAR * 2).replace("?", FRESH_CHAR)
    return [empty, one, two]


def _resolutions(template: Template, choices: dict[str, list[Choice]]) -> list[str]:
    """The template's text under every combination of its variables' scalar candidates."""
    parts: list[list[str]] = []
    for part in template.parts:
        if isinstance(part, str):
            parts.append([part])
            continue
        options = [c for c in choices.get(part.key, []) if isinstance(c, str)]
        if part.default is not None:
            options.append(part.default)
        parts.append(options[:6] or [FRESH])
    out = ["".join(combo) for combo in itertools.product(*parts)]
    return out[:64]


# --- values per key ------------------------------------------------------------------------------


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _ordered(numbers: Iterable[float]) -> list[str]:
    """A value in every region the bounds cut the line into, and every bound itself."""
    bounds = sorted(set(numbers))
    if not bounds:
        return []
    out = [bounds[0] - 1, bounds[-1] + 1, *bounds]
    out += [(a + b) / 2 for a, b in itertools.pairwise(bounds)]
    return [_number_text(v) for v in out]


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def _as_epoch(text: str) -> float | None:
    number = _as_number(text)
    return number if number is not None else epoch_seconds(text.strip())


def _ip_edges(literals: Iterable[str]) -> list[str]:
    """Both ends of every network and the addresses just outside them (every region of the
    address line that the networks cut), and one address of the other IP version."""
    out: list[str] = []
    versions: set[int] = set()
    for text in literals:
        try:
            net = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue
        versions.add(net.version)
        top = (1 << (32 if net.version == 4 else 128)) - 1
        make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        first, last = int(net.network_address), int(net.broadcast_address)
        out += [str(make(n)) for n in (first, last, first - 1, last + 1) if 0 <= n <= top]
    if versions:
        out += ["192.0.2.1", "2001:db8::1"]
    return out


def key_values(
    clauses: Iterable[ConditionClause], choices: dict[str, list[Choice]], variables: bool
) -> list[str]:
    """Every scalar candidate for one key, from the clauses on that key (see module doc).

    Only each clause's operator and values count, so the candidates are cached on those (and
    the linked keys' candidates): the same clauses come back check after check."""
    shapes = tuple((clause.base, tuple(clause.values)) for clause in clauses)
    linked = tuple(sorted((key, tuple(options)) for key, options in choices.items()))
    if all(type(v) is str for _, values in shapes for v in values):  # what the parser gives
        return list(_key_values(shapes, linked, variables))
    return list(_key_values.__wrapped__(shapes, linked, variables))


@lru_cache(maxsize=4096)
def _key_values(
    shapes: tuple[tuple[str, tuple[str, ...]], ...],
    linked: tuple[tuple[str, tuple[Choice, ...]], ...],
    variables: bool,
) -> tuple[str, ...]:
    choices = {key: list(options) for key, options in linked}
    out: list[str] = [FRESH, FRESH_CHAR]
    numbers: list[float] = []
    epochs: list[float] = []
    ips: list[str] = []
    for base, values in shapes:
        literals = list(values)
        for template in templates_of(literals, variables):
            literals += _resolutions(template, choices)
        if base == "Null":
            continue
        if base == "Bool":
            out += ["true", "false"]
            continue
        for literal in literals:
            if "${" in literal and variables:
                continue
            if base.startswith("Numeric"):
                if (n := _as_number(literal)) is not None:
                    numbers.append(n)
            elif base.startswith("Date"):
                if (e := _as_epoch(literal)) is not None:
                    epochs.append(e)
            elif base in ("IpAddress", "NotIpAddress"):
                ips.append(literal)
            elif base in ("StringLike", "StringNotLike", "ArnLike", "ArnNotLike", "ArnEquals",
                          "ArnNotEquals"):  # fmt: skip
                out += [literal, *_fills(literal)]
            elif "IgnoreCase" in base:
                out += [literal, literal.swapcase(), literal.upper(), literal.lower()]
            else:
                out.append(literal)
    out += _ordered(numbers)
    out += _ordered(epochs)
    out += _ip_edges(ips)
    return tuple(dict.fromkeys(out))


# --- actions -----------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _signatures(
    patterns: tuple[tuple[tuple[str, ...], bool], ...],
) -> dict[str, tuple[bool, ...]]:
    tests = [
        (compile_patterns(actions, ignore_case=True), negated) for actions, negated in patterns
    ]
    return {
        action: tuple(test(action.lower()) is not negated for test, negated in tests)
        for action in KMS_KEY_ACTIONS
    }


#: per statement, its ``Action`` / ``NotAction`` patterns and whether they are ``NotAction``
ActionPatterns = tuple[tuple[tuple[str, ...], bool], ...]


def action_patterns(policy: Policy) -> ActionPatterns:
    """What of a policy decides its action signatures (hashable: they are cached on it)."""
    return tuple((s.actions, s.not_action) for s in policy.statements)


def action_signatures(policy: Policy) -> dict[str, tuple[bool, ...]]:
    """Per KMS key action, which statements' ``Action`` / ``NotAction`` let it through.
    Actions with one signature are decided alike by the policy (cached by the patterns)."""
    return _signatures(action_patterns(policy))


@lru_cache(maxsize=1024)
def pooled_classes(
    patterns: ActionPatterns, pool: tuple[str, ...]
) -> tuple[tuple[str, tuple[str, ...], tuple[bool, ...]], ...]:
    """:func:`action_classes` of ``pool`` under the policy's action patterns: a pure function
    of both, so computed once per distinct pair instead of once per forbidden class and check
    (a tuple: the cached value is shared, never mutated)."""
    return tuple(action_classes(_signatures(patterns), pool))


def action_classes(
    signatures: dict[str, tuple[bool, ...]], pool: tuple[str, ...]
) -> list[tuple[str, tuple[str, ...], tuple[bool, ...]]]:
    """``(representative, members, signature)`` per group of ``pool`` actions that every
    statement treats alike: the representative's decisions are the group's."""
    groups: dict[tuple[bool, ...], list[str]] = {}
    for action in pool:
        groups.setdefault(signatures[action], []).append(action)
    return [(members[0], tuple(members), sig) for sig, members in groups.items()]


# --- callers ---------------------------------------------------------------------------------


def _iam(p: Parties, account: str, resource: str) -> str:
    return f"arn:{p.key.partition}:iam::{account}:{resource}"


def _session(p: Parties, account: str, role: str, session: str = FRESH_SESSION) -> str:
    return f"arn:{p.key.partition}:sts::{account}:assumed-role/{role}/{session}"


def _named_principals(spec: PrincipalSpec) -> list[str]:
    """Every AWS principal string a Principal / NotPrincipal element names."""
    raw = spec.raw
    if not isinstance(raw, dict):
        return []
    out: list[str] = []
    for value in raw.values():
        names = [value] if isinstance(value, str) else list(value)
        out += [n for n in names if isinstance(n, str) and n != "*"]
    return out


def _instance(pattern: str, taken: tuple[str, ...]) -> list[str]:
    """Concrete values for a principal-ARN or account pattern: its account wildcard replaced
    by an outsider account and by the taken ones it matches, other wildcards filled."""
    parts = split_arn(pattern)
    if parts is None:
        if ACCOUNT_ID_RE.fullmatch(pattern):
            return [pattern]
        out = [a for a in taken if re.fullmatch(_glob(pattern), a)]
        instance = pattern_instance(pattern, taken)
        return out + ([instance] if instance else [])
    account = parts[4]
    accounts: list[str] = []
    if "*" in account or "?" in account:
        accounts = [a for a in taken if re.fullmatch(_glob(account), a)]
        instance = pattern_instance(account, taken)
        if instance:
            accounts.append(instance)
    else:
        accounts = [account]
    out = []
    for acct in accounts:
        resource = parts[5]
        for fill in dict.fromkeys(
            [resource.replace("*", "x").replace("?", "x"), *_fills(resource)]
        ):
            out.append(":".join([*parts[:4], acct, fill]))
    return out


def _glob(pattern: str) -> str:
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)


def _party_of_account(p: Parties, account: str | None) -> Party:
    if account == p.customer_account:
        return Party.CUSTOMER
    if account == p.platform_account:
        return Party.PLATFORM_OTHER
    return Party.OUTSIDER


def _classify(p: Parties, principal: str) -> Party:
    account = account_of(principal)
    party = _party_of_account(p, account)
    parts = split_arn(principal)
    role = None
    if parts is not None:
        resource = parts[5]
        if parts[2] == "iam" and resource.startswith("role/"):
            role = resource.rsplit("/", 1)[-1]
        elif parts[2] == "sts" and resource.startswith("assumed-role/"):
            role = resource.split("/")[1]
    if role is not None and role.lower() == p.role.name.lower():
        if party is Party.PLATFORM_OTHER:
            return Party.PLATFORM_ROLE
        if party is Party.OUTSIDER:
            return Party.LOOKALIKE
    return party


class CallerInputs(NamedTuple):
    """What of a policy decides its callers (hashable: the callers are cached on it; a named
    tuple, so the cache hashes and compares it in C on every check)."""

    named: tuple[str, ...]
    who: tuple[str, ...]
    others: tuple[str, ...]
    services: tuple[str, ...]
    service_names: tuple[str, ...]
    source_arns: tuple[str, ...]
    source_keys: bool
    source_arn_key: bool


#: condition keys whose literal values name callers' accounts and ARNs
_WHO_KEYS = frozenset(
    {"aws:principalaccount", "kms:calleraccount", "aws:principalarn", "aws:sourceaccount"}
)


def caller_inputs(policy: Policy) -> CallerInputs:
    """One pass over the statements (this runs on every check; the callers are cached on it)."""
    variables = policy.version == "2012-10-17"
    referenced: set[str] = set()
    named: list[str] = []
    who: list[str] = []
    others: list[str] = []
    services: list[str] = []
    service_names: list[str] = []
    source_arns: list[str] = []
    for statement in policy.statements:
        spec = statement.principal or statement.not_principal
        if spec is not None:
            others += sorted(spec.others)
            services += sorted(spec.services)
            named += _named_principals(spec)
        for clause in statement.conditions:
            key = clause.key_lower
            referenced |= clause_keys(clause, variables)
            if clause.base == "Null":  # Null's values are flags
                continue
            if key in _WHO_KEYS:
                who += [v for v in clause.values if "${" not in v]
            elif key == "aws:principalservicename":
                service_names += [v for v in clause.values if "${" not in v]
            elif key == "aws:sourcearn":
                source_arns += [v for v in clause.values if "${" not in v]
    return CallerInputs(
        tuple(named),
        tuple(who),
        tuple(others),
        tuple(services),
        tuple(service_names),
        tuple(source_arns),
        bool(referenced & SOURCE_KEYS),
        "aws:sourcearn" in referenced,
    )


def callers(policy: Policy, p: Parties) -> tuple[Candidate, ...]:
    """Every caller kind the policy can tell apart, in every account it names (module doc)."""
    return _callers(caller_inputs(policy), p)


@lru_cache(maxsize=1024)
def _callers(inputs: CallerInputs, p: Parties) -> tuple[Candidate, ...]:
    mine = (p.customer_account, p.platform_account)
    named = list(inputs.named)
    who = list(inputs.who)
    accounts: dict[str, None] = {p.outsider_account: None}
    arns: dict[str, None] = {}
    for name in named + who:
        for value in _instance(name, mine):
            if ACCOUNT_ID_RE.fullmatch(value):
                accounts.setdefault(value, None)
            elif (account := account_of(value)) is not None:
                accounts.setdefault(account, None)
                arns.setdefault(value, None)
            elif value.startswith("arn:"):
                arns.setdefault(value, None)
    out: dict[str, Candidate] = {}

    def add(principal: str, identity: tuple[tuple[str, str], ...] = ()) -> None:
        party = _classify(p, principal)
        if party is Party.CUSTOMER or principal in out:
            return
        out[principal] = Candidate(principal, party, identity)

    role_path = f"role{p.role.path}{p.role.name}"
    add(_session(p, p.platform_account, p.role.name), (("aws:PrincipalArn", p.role_arn),))
    for account in [p.platform_account, *accounts]:
        if account == p.customer_account:
            continue
        sibling = "byok-contract-sibling" if p.role.name != "byok-contract-sibling" else "other"
        name = sibling if account == p.platform_account else "byok-contract-outsider"
        add(_iam(p, account, "root"))
        add(_iam(p, account, f"user/{name}"))
        add(_session(p, account, name), (("aws:PrincipalArn", _iam(p, account, f"role/{name}")),))
        if account != p.platform_account:
            lookalike = _iam(p, account, role_path)
            add(_session(p, account, p.role.name), (("aws:PrincipalArn", lookalike),))
        add(f"arn:{p.key.partition}:sts::{account}:federated-user/{name}")
    for arn in arns:
        parts = split_arn(arn)
        if parts is None:
            continue
        resource = parts[5]
        if parts[2] == "iam" and resource.startswith("role/"):
            role = resource.rsplit("/", 1)[-1]
            add(_session(p, parts[4], role), (("aws:PrincipalArn", arn),))
        elif parts[2] == "sts" and resource.startswith("assumed-role/"):
            add(arn)
            pieces = resource.split("/")
            if len(pieces) >= 3:
                add(_session(p, parts[4], pieces[1]))
        elif parts[2] in ("iam", "sts"):
            add(arn)
    # other named principals (federated identity providers, canonical users): as the
    # evaluator matches them, under their own name
    for other in inputs.others:
        if other not in out and account_of(other) is None:
            out[other] = Candidate(other, Party.OUTSIDER)
    return tuple(out.values()) + _service_callers(inputs, p, tuple(accounts))


def _service_callers(
    inputs: CallerInputs, p: Parties, outsiders: tuple[str, ...]
) -> tuple[Candidate, ...]:
    """AWS service principals: each one the policy names and a fresh one, acting for every
    account (``aws:SourceAccount``) or for none, with every ``aws:SourceArn`` candidate that
    agrees with that account."""
    services: dict[str, None] = {"byok-fresh.amazonaws.com": None}
    for service in inputs.services:
        services.setdefault(service, None)
    for value in inputs.service_names:
        for fill in _fills(value):
            # only a name the evaluator takes for a service principal can be one's
            # aws:PrincipalServiceName ("111122223333" is an account, not a service)
            if fill and parse_caller(fill).kind == "service":
                services.setdefault(fill.lower(), None)
    # acting for no known account (an outsider) and for the platform account (another
    # principal of the platform) differ by party even when the policy reads neither key
    source_accounts: list[str | None] = [None, p.platform_account]
    if inputs.source_keys:
        source_accounts += list(outsiders)
    arn_values = inputs.source_arns
    out: list[Candidate] = []
    for service in services:
        short = service.split(".")[0]
        for account in source_accounts:
            source_arns: list[str | None] = [None]
            if inputs.source_arn_key:
                fresh = (
                    f"arn:{p.key.partition}:{short}:{p.key.region}:{account}:byok-source"
                    if account
                    else f"arn:{p.key.partition}:s3:::byok-fresh-bucket"
                )
                source_arns.append(fresh)
                for value in arn_values:
                    for instance in _source_arn_instances(value, account):
                        source_arns.append(instance)
            for source_arn in dict.fromkeys(source_arns):
                identity: list[tuple[str, str]] = []
                acting = account
                if account is not None:
                    identity.append(("aws:SourceAccount", account))
                if source_arn is not None:
                    identity.append(("aws:SourceArn", source_arn))
                    arn_account = (split_arn(source_arn) or ["", "", "", "", ""])[4]
                    if acting is None and ACCOUNT_ID_RE.fullmatch(arn_account):
                        acting = arn_account
                party = _party_of_account(p, acting) if acting else Party.OUTSIDER
                if party is Party.CUSTOMER:
                    continue
                out.append(Candidate(service, party, tuple(identity), acting))
    return tuple(out)


def _source_arn_instances(value: str, account: str | None) -> list[str]:
    """Witnesses of a SourceArn literal or pattern that agree with the acting account: its
    account component is empty (S3 buckets), that account, or a pattern matching it."""
    parts = split_arn(value)
    if parts is None:
        return [f for f in _fills(value) if account is None]
    field_ = parts[4]
    if field_ == "":
        accounts = [""]
    elif "*" in field_ or "?" in field_:
        if account is None or not re.fullmatch(_glob(field_), account):
            return []
        accounts = [account]
    elif field_ == account:
        accounts = [account]
    else:
        return []
    out = []
    for acct in accounts:
        for fill in _fills(parts[5]):
            out.append(":".join([*[_fills(x)[0] for x in parts[:4]], acct, fill]))
    return out
