"""Outsider requests crafted to satisfy a statement's conditions.

The fixed outsider probes of the contract carry only identity keys. A statement such as
``Principal "*"`` + ``Bool aws:SecureTransport true`` would then look closed, although any
caller in any account can meet that condition. An outsider controls every request-context key
except the identity-bound ones (whose values AWS fills from the caller: its account, ARN,
organisation, the VPC endpoint it owns...). So for every Allow statement that could match an
outsider, we build one *witness* context that satisfies the statement's conditions on the keys
an outsider controls, and probe the whole policy with it (explicit Denies still apply).

This is a bounded search, not a solver: one witness per statement, values derived from the
statement's own literals (``StringEquals x`` -> ``x``, ``NumericLessThan n`` -> ``n - 1``,
``IpAddress cidr`` -> its first address, negated / ``IfExists`` / ``ForAllValues`` -> key
absent). It costs nothing for policies with no such statement (the rendered contract).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from byok.contract.spec import Parties, account_of
from byok.policy import Effect, Policy

#: keys whose value AWS derives from who the caller is: an outsider cannot choose them.
#: (aws:PrincipalOrgID / OrgPaths are not here: another account of that organisation is an
#: outsider to the contract and meets them; the spec applies them to outsider probes only.)
IDENTITY_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:principalarn",
        "kms:calleraccount",
        "aws:userid",
        "aws:username",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenamelist",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:vpcsourceip",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
    }
)

Witness = tuple[tuple[str, str | tuple[str, ...]], ...]


def _may_admit_outsiders(raw: Mapping[str, object], p: Parties) -> bool:
    if "NotPrincipal" in raw:
        return True
    principal = raw.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for value in principal.values():
        for v in [value] if isinstance(value, str) else list(value):  # type: ignore[arg-type]
            if v == "*":
                return True
            account = account_of(v) if isinstance(v, str) else None
            if account and account not in (p.customer_account, p.platform_account):
                return True
    return False


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(pattern: str) -> str:
    return pattern.replace("*", "x").replace("?", "x")


def _number(text: str, delta: float) -> str | None:
    try:
        value = float(text) + delta
    except ValueError:
        return None
    return str(int(value)) if value.is_integer() else str(value)


def _date(text: str, seconds: int) -> str | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _satisfying(base: str, literal: str) -> str | None:
    """A value that meets ``base`` against ``literal`` (None: leave the key absent)."""
    if base in ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"):
        return _fill(literal)
    if base in ("Bool", "BinaryEquals", "NumericEquals", "NumericLessThanEquals"):
        return literal
    if base in ("NumericGreaterThanEquals", "DateEquals", "DateLessThanEquals"):
        return literal
    if base == "DateGreaterThanEquals":
        return literal
    if base == "NumericLessThan":
        return _number(literal, -1)
    if base == "NumericGreaterThan":
        return _number(literal, 1)
    # just past the bound, so that a window (after X and before Y) is met too
    if base == "DateLessThan":
        return _date(literal, -1) or "1970-01-01T00:00:00Z"
    if base == "DateGreaterThan":
        return _date(literal, 1) or "2999-12-31T00:00:00Z"
    if base == "IpAddress":
        try:
            return str(ipaddress.ip_network(literal, strict=False).network_address)
        except ValueError:
            return None
    return None


def witnesses(policy: Policy, p: Parties) -> tuple[Witness, ...]:
    """One witness context per Allow statement that could match an outsider and conditions
    keys an outsider controls (deduplicated, in statement order)."""
    found: dict[Witness, None] = {}
    for statement in policy.statements:
        if statement.effect is not Effect.ALLOW or not statement.conditions:
            continue
        if not _may_admit_outsiders(statement.raw, p):
            continue
        context: dict[str, str | tuple[str, ...]] = {}  # keys as the policy spells them
        seen: set[str] = set()
        for clause in statement.conditions:
            key = clause.key
            if clause.key_lower in IDENTITY_KEYS or clause.key_lower in seen:
                continue
            seen.add(clause.key_lower)
            if clause.negated or clause.if_exists or clause.set_operator == "ForAllValues":
                continue  # an absent key satisfies these
            if clause.base == "Null":
                if any(str(v).lower() == "false" for v in clause.values):
                    context[key] = "byok-witness"
                continue
            if not clause.values:
                continue
            value = _satisfying(clause.base, _literal(clause.values[0]))
            if value is None:
                continue
            context[key] = (value,) if clause.set_operator == "ForAnyValue" else value
        if context:
            found.setdefault(tuple(sorted(context.items())), None)
    return tuple(found)
