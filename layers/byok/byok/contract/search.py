"""Find, for a forbidden class of requests, the requests the key policy allows.

A forbidden class (``byok.contract.check.FORBIDDEN``) is a set of parties, a set of actions and
pinned context keys ("no ``kms:ViaService``", "``kms:GrantIsForAWSResource`` false"). For every
Allow statement that could take part in a violation we look for one request of the class that
it allows and no Deny stops, over the candidates of ``byok.contract.candidates``:

1. callers x action groups: only pairs whose action, static resource and principal some Allow
   statement matches can be allowed at all (``Statement.targets``, no context needed);
2. for one Allow statement ``A`` and the Deny statements that target the same pair, the
   conditions split by the keys they read into independent groups (a clause whose values hold a
   policy variable joins its key and the variable's key). Within a group, each combination of
   candidate values either fails ``A`` or satisfies it and "kills" some Denies (makes one of
   their clauses false); the policy allows the request iff one option per group satisfies ``A``
   and together they kill every Deny. That is a small cover problem, solved exactly by a
   memoised search over the groups;
3. the request found is decided again by ``byok.policy.evaluate`` on the whole policy: the
   verdict is always the evaluator's, the search only chooses which requests to ask about.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from byok.contract.candidates import (
    ABSENT,
    BOOLEAN_KEYS,
    BOUND_KEYS,
    DERIVED_KEYS,
    FRESH,
    ORG_KEYS,
    RESOURCE_ACCOUNT,
    SOURCE_KEYS,
    Candidate,
    Choice,
    Party,
    _fills,
    action_classes,
    action_signatures,
    callers,
    clause_keys,
    is_multivalued,
    key_values,
    templates_of,
)
from byok.contract.spec import CheckId, Expectation, Parties, Severity
from byok.policy import Effect, Evaluation, Policy, Request, Statement, evaluate
from byok.policy.conditions import ConditionClause
from byok.policy.matching import parse_caller
from byok.policy.variables import Template, Variable

#: a context key's options for a class: every candidate, or a pinned subset
Pin = Callable[[list[Choice]], list[Choice]]
#: chosen values per lower-case key (None: absent from the request)
Assignment = dict[str, tuple[str, ...] | None]
#: most combinations tried for one group of linked keys (a cap far above any real policy)
MAX_GROUP_OPTIONS = 20000


@dataclass(frozen=True, slots=True)
class Forbidden:
    """One forbidden class of requests of a check."""

    check: CheckId
    severity: Severity
    parties: frozenset[Party]
    actions: tuple[str, ...]
    #: lower-case key -> options filter (the key's value is pinned by the class)
    pins: tuple[tuple[str, Pin], ...]
    why: str


@dataclass(frozen=True, slots=True)
class Found:
    """A forbidden request the policy allows, and the actions that behave like it."""

    expectation: Expectation
    evaluation: Evaluation
    actions: tuple[str, ...]


class _Values:
    """Candidate options per key for one policy (computed once per check run)."""

    def __init__(self, policy: Policy, key_arn: str) -> None:
        self.variables = policy.version == "2012-10-17"
        self.by_key: dict[str, list[ConditionClause]] = {}
        self.multi: set[str] = set()
        for statement in policy.statements:
            for clause in statement.conditions:
                self.by_key.setdefault(clause.key_lower, []).append(clause)
                if is_multivalued(clause.key_lower, bool(clause.set_operator)):
                    self.multi.add(clause.key_lower)
        for statement in policy.statements:
            for template in statement._resource_templates:
                for part in template.parts:
                    key = getattr(part, "key", None)
                    if key:
                        self.by_key.setdefault(key, [])
        self._scalars: dict[str, list[str]] = {}
        #: variable key -> values that make a template equal one of its targets' candidates
        self.captures: dict[str, list[str]] = {}
        for statement in policy.statements:
            for template in statement._resource_templates:
                self._capture(template, [key_arn])
        for key, clauses in list(self.by_key.items()):
            for clause in clauses:
                for template in templates_of(clause.values, self.variables):
                    self._capture(template, self._plain(key))

    def _capture(self, template: Template, targets: list[str]) -> None:
        """Values of the template's variables under which it spells one of ``targets``."""
        names: list[str] = []
        pattern = ""
        for part in template.parts:
            if isinstance(part, Variable):
                names.append(part.key)
                pattern += "(.*?)"
            else:
                pattern += re.escape(part)
        regex = re.compile(pattern, re.DOTALL)
        for target in targets:
            match = regex.fullmatch(target)
            if match:
                for name, value in zip(names, match.groups(), strict=True):
                    self.captures.setdefault(name, []).append(value)

    def scalars(self, key: str) -> list[str]:
        if key not in self._scalars:
            if key in BOOLEAN_KEYS:
                values = ["true", "false"]
            else:
                base = {k: list(self._plain(k)) for k in self._linked(key)}
                values = key_values(self.by_key.get(key, []), base, self.variables)  # type: ignore[arg-type]
                values += self.captures.get(key, [])
            self._scalars[key] = list(dict.fromkeys(values))
        return self._scalars[key]

    def _plain(self, key: str) -> list[str]:
        clauses = [
            c for c in self.by_key.get(key, []) if not templates_of(c.values, self.variables)
        ]
        return key_values(clauses, {}, False) if key not in BOOLEAN_KEYS else ["true", "false"]

    def _linked(self, key: str) -> set[str]:
        keys: set[str] = set()
        for clause in self.by_key.get(key, []):
            keys |= clause_keys(clause, self.variables)
        keys.discard(key)
        return keys

    def bound(self, key: str) -> list[Choice]:
        """A caller-bound key: absent, a fresh value, or what a pattern matches, never a
        value the policy names."""
        named = {v for c in self.by_key.get(key, []) for v in c.values}
        options: list[Choice] = [ABSENT, FRESH]
        for value in named:
            if "*" in value or "?" in value:
                options += [f for f in _fills(value) if f not in named]
        return list(dict.fromkeys(options))

    def free(self, key: str) -> list[Choice]:
        scalars = self.scalars(key)
        if key not in self.multi:
            return [ABSENT, *scalars]
        size = 3 if len(scalars) > 8 else len(scalars)
        subsets: list[Choice] = [ABSENT]
        for n in range(1, size + 1):
            subsets += [tuple(c) for c in itertools.combinations(scalars, n)]
        return subsets


