"""Check a key policy against the BYOK contract, through the policy evaluator only.

Every contract expectation (``byok.contract.spec``) is one request evaluated with
``byok.policy.evaluate``; a check is the set of its expectations, and its status is the worst
severity among the expectations that got the wrong answer:

=============================== ======= ===================================================
check                           status  when
=============================== ======= ===================================================
required-access                 fail    a request the platform needs is denied
no-public-access                fail    a principal of an unrelated account is allowed
principal-scope                 fail    the platform role's name in another account is allowed
principal-scope                 warn    another principal of the platform account is allowed
                                        (e.g. the platform account root, delegated)
no-direct-access                warn    the platform role may call KMS directly (crypto,
                                        grants, administration)
no-other-service                warn    ... through another service or another region
grants-for-aws-resources-only   warn    ... grant operations without kms:GrantIsForAWSResource
=============================== ======= ===================================================

The request list per (purpose, key, role) is built once (``lru_cache``) and the policy is parsed
once, which keeps a full check well under a millisecond (see docs/benchmarks.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from byok.contract.fixes import FixContext, fix_for
from byok.contract.report import ContractCheck, ContractReport, worst
from byok.contract.spec import (
    HEALTH_CHECK_ACTIONS,
    CheckId,
    Expectation,
    Parties,
    Severity,
    account_of,
    expectations,
    named_outsider_expectations,
    parties,
    pattern_instance,
    witness_expectations,
)
from byok.contract.witness import Witness, witnesses
from byok.models import CheckStatus, Purpose
from byok.policy import Decision, Effect, Evaluation, Policy, Request, evaluate, parse_policy

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


@lru_cache(maxsize=1024)
def _compiled_named(p: Parties, named: tuple[str, ...]) -> tuple[tuple[Expectation, Request], ...]:
    return _requests(p, named_outsider_expectations(p, named))


@lru_cache(maxsize=1024)
def _compiled_witnesses(
    p: Parties, crafted: tuple[Witness, ...]
) -> tuple[tuple[Expectation, Request], ...]:
    return _requests(p, witness_expectations(p, crafted))


#: condition keys whose values name who may call (accounts or principal ARNs)
_WHO_KEYS = frozenset(
    {"aws:principalaccount", "kms:calleraccount", "aws:principalarn", "aws:sourceaccount"}
)


def _named_principals(policy: Policy, p: Parties) -> tuple[str, ...]:
    """Accounts and principals of *other* accounts that Allow statements name, in the
    principal or in a who-condition, and the service principals they allow (as
    ``service:<name>``); each gets its own outsider probes."""
    mine = (p.customer_account, p.platform_account)
    found: set[str] = set()
    for s in policy.statements:
        if s.effect is not Effect.ALLOW:
            continue
        values: list[object] = []
        principal = s.raw.get("Principal")
        if isinstance(principal, Mapping):
            for kind, v in principal.items():
                names = [v] if isinstance(v, str) else list(v)
                if kind == "Service":  # confused deputy: the service acting for anyone
                    found.update(f"service:{n}" for n in names if isinstance(n, str))
                else:
                    values += names
        condition = s.raw.get("Condition")
        if isinstance(condition, Mapping):
            for clause in condition.values():
                if isinstance(clause, Mapping):
                    for k, v in clause.items():
                        if str(k).lower() in _WHO_KEYS:
                            values += [v] if isinstance(v, str) else list(v)
        for v in values:
            if not isinstance(v, str):
                continue
            if "*" in v or "?" in v:
                v = _instance(v, mine) or ""
            if (account := account_of(v)) and account not in mine:
                found.add(v)
    return tuple(sorted(found))


def _instance(pattern: str, mine: tuple[str, str]) -> str | None:
    """A concrete outsider matching a wildcard account or ARN pattern, if there is one."""
    parts = pattern.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        account = pattern_instance(parts[4], mine)
        if account is None:
            return None
        parts[4] = account
        return ":".join(parts).replace("*", "x").replace("?", "x")
    return pattern_instance(pattern, mine)


@lru_cache(maxsize=256)
def _health_requests(p: Parties) -> tuple[Request, ...]:
    ctx = {"aws:PrincipalAccount": p.platform_account, "kms:CallerAccount": p.platform_account}
    return tuple(
        Request(p.role_arn, a, resource=str(p.key), context=ctx) for a in HEALTH_CHECK_ACTIONS
    )


def _labels(evaluations: list[Evaluation], effect: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for ev in evaluations:
        for m in ev.statements:
            if str(m.effect).lower() == effect:
                seen.setdefault(m.label, None)
    return tuple(seen)


def _message(check: CheckId, ok: bool, p: Parties, violations: list[Any]) -> str:
    text = MESSAGES[check][0 if ok else 1].format(service=p.via(), role=p.role_arn)
    if ok:
        return text
    if check is CheckId.PRINCIPAL_SCOPE:
        delegated = any(m.delegated for _, ev in violations for m in ev.statements)
        if delegated:
            text += " (a statement delegates to a whole account: wider than the contract)"
    actions = sorted({e.action for e, _ in violations})
    return f"{text}: {', '.join(actions)}"


def check_policy(
    policy: Policy | str | bytes | Mapping[str, Any],
    purpose: Purpose | str,
    key_arn: str,
    platform_role_arn: str,
) -> ContractReport:
    """Evaluate the contract's requests on ``policy`` and report the six checks."""
    p = parties(purpose, str(key_arn), str(platform_role_arn))
    parsed = policy if isinstance(policy, Policy) else parse_policy(policy)
    compiled = _compiled(p)
    named = _named_principals(parsed, p)
    if named:
        compiled = compiled + _compiled_named(p, named)
    crafted = witnesses(parsed, p)
    if crafted:
        compiled = compiled + _compiled_witnesses(p, crafted)
    results = [(e, evaluate(parsed, req)) for e, req in compiled]
    required = [(e, req) for e, req in compiled if e.must_allow]
    fixes = FixContext(
        parsed,
        p,
        required,
        [
            frozenset(m.index for m in ev.statements) if ev.decision is Decision.ALLOW else None
            for e, ev in results
            if e.must_allow
        ],
    )
    checks: list[ContractCheck] = []
    for check in CheckId:
        items = [(e, ev) for e, ev in results if e.check is check]
        violations = [(e, ev) for e, ev in items if (ev.decision is Decision.ALLOW) != e.must_allow]
        if not violations:
            statements = (
                _labels([ev for _, ev in items], "allow")
                if check is CheckId.REQUIRED_ACCESS
                else ()
            )
            checks.append(
                ContractCheck(
                    check.value, CheckStatus.PASS, _message(check, True, p, []), statements
                )
            )
            continue
        status = worst([_SEVERITY[e.severity] for e, _ in violations])
        effect = "deny" if check is CheckId.REQUIRED_ACCESS else "allow"
        checks.append(
            ContractCheck(
                check.value,
                status,
                _message(check, False, p, violations),
                _labels([ev for _, ev in violations], effect),
                tuple(fix_for(check, violations, fixes)),
                tuple(
                    {"request": e.describe(), "decision": ev.decision.value, "why": e.why}
                    for e, ev in violations
                ),
            )
        )
    health = all(evaluate(parsed, r).decision is Decision.ALLOW for r in _health_requests(p))
    return ContractReport(p.purpose.value, str(p.key), p.role_arn, checks, health, len(results))
