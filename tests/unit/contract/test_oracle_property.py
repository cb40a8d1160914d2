"""Property: every check's status is the one a brute-force oracle derives (issue 9).

The oracle is deliberately simple and shares nothing with ``byok.contract.candidates`` /
``byok.contract.search``: it enumerates a fixed universe of requests over the generator's small
alphabet (more accounts, principals, services, session names and values than any policy names,
every request-context combination of the keys the policy reads), decides each with
``byok.policy.evaluate``, and derives each check's status from the definitions in
docs/policy.md (who is an outsider, which actions and pinned keys each check asks about). The
only shortcut: a (caller, action) pair that the policy without Deny statements and without
conditions does not allow cannot be allowed with any context, so its contexts are skipped.

Hypothesis generates small key policies: the rendered contract or nothing, plus up to two
statements over two or three accounts (some written as JSON numbers), roles, sessions and
services, values and wildcards, every operator family with negated forms, ``IfExists``,
``Null``, ``ForAnyValue`` / ``ForAllValues``, a policy variable, ``NotPrincipal``,
``NotAction``, ``NotResource`` and Deny guards.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from soak import examples

from byok.contract import check_policy, render_policy
from byok.contract.candidates import KMS_KEY_ACTIONS
from byok.contract.spec import DIRECT_FORBIDDEN, GRANT_ACTIONS, expectations, parties
from byok.policy import Request, evaluate, parse_policy

C, P, X, Y = "111122223333", "444455556666", "555566667777", "777788889999"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{C}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:{REGION}:{C}:key/other"
ROLE_NAME = "byok-platform"
ROLE = f"arn:aws:iam::{P}:role/{ROLE_NAME}"


def iam(account: str, resource: str) -> str:
    return f"arn:aws:iam::{account}:{resource}"


def session(account: str, role: str, name: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{role}/{name}"


# --- the generator's alphabet -----------------------------------------------------------------

PRINCIPALS = [
    iam(C, "root"),
    iam(P, "root"),
    ROLE,
    iam(P, "role/other"),
    iam(X, "root"),
    iam(X, f"role/{ROLE_NAME}"),
    iam(X, "user/u"),
    session(P, ROLE_NAME, "s1"),
    P,
    X,
]
SERVICES = ["s3.amazonaws.com", "cloudtrail.amazonaws.com"]
ACTION_PATTERNS = [
    "kms:*",
    "*",
    "kms:Decrypt",
    "kms:GenerateDataKey*",
    "kms:*Grant*",
    "kms:CreateGrant",
    "kms:Describe*",
    "kms:Put*",
    "kms:Encrypt",
]
VIA_S3 = f"s3.{REGION}.amazonaws.com"
VIA_RDS = f"rds.{REGION}.amazonaws.com"
#: key -> (operator families that fit it, values the generator may write)
KEYS: dict[str, tuple[tuple[str, ...], list[Any]]] = {
    "aws:PrincipalAccount": (("String",), [C, P, X, int(P), int(X), "4444*", "*"]),
    "kms:CallerAccount": (("String",), [C, P, X, int(C), "5555*"]),
    "aws:PrincipalArn": (("Arn", "String"), [ROLE, iam("*", f"role/{ROLE_NAME}"), iam(P, "*")]),
    "kms:ViaService": (("String",), [VIA_S3, VIA_RDS, "s3.*.amazonaws.com", f"*.{REGION}.*"]),
    "kms:GrantIsForAWSResource": (("Bool",), [True, "true", False]),
    "aws:PrincipalIsAWSService": (("Bool",), [True, "false"]),
    "aws:SecureTransport": (("Bool",), [True, False]),
    "aws:SourceAccount": (("String",), [C, int(C), X]),
    "aws:PrincipalServiceName": (("String",), SERVICES),
    "aws:PrincipalTag/team": (("String",), ["blue", "red", "${aws:PrincipalTag/dept}"]),
    "aws:MultiFactorAuthAge": (("Numeric",), [60, "3600"]),
    "kms:GrantOperations": (("Set",), ["Decrypt", "Encrypt"]),
}
FAMILIES = {
    "String": [
        "StringEquals",
        "StringNotEquals",
        "StringLike",
        "StringNotLike",
        "StringEqualsIgnoreCase",
        "StringEqualsIfExists",
        "StringNotEqualsIfExists",
        "StringLikeIfExists",
        "ForAnyValue:StringEquals",
        "ForAllValues:StringLike",
        "Null",
    ],
    "Arn": ["ArnLike", "ArnNotLike", "ArnEquals", "ArnLikeIfExists", "Null"],
    "Bool": ["Bool", "BoolIfExists", "Null"],
    "Numeric": ["NumericLessThan", "NumericGreaterThanEquals", "NumericLessThanIfExists"],
    "Set": ["ForAnyValue:StringEquals", "ForAllValues:StringEquals", "ForAnyValue:StringLike"],
}


@st.composite
def clauses(draw: st.DrawFn) -> tuple[str, str, Any]:
    key = draw(st.sampled_from(sorted(KEYS)))
    families, values = KEYS[key]
    operator = draw(st.sampled_from(FAMILIES[draw(st.sampled_from(families))]))
    if operator == "Null":
        return operator, key, draw(st.sampled_from([True, "false"]))
    picked = draw(st.lists(st.sampled_from(values), min_size=1, max_size=2, unique_by=str))
    return operator, key, picked[0] if len(picked) == 1 and draw(st.booleans()) else picked


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    kind = draw(st.sampled_from(["star", "aws", "aws", "service", "not"]))
    if kind == "star":
        s["Principal"] = "*"
    elif kind == "service":
        s["Principal"] = {"Service": draw(st.sampled_from(SERVICES))}
    else:
        names = draw(st.lists(st.sampled_from(PRINCIPALS), min_size=1, max_size=3, unique=True))
        s["NotPrincipal" if kind == "not" else "Principal"] = {"AWS": names}
    actions = draw(st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2, unique=True))
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = actions
    resource = draw(st.sampled_from(["*", "*", "*", KEY, OTHER_KEY, "not-other"]))
    if resource == "not-other":
        s["NotResource"] = OTHER_KEY
    else:
        s["Resource"] = resource
    condition: dict[str, dict[str, Any]] = {}
    for operator, key, value in draw(st.lists(clauses(), max_size=2)):
        condition.setdefault(operator, {})[key] = value
    if condition:
        s["Condition"] = condition
    return s


RENDERED: dict[tuple[str, str], list[dict[str, Any]]] = {
    (purpose, base): [] if base == "none"
    else render_policy(purpose, KEY, ROLE, full=base == "full")["Statement"]
    for purpose in ("s3", "aurora")
    for base in ("full", "statements", "none")
}  # fmt: skip


@st.composite
def policies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    purpose = draw(st.sampled_from(["s3", "aurora"]))
    base = draw(st.sampled_from(["full", "statements", "none"]))
    listed = list(RENDERED[purpose, base])  # the statements are only read: no copy needed
    listed += draw(st.lists(statements(), min_size=1, max_size=2))
    return purpose, {"Version": "2012-10-17", "Statement": listed}


# --- the oracle's universe ---------------------------------------------------------------------

OUTSIDE = "outside"
LOOKALIKE = "lookalike"
PLATFORM_OTHER = "platform-other"
PLATFORM_ROLE = "platform-role"


def _callers() -> list[tuple[str, str, dict[str, str]]]:
    """(principal, party, identity context) for every caller of the universe."""
    out: list[tuple[str, str, dict[str, str]]] = []
    # Y is named by no policy; the last two match the generator's account patterns
    for account in (P, X, Y, "444400000000", "555500000001"):
        party = PLATFORM_OTHER if account == P else OUTSIDE
        users = ("u", "oracle-user") if account == X else ("u",)
        out += [(iam(account, "root"), party, {})]
        out += [(iam(account, f"user/{user}"), party, {}) for user in users]
        out.append((f"arn:aws:sts::{account}:federated-user/f", party, {}))
        for role in (ROLE_NAME, "other"):
            if role == ROLE_NAME:
                role_party = PLATFORM_ROLE if account == P else LOOKALIKE
            else:
                role_party = party
            names = ("s1", "oracle-session") if account == P and role == ROLE_NAME else ("s1",)
            for name in names:
                arn = {"aws:PrincipalArn": iam(account, f"role/{role}")}
                out.append((session(account, role, name), role_party, arn))
    for service in (*SERVICES, "other.amazonaws.com"):
        for source in (None, C, P, X, Y, "444400000000"):
            if source == C:
                continue  # acting for the customer: the customer's own business
            party = PLATFORM_OTHER if source == P else OUTSIDE
            out.append((service, party, {"aws:SourceAccount": source} if source else {}))
    return out


CALLERS = _callers()
#: derived from the caller: never enumerated as free context
CALLER_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalAccount",
        "kms:CallerAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalServiceName",
        "aws:SourceAccount",
    )
)
#: every value the universe tries per free key (None = absent); more than any policy names
POOLS: dict[str, list[Any]] = {
    "kms:viaservice": [None, VIA_S3, VIA_RDS, "s3.us-east-1.amazonaws.com", "oracle"],
    "kms:grantisforawsresource": [None, "true", "false"],
    "aws:securetransport": [None, "true", "false"],
    # case variants: StringEqualsIgnoreCase "red" and StringNotEquals "red" both hold for "RED"
    "aws:principaltag/team": [None, "BLUE", "RED", "oracle"],
    "aws:principaltag/dept": [None, "blue", "red", "oracle"],
    "aws:multifactorauthage": [None, "0", "61", "4000"],
    "kms:grantoperations": [None, ["Decrypt"], ["Encrypt"], ["CreateGrant"],
                            ["Decrypt", "Encrypt"], ["Decrypt", "CreateGrant"],
                            ["Decrypt", "Encrypt", "CreateGrant"]],
}  # fmt: skip


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# the generator's own values are in the universe too (a free key may carry any string)
for _key, (_families, _values) in KEYS.items():
    if _key.lower() in POOLS and "Set" not in _families:
        POOLS[_key.lower()] += [_text(v) for v in _values if _text(v) not in POOLS[_key.lower()]]


def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in pattern.lower()))  # fmt: skip


@lru_cache(maxsize=64)
def representatives(pool: tuple[str, ...]) -> tuple[str, ...]:
    """One action per group of ``pool`` that every pattern of the generator's alphabet treats
    alike (the alphabet, not the policy, so this is fixed)."""
    tests = [_glob(p) for p in ACTION_PATTERNS]
    groups: dict[tuple[bool, ...], str] = {}
    for action in pool:
        groups.setdefault(tuple(bool(t.fullmatch(action.lower())) for t in tests), action)
    return tuple(groups.values())


def _keys_read(policy: dict[str, Any]) -> list[str]:
    keys: set[str] = set()
    for s in policy["Statement"]:
        for block in s.get("Condition", {}).values():
            for key, value in block.items():
                keys.add(key.lower())
                for v in value if isinstance(value, list) else [value]:
                    keys |= {m.lower() for m in re.findall(r"\$\{([^}]+)\}", str(v))}
    return sorted(keys - CALLER_KEYS)


def _skeleton(policy: dict[str, Any]) -> Any:
    allows = [
        {k: v for k, v in s.items() if k != "Condition"}
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
    ]
    if not allows:
        return None
    return parse_policy({"Version": "2012-10-17", "Statement": allows})


def _exists(
    policy: Any,
    skeleton: Any,
    parties_: set[str],
    actions: tuple[str, ...],
    keys: list[str],
    pins: dict[str, list[Any]],
) -> bool:
    """Is any request of the universe in this class allowed?"""
    if skeleton is None:
        return False
    free = [k for k in keys if k not in pins]
    pinned = list(pins)
    spaces = [POOLS.get(k, [None, "oracle"]) for k in free] + [pins[k] for k in pinned]
    names = free + pinned
    combos = [
        {k: v for k, v in zip(names, combo, strict=True) if v is not None}
        for combo in itertools.product(*spaces)
    ]
    for principal, party, identity in CALLERS:
        if party not in parties_:
            continue
        base = {"aws:ResourceAccount": C, **identity}
        for action in representatives(actions):
            if not evaluate(skeleton, Request(principal, action, KEY, base)).allowed:
                continue
            for values in combos:
                if evaluate(policy, Request(principal, action, KEY, {**base, **values})).allowed:
                    return True
    return False


def oracle(purpose: str, document: dict[str, Any]) -> dict[str, str]:
    """Each check's status, by brute force over the universe."""
    policy = parse_policy(document)
    skeleton = _skeleton(document)
    keys = _keys_read(document)
    p = parties(purpose, KEY, ROLE)
    via = VIA_S3 if purpose == "s3" else VIA_RDS
    required = all(
        evaluate(policy, Request(e.principal, e.action, KEY, dict(e.context))).allowed
        for e in expectations(p)
    )
    crypto = tuple(a for a in DIRECT_FORBIDDEN if not a.startswith(("kms:Put", "kms:Sched",
                                                                     "kms:Disable")))  # fmt: skip
    others = [v for v in POOLS["kms:viaservice"] if v is not None and v != via]

    def exists(parties_: set[str], actions: tuple[str, ...], **pins: list[Any]) -> bool:
        named = {k.replace("_", ":", 1).lower(): v for k, v in pins.items()}
        return _exists(policy, skeleton, parties_, actions, keys, named)

    scope = "pass"
    if exists({LOOKALIKE}, KMS_KEY_ACTIONS):
        scope = "fail"
    elif exists({PLATFORM_OTHER}, KMS_KEY_ACTIONS):
        scope = "warn"
    return {
        "required-access": "pass" if required else "fail",
        "no-public-access": "fail" if exists({OUTSIDE, LOOKALIKE}, KMS_KEY_ACTIONS) else "pass",
        "no-direct-access": "warn"
        if exists({PLATFORM_ROLE}, DIRECT_FORBIDDEN, kms_viaservice=[None],
                  kms_grantisforawsresource=[None, "false"])
        else "pass",
        "no-other-service": "warn"
        if exists({PLATFORM_ROLE}, crypto, kms_viaservice=others)
        else "pass",
        "principal-scope": scope,
        "grants-for-aws-resources-only": "warn"
        if exists({PLATFORM_ROLE}, GRANT_ACTIONS, kms_viaservice=[via],
                  kms_grantisforawsresource=["false"])
        else "pass",
    }  # fmt: skip


@pytest.mark.property
@settings(
    max_examples=examples(2000, 100000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(policies())
def test_every_check_has_the_status_the_oracle_derives(drawn: tuple[str, dict[str, Any]]) -> None:
    purpose, document = drawn
    report = check_policy(document, purpose, KEY, ROLE)
    got = {c.id: c.status.value for c in report.checks}
    assert got == oracle(purpose, document), report.to_text()


def test_the_universe_is_larger_than_the_checkers_candidates() -> None:
    """The oracle asks about more callers and more values than the checker derives for a
    policy naming everything in the alphabet."""
    from byok.contract.candidates import callers

    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": PRINCIPALS},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    policy = parse_policy(document)
    assert len(CALLERS) > len(callers(policy, parties("s3", KEY, ROLE)))