def _as_context(choice: Choice) -> tuple[str, ...] | None:
    if choice is None:
        return None
    return (choice,) if isinstance(choice, str) else choice


@dataclass(slots=True)
class _Clause:
    keys: frozenset[str]
    test: Callable[[Mapping[str, tuple[object, ...]]], bool]


def _clauses(statement: Statement, resource: str, variables: bool) -> list[_Clause]:
    out = [_Clause(clause_keys(c, variables), c.test) for c in statement.conditions]
    if statement._resource_templates:
        keys: set[str] = set()
        for template in statement._resource_templates:
            keys |= {part.key for part in template.parts if hasattr(part, "key")}

        def test(ctx: Mapping[str, tuple[object, ...]], s: Statement = statement) -> bool:
            return s.resource_applies(resource, ctx)

        out.append(_Clause(frozenset(keys), test))
    return out


def _options(key: str, caller: Candidate, values: _Values, pins: Mapping[str, Pin]) -> list[Choice]:
    if key in pins:  # a pinned key is single-valued (kms:ViaService, ...)
        return pins[key]([ABSENT, *values.scalars(key)])
    if key in BOUND_KEYS or (key in ORG_KEYS and caller.party in _PLATFORM):
        return values.bound(key)
    return values.free(key)


_PLATFORM = frozenset({Party.PLATFORM_ROLE, Party.PLATFORM_OTHER})


