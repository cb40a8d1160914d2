"""Check a key policy against the BYOK contract, through the policy evaluator only.

A check is a set of requests and the answer the key policy must give to all of them. The
required requests are a fixed list (``byok.contract.spec``); each forbidden class is a party,
an action set and pinned context keys (``FORBIDDEN``), and ``byok.contract.search`` finds the
requests of the class the policy allows among candidates derived from the policy itself
(``byok.contract.candidates``, argued complete in docs/policy.md). Every decision is
``byok.policy.evaluate``'s. A check's status is the worst severity among its violations:

=============================== ======= ===================================================
check                           status  when
=============================== ======= ===================================================
required-access                 fail    a request the platform needs is denied
no-public-access                fail    a principal outside the customer and platform
                                        accounts (or a service acting for one, or for no
                                        account) is allowed any KMS action on the key
principal-scope                 fail    the platform role's name in another account is allowed
principal-scope                 warn    another principal of the platform account is allowed
                                        (e.g. the platform account root, delegated)
no-direct-access                warn    the platform role may call KMS directly (crypto,
                                        grants, administration)
no-other-service                warn    ... through another service or another region
grants-for-aws-resources-only   warn    ... grant operations without kms:GrantIsForAWSResource
=============================== ======= ===================================================

The required requests per (purpose, key, role) are built once (``lru_cache``) and the policy
is parsed once, which keeps a full check well under a millisecond (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from byok.contract.candidates import KMS_KEY_ACTIONS, Choice, Party
from byok.contract.fixes import FixContext, Plan, fix_for, settle
from byok.contract.report import ContractCheck, ContractReport, worst
from byok.contract.search import Forbidden, Found, Prepared, find_allowed
from byok.contract.spec import (
    DIRECT_FORBIDDEN,
    GRANT_ACTIONS,
    HEALTH_CHECK_ACTIONS,
    CheckId,
    Expectation,
    Parties,
    Severity,
    expectations,
    parties,
)
from byok.models import CheckStatus, Purpose
from byok.policy import Decision, Evaluation, Policy, Request, evaluate, parse_policy

#: (message on pass, message on violation)
MESSAGES: dict[CheckId, tuple[str, str]] = {
    CheckId.REQUIRED_ACCESS: (
        "the platform role can do what the purpose needs through {service}",
        "the platform role cannot do what the purpose needs through {service}",
    ),
    CheckId.NO_PUBLIC_ACCESS: (
        "no principal outside the customer and platform accounts is allowed",
        "the key is open to principals outside the customer and platform accounts",
    ),
    CheckId.NO_DIRECT_ACCESS: (
        "the platform role cannot call KMS directly (only metadata reads, if any)",
        "the platform role may call KMS directly, not only through {service}",
    ),
    CheckId.NO_OTHER_SERVICE: (
        "the platform role can use the key only through {service}",
        "the platform role may use the key through another service or region than {service}",
    ),
    CheckId.PRINCIPAL_SCOPE: (
        "only the platform role {role} is allowed",
        "principals other than the platform role {role} are allowed",
    ),
    CheckId.GRANTS_FOR_AWS_RESOURCES_ONLY: (
        "grant operations are allowed only for AWS resources (kms:GrantIsForAWSResource)",
        "grant operations are allowed without kms:GrantIsForAWSResource = true",
    ),
}

_SEVERITY = {Severity.WARN: CheckStatus.WARN, Severity.FAIL: CheckStatus.FAIL}
#: the checks in report order (iterating the enum itself runs Python code on every check)
_CHECKS = tuple(CheckId)


def _requests(
    p: Parties, items: tuple[Expectation, ...]
) -> tuple[tuple[Expectation, Request], ...]:
    key = str(p.key)
    return tuple(
        (e, Request(e.principal, e.action, resource=key, context=dict(e.context))) for e in items
    )


@lru_cache(maxsize=256)
def _compiled(p: Parties) -> tuple[tuple[Expectation, Request], ...]:
    return _requests(p, expectations(p))


#: direct calls that are crypto or grants (no-other-service asks about these through services)
_USE_ACTIONS = tuple(
    a for a in DIRECT_FORBIDDEN if a not in ("kms:PutKeyPolicy", "kms:ScheduleKeyDeletion",
                                             "kms:DisableKey")
)  # fmt: skip


def _only(*options: Choice) -> Callable[[list[Choice]], list[Choice]]:
    return lambda _candidates: list(options)


def _other_than(via: str, fresh: str) -> Callable[[list[Choice]], list[Choice]]:
    def pick(candidates: list[Choice]) -> list[Choice]:
        # a case variant of the service's name is the same service (AWS spells them lower case)
        out = [c for c in candidates if isinstance(c, str) and c.lower() != via]
        return list(dict.fromkeys([*out, fresh]))

    return pick


@lru_cache(maxsize=256)
def forbidden_classes(p: Parties) -> tuple[Forbidden, ...]:
    """The forbidden request classes of the six checks for these parties (docs/policy.md)."""
    outsiders = frozenset({Party.OUTSIDER, Party.LOOKALIKE})
    role = frozenset({Party.PLATFORM_ROLE})
    via = p.via()
    other = f"byok-other.{p.key.region}.amazonaws.com"
    return (
        Forbidden(
            CheckId.NO_PUBLIC_ACCESS, Severity.FAIL, outsiders, KMS_KEY_ACTIONS, (),
            "a principal outside the customer and platform accounts",
        ),
        Forbidden(
            CheckId.PRINCIPAL_SCOPE, Severity.FAIL, frozenset({Party.LOOKALIKE}), KMS_KEY_ACTIONS,
            (), "the platform role's name in an unrelated account",
        ),
        Forbidden(
            CheckId.PRINCIPAL_SCOPE, Severity.WARN, frozenset({Party.PLATFORM_OTHER}),
            KMS_KEY_ACTIONS, (), "another principal of the platform account",
        ),
        Forbidden(
            CheckId.NO_DIRECT_ACCESS, Severity.WARN, role, DIRECT_FORBIDDEN,
            # a direct grant call is never "for an AWS resource": only a service sets it true
            (("kms:viaservice", _only(None)), ("kms:grantisforawsresource", _only("false", None))),
            "direct call (no kms:ViaService)",
        ),
        Forbidden(
            CheckId.NO_OTHER_SERVICE, Severity.WARN, role, _USE_ACTIONS,
            (("kms:viaservice", _other_than(via, other)),),
            "via another service or another region",
        ),
        Forbidden(
            CheckId.GRANTS_FOR_AWS_RESOURCES_ONLY, Severity.WARN, role, GRANT_ACTIONS,
            (("kms:viaservice", _only(via)), ("kms:grantisforawsresource", _only("false"))),
            "grant not made by an AWS service for an AWS resource",
        ),
    )  # fmt: skip


@lru_cache(maxsize=256)
def _health_requests(p: Parties) -> tuple[Request, ...]:
    ctx = {
        "aws:PrincipalAccount": p.platform_account,
        "kms:CallerAccount": p.platform_account,
        "aws:PrincipalArn": p.role_arn,
    }
    return tuple(
        Request(p.session_arn, a, resource=str(p.key), context=ctx) for a in HEALTH_CHECK_ACTIONS
    )


def _labels(evaluations: list[Evaluation], effect: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for ev in evaluations:
        for m in ev.statements:
            if str(m.effect).lower() == effect:
                seen.setdefault(m.label, None)
    return tuple(seen)


@lru_cache(maxsize=1024)
def _text(check: CheckId, ok: bool, p: Parties) -> str:
    """A check's message for these parties (formatted once per parties, not per check run)."""
    return MESSAGES[check][0 if ok else 1].format(service=p.via(), role=p.role_arn)


