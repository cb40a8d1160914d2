"""Property: every check's status is the one a brute-force oracle derives (issue 9).

The oracle is deliberately simple and shares nothing with ``byok.contract.candidates`` /
``byok.contract.search``: it enumerates a fixed universe of requests over the generator's small
alphabet (more accounts, principals, services, session names and values than any policy names,
every request-context combination of the keys the policy reads), decides each with
``byok.policy.evaluate``, and derives each check's status from the definitions in
docs/policy.md (who is an outsider, which actions and pinned keys each check asks about). The
only shortcut: a statement whose principal, action and resource do not match a (caller,
action) pair cannot apply to it with any context, so for that pair only the keys of the
statements that may apply are enumerated (and a pair no Allow statement matches is skipped).

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
from byok.policy import Decision, Request, evaluate, parse_policy

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


# Strategies are built once, here: building them inside the composites on every draw cost
# hypothesis more than the checker and the oracle together.
def _clause_strategy(key: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    families, values = KEYS[key]
    operators = [op for family in families for op in FAMILIES[family]]
    flags = st.tuples(st.just("Null"), st.just(key), st.sampled_from([True, "false"]))
    picked = st.lists(st.sampled_from(values), min_size=1, max_size=2, unique_by=str)
    valued = st.tuples(
        st.sampled_from([op for op in operators if op != "Null"]),
        st.just(key),
        st.tuples(picked, st.booleans()).map(
            lambda p: p[0][0] if len(p[0]) == 1 and p[1] else p[0]
        ),
    )
    return st.one_of(flags, valued) if "Null" in operators else valued


CLAUSES = st.one_of([_clause_strategy(key) for key in sorted(KEYS)])
NAMES = st.lists(st.sampled_from(PRINCIPALS), min_size=1, max_size=3, unique=True)
ACTION_LISTS = st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2, unique=True)
RESOURCE_CHOICES = st.sampled_from(["*", "*", "*", KEY, OTHER_KEY, "not-other"])


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Allow", "Deny"]))}
    kind = draw(st.sampled_from(["star", "aws", "aws", "service", "not"]))
    if kind == "star":
        s["Principal"] = "*"
    elif kind == "service":
        s["Principal"] = {"Service": draw(st.sampled_from(SERVICES))}
    else:
        s["NotPrincipal" if kind == "not" else "Principal"] = {"AWS": draw(NAMES)}
    s["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(ACTION_LISTS)
    resource = draw(RESOURCE_CHOICES)
    if resource == "not-other":
        s["NotResource"] = OTHER_KEY
    else:
        s["Resource"] = resource
    condition: dict[str, dict[str, Any]] = {}
    for operator, key, value in draw(st.lists(CLAUSES, max_size=2)):
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


BASES = st.sampled_from(sorted(RENDERED))
STATEMENT_LISTS = st.lists(statements(), min_size=1, max_size=2)


@st.composite
def policies(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    purpose, base = draw(BASES)
    listed = list(RENDERED[purpose, base])  # the statements are only read: no copy needed
    listed += draw(STATEMENT_LISTS)
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
    # case variants too: StringNotEquals and StringEqualsIgnoreCase on one service both hold
    # for its upper-case spelling (the soak found a policy only that spelling opens)
    "kms:viaservice": [None, VIA_S3, VIA_RDS, VIA_S3.upper(), VIA_RDS.upper(),
                       "s3.us-east-1.amazonaws.com", "oracle"],
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


def _keys_read(statement: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for block in statement.get("Condition", {}).values():
        for key, value in block.items():
            keys.add(key.lower())
            for v in value if isinstance(value, list) else [value]:
                keys |= {m.lower() for m in re.findall(r"\$\{([^}]+)\}", str(v))}
    return keys - CALLER_KEYS


class _Bare:
    """Each statement without its conditions, and the keys its conditions read: a statement
    whose principal, action and resource do not match a request cannot apply to it whatever
    the context, so its keys need no enumeration for that request. Whether it matches is the
    conjunction of its principal part (asked per caller, with any action) and its action and
    resource part (asked per action, for any principal), each decided by ``evaluate``."""

    def __init__(self, document: dict[str, Any]) -> None:
        def alone(statement: dict[str, Any]) -> Any:
            return parse_policy({"Version": "2012-10-17", "Statement": [statement]})

        self.parts = []
        for s in document["Statement"]:
            who = {k: v for k, v in s.items() if k in ("Effect", "Principal", "NotPrincipal")}
            what = {k: v for k, v in s.items() if k in ("Effect", "Action", "NotAction",
                                                       "Resource", "NotResource")}  # fmt: skip
            self.parts.append(
                (
                    s["Effect"] == "Allow",
                    alone({**who, "Action": "*", "Resource": "*"}),
                    alone({**what, "Principal": "*"}),
                    _keys_read(s),
                )
            )
        self._who: dict[str, list[bool]] = {}
        self._what: dict[str, list[bool]] = {}

    @staticmethod
    def _applies(policy: Any, principal: str, action: str) -> bool:
        decision = evaluate(policy, Request(principal, action, KEY, {})).decision
        return decision is not Decision.IMPLICIT_DENY

    def keys(self, principal: str, action: str) -> list[str] | None:
        """The free keys read by the statements that may apply; None if no Allow may."""
        who = self._who.get(principal)
        if who is None:
            who = self._who[principal] = [
                self._applies(p, principal, "kms:Decrypt") for _, p, _, _ in self.parts
            ]
        what = self._what.get(action)
        if what is None:
            what = self._what[action] = [
                self._applies(a, iam(Y, "root"), action) for _, _, a, _ in self.parts
            ]
        keys: set[str] = set()
        allow = False
        for (is_allow, _, _, read), w, a in zip(self.parts, who, what, strict=True):
            if w and a:
                keys |= read
                allow = allow or is_allow
        return sorted(keys) if allow else None


def _exists(
    policy: Any,
    bare: _Bare,
    parties_: set[str],
    actions: tuple[str, ...],
    pins: dict[str, list[Any]],
) -> bool:
    """Is any request of the universe in this class allowed?"""
    for principal, party, identity in CALLERS:
        if party not in parties_:
            continue
        base = {"aws:ResourceAccount": C, **identity}
        for action in representatives(actions):
            keys = bare.keys(principal, action)
            if keys is None:
                continue
            names = [k for k in keys if k not in pins] + list(pins)
            spaces = [pins[k] if k in pins else POOLS.get(k, [None, "oracle"]) for k in names]
            for combo in itertools.product(*spaces):
                values = {k: v for k, v in zip(names, combo, strict=True) if v is not None}
                if evaluate(policy, Request(principal, action, KEY, {**base, **values})).allowed:
                    return True
    return False


def oracle(purpose: str, document: dict[str, Any]) -> dict[str, str]:
    """Each check's status, by brute force over the universe."""
    policy = parse_policy(document)
    bare = _Bare(document)
    p = parties(purpose, KEY, ROLE)
    via = VIA_S3 if purpose == "s3" else VIA_RDS
    required = all(
        evaluate(policy, Request(e.principal, e.action, KEY, dict(e.context))).allowed
        for e in expectations(p)
    )
    crypto = tuple(a for a in DIRECT_FORBIDDEN if not a.startswith(("kms:Put", "kms:Sched",
                                                                     "kms:Disable")))  # fmt: skip
    others = [v for v in POOLS["kms:viaservice"] if v is not None and v.lower() != via]

    def exists(parties_: set[str], actions: tuple[str, ...], **pins: list[Any]) -> bool:
        named = {k.replace("_", ":", 1).lower(): v for k, v in pins.items()}
        return _exists(policy, bare, parties_, actions, named)

    # the lookalike is an outsider too: asked once, it decides both checks when allowed
    lookalike = exists({LOOKALIKE}, KMS_KEY_ACTIONS)
    scope = "fail" if lookalike else "warn" if exists({PLATFORM_OTHER}, KMS_KEY_ACTIONS) else "pass"
    public = lookalike or exists({OUTSIDE}, KMS_KEY_ACTIONS)
    return {
        "required-access": "pass" if required else "fail",
        "no-public-access": "fail" if public else "pass",
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