def _solve(
    allow: Statement,
    denies: list[Statement],
    base: dict[str, tuple[object, ...]],
    caller: Candidate,
    values: _Values,
    pins: Mapping[str, Pin],
    resource: str,
) -> Assignment | None:
    """Context values (lower-case keys) making ``allow`` apply and every Deny miss, or None."""
    fixed = set(base) | DERIVED_KEYS | SOURCE_KEYS | {RESOURCE_ACCOUNT}
    fixed -= set(pins)
    a_clauses = _clauses(allow, resource, values.variables)
    d_clauses = [_clauses(d, resource, values.variables) for d in denies]
    for clause in a_clauses:
        if not (clause.keys - fixed) and not clause.test(base):
            return None
    live: list[list[_Clause]] = []
    for clauses in d_clauses:
        constant = [c for c in clauses if not (c.keys - fixed)]
        if any(not c.test(base) for c in constant):
            continue  # this Deny never applies to this caller and action
        rest = [c for c in clauses if c.keys - fixed]
        if not rest:
            return None  # this Deny always applies
        live.append(rest)
    # groups of linked free keys
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    every = [c for c in a_clauses if c.keys - fixed] + [c for d in live for c in d]
    for clause in every:
        keys = sorted(clause.keys - fixed)
        find(keys[0])
        for other in keys[1:]:
            parent[find(other)] = find(keys[0])
    for key in pins:
        find(key)
    groups: dict[str, list[str]] = {}
    for key in list(parent):
        groups.setdefault(find(key), []).append(key)
    all_denies = frozenset(range(len(live)))
    per_group: list[list[tuple[frozenset[int], Assignment]]] = []
    for keys in groups.values():
        group = set(keys)
        mine_a = [c for c in a_clauses if (c.keys - fixed) and (c.keys - fixed) <= group]
        mine_d = [(i, [c for c in d if (c.keys - fixed) <= group]) for i, d in enumerate(live)]
        options: dict[frozenset[int], Assignment] = {}
        choices = [_options(k, caller, values, pins) for k in keys]
        for n, combo in enumerate(itertools.product(*choices)):
            if n >= MAX_GROUP_OPTIONS:
                break
            assignment = {k: _as_context(c) for k, c in zip(keys, combo, strict=True)}
            ctx = dict(base)
            for k, v in assignment.items():
                if v is None:
                    ctx.pop(k, None)
                else:
                    ctx[k] = v
            if not all(c.test(ctx) for c in mine_a):
                continue
            kills = frozenset(i for i, cs in mine_d if cs and not all(c.test(ctx) for c in cs))
            if kills not in options:
                options[kills] = assignment
            if kills == all_denies:
                break
        if not options:
            return None
        kept = sorted(options, key=len, reverse=True)
        maximal = [k for k in kept if not any(k < other for other in kept)]
        per_group.append([(k, options[k]) for k in maximal])
    chosen = _cover(per_group, all_denies)
    if chosen is None:
        return None
    out: Assignment = {}
    for assignment in chosen:
        out.update(assignment)
    return out


def _cover(
    per_group: list[list[tuple[frozenset[int], Assignment]]],
    need: frozenset[int],
) -> list[Assignment] | None:
    """One option per group whose kills together cover ``need`` (memoised search)."""
    failed: set[tuple[int, frozenset[int]]] = set()

    def search(i: int, covered: frozenset[int]) -> list[Assignment] | None:
        if i == len(per_group):
            return [] if need <= covered else None
        if (i, covered) in failed:
            return None
        for kills, assignment in per_group[i]:
            rest = search(i + 1, covered | kills)
            if rest is not None:
                return [assignment, *rest]
        failed.add((i, covered))
        return None

    return search(0, frozenset())