def _message(check: CheckId, ok: bool, p: Parties, violations: list[Any]) -> str:
    text = _text(check, ok, p)
    if ok:
        return text
    if check is CheckId.PRINCIPAL_SCOPE:
        delegated = any(m.delegated for _, ev in violations for m in ev.statements)
        if delegated:
            text += " (a statement delegates to a whole account: wider than the contract)"
    return text


@dataclass(slots=True)
class _Assessed:
    """One check's outcome before it becomes a ``ContractCheck`` (its fix may still grow)."""

    check: CheckId
    status: CheckStatus
    message: str
    statements: tuple[str, ...]
    fix: list[dict[str, Any]]
    evidence: tuple[dict[str, Any], ...] = ()


def _assess(parsed: Policy, p: Parties) -> tuple[list[_Assessed], int]:
    """Decide the required requests, search every forbidden class, plan each check's fix."""
    required = list(_compiled(p))
    results: list[tuple[Expectation, Evaluation]] = [(e, evaluate(parsed, r)) for e, r in required]
    found: dict[CheckId, list[Found]] = {}
    prepared = Prepared(parsed, p)
    for forbidden in forbidden_classes(p):
        found.setdefault(forbidden.check, []).extend(find_allowed(prepared, forbidden))
    fixes = FixContext(
        parsed,
        p,
        required,
        [
            frozenset(m.index for m in ev.statements) if ev.decision is Decision.ALLOW else None
            for _, ev in results
        ],
    )
    out: list[_Assessed] = []
    evaluated = len(results)
    for check in _CHECKS:
        if check is CheckId.REQUIRED_ACCESS:
            violations = [(e, ev) for e, ev in results if ev.decision is not Decision.ALLOW]
            actions = sorted({e.action for e, _ in violations})
        else:
            hits = found.get(check, [])
            evaluated += len(hits)
            violations = [(f.expectation, f.evaluation) for f in hits]
            actions = sorted({a for f in hits for a in f.actions})
        if not violations:
            statements = (
                _labels([ev for _, ev in results], "allow")
                if check is CheckId.REQUIRED_ACCESS
                else ()
            )
            out.append(
                _Assessed(check, CheckStatus.PASS, _message(check, True, p, []), statements, [])
            )
            continue
        effect = "deny" if check is CheckId.REQUIRED_ACCESS else "allow"
        out.append(
            _Assessed(
                check,
                worst([_SEVERITY[e.severity] for e, _ in violations]),
                f"{_message(check, False, p, violations)}: {', '.join(actions)}",
                _labels([ev for _, ev in violations], effect),
                fix_for(check, violations, fixes),
                tuple(
                    {"request": e.describe(), "decision": ev.decision.value, "why": e.why}
                    for e, ev in violations
                ),
            )
        )
    return out, evaluated


def _plan(assessed: list[_Assessed]) -> Plan:
    return {a.check: a.fix for a in assessed if a.status is not CheckStatus.PASS}


def check_policy(
    policy: Policy | str | bytes | Mapping[str, Any],
    purpose: Purpose | str,
    key_arn: str,
    platform_role_arn: str,
) -> ContractReport:
    """Decide the required requests, search every forbidden class, report the six checks with
    one fix that, applied once, makes the policy pass (``byok.contract.fixes.settle``)."""
    p = parties(purpose, str(key_arn), str(platform_role_arn))
    parsed = policy if isinstance(policy, Policy) else parse_policy(policy)
    assessed, evaluated = _assess(parsed, p)
    plan = _plan(assessed)
    if plan:
        settle(
            parsed,
            plan,
            lambda fixed: _plan(_assess(parse_policy(fixed), p)[0]),
            rounds=len(parsed.statements) + 2,
        )
    checks = [
        ContractCheck(a.check.value, a.status, a.message, a.statements, tuple(a.fix), a.evidence)
        for a in assessed
    ]
    health = all(evaluate(parsed, r).decision is Decision.ALLOW for r in _health_requests(p))
    return ContractReport(p.purpose.value, str(p.key), p.role_arn, checks, health, evaluated)