class Prepared:
    """What every forbidden class of one check run shares: candidates and target matches."""

    def __init__(self, policy: Policy, p: Parties) -> None:
        self.policy = policy
        self.p = p
        self.key_arn = str(p.key)
        self.values = _Values(policy, self.key_arn)
        self.signatures = action_signatures(policy)
        self.callers = callers(policy, p)
        statements = policy.statements
        static = [
            bool(s._resource_templates) or (s._resource_test(self.key_arn) is not s.not_resource)
            for s in statements
        ]
        self.allows = [s for s in statements if s.effect is Effect.ALLOW and static[s.index]]
        self.denies = [s for s in statements if s.effect is Effect.DENY and static[s.index]]
        #: per caller, the statements whose principal element matches it
        self.principal_hits: list[frozenset[int]] = []
        #: per caller, the context IAM fills from it (the same for every action)
        self.bases: list[tuple[dict[str, str], dict[str, tuple[object, ...]]]] = []
        targeted = (*self.allows, *self.denies)
        for caller in self.callers:
            parsed = parse_caller(caller.principal)
            hits = frozenset(s.index for s in targeted if s.principal_matches(parsed) is not None)
            self.principal_hits.append(hits)
            self.bases.append(
                _caller_base(caller.principal, caller.identity, p.customer_account, self.key_arn)
            )


@lru_cache(maxsize=4096)
def _caller_base(
    principal: str, identity: tuple[tuple[str, str], ...], customer: str, key_arn: str
) -> tuple[dict[str, str], dict[str, tuple[object, ...]]]:
    """The context a caller gives and the one IAM fills from it: the same for every policy
    of one key, so computed once (shared: never mutated, callers copy before adding)."""
    given = {RESOURCE_ACCOUNT: customer, **dict(identity)}
    return given, dict(Request(principal, "kms:X", key_arn, given).context_lower)


def find_allowed(prepared: Prepared, forbidden: Forbidden) -> list[Found]:
    """One allowed request of the class per Allow statement that allows any (see module doc)."""
    policy, key_arn, values = prepared.policy, prepared.key_arn, prepared.values
    if not prepared.allows:
        return []
    pins = dict(forbidden.pins)
    classes = action_classes(prepared.signatures, forbidden.actions)
    found: list[Found] = []
    covered: set[int] = set()
    for n, caller in enumerate(prepared.callers):
        hits = prepared.principal_hits[n]
        if caller.party not in forbidden.parties or not hits:
            continue
        given, base = prepared.bases[n]
        for action, members, signature in classes:
            targets = [
                a for a in prepared.allows
                if signature[a.index] and a.index in hits and a.index not in covered
            ]  # fmt: skip
            if not targets:
                continue
            blocking = [d for d in prepared.denies if signature[d.index] and d.index in hits]
            for allow in targets:
                if allow.index in covered:
                    continue
                solution = _solve(allow, blocking, base, caller, values, pins, key_arn)
                if solution is None:
                    continue
                context: dict[str, object] = dict(given)
                for key, pin in pins.items():
                    if key not in solution:
                        options = pin([ABSENT, *values.scalars(key)])
                        first = next((c for c in options if c is not None), None)
                        if first is not None:
                            solution[key] = _as_context(first)  # type: ignore[assignment]
                for key, value in solution.items():
                    if value is None:  # absent
                        continue
                    single = len(value) == 1 and key not in values.multi
                    context[key] = value[0] if single else list(value)
                request = Request(caller.principal, action, key_arn, context)  # type: ignore[arg-type]
                evaluation = evaluate(policy, request)
                if not evaluation.allowed:
                    continue
                covered |= {m.index for m in evaluation.statements}
                why = forbidden.why
                if caller.acting is not None and caller.party is Party.OUTSIDER:
                    why += f" (a service acting for account {caller.acting})"
                expectation = Expectation(
                    forbidden.check, False, forbidden.severity, caller.principal, action,
                    tuple((k, _flat(v)) for k, v in context.items()), why,
                )  # fmt: skip
                found.append(Found(expectation, evaluation, members))
    return found


def _flat(value: object) -> str | bool:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value  # type: ignore[return-value]
