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
    ActionPatterns,
    Candidate,
    Choice,
    Party,
    _fills,
    action_patterns,
    callers,
    clause_keys,
    is_multivalued,
    key_values,
    pooled_classes,
    templates_of,
)
from byok.contract.spec import CheckId, Expectation, Parties, Severity
from byok.policy import Effect, Evaluation, Policy, Request, Statement, evaluate
from byok.policy.conditions import ConditionClause
from byok.policy.matching import PrincipalSpec, parse_caller
from byok.policy.model import principal_decides
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
        #: (key, how its options are chosen) -> options as context values (see ``options``)
        self._options: dict[tuple[str, object], tuple[tuple[str, ...] | None, ...]] = {}
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

    def options(self, key: str, how: Pin | str) -> tuple[tuple[str, ...] | None, ...]:
        """A key's options as request-context values: pinned by the class (``how`` is the
        pin), ``"bound"`` or ``"free"``. They depend only on this policy's candidates, so
        every caller, action and Allow statement of a check run shares one list."""
        cached = self._options.get((key, how))
        if cached is None:
            if how == "bound":
                choices = self.bound(key)
            elif how == "free":
                choices = self.free(key)
            else:
                choices = how([ABSENT, *self.scalars(key)])  # type: ignore[operator]
            cached = tuple(_as_context(c) for c in choices)
            self._options[(key, how)] = cached
        return cached

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


def _options(
    key: str, caller: Candidate, values: _Values, pins: Mapping[str, Pin]
) -> tuple[tuple[str, ...] | None, ...]:
    if key in pins:  # a pinned key is single-valued (kms:ViaService, ...)
        return values.options(key, pins[key])
    if key in BOUND_KEYS or (key in ORG_KEYS and caller.party in _PLATFORM):
        return values.options(key, "bound")
    return values.options(key, "free")


_PLATFORM = frozenset({Party.PLATFORM_ROLE, Party.PLATFORM_OTHER})


#: keys a caller's request context fixes whatever the class (``fixed`` of ``_solve``)
_ALWAYS_FIXED = DERIVED_KEYS | SOURCE_KEYS | {RESOURCE_ACCOUNT}


def _solve(
    a_clauses: list[_Clause],
    d_clauses: list[list[_Clause]],
    base: dict[str, tuple[object, ...]],
    fixed: frozenset[str],
    caller: Candidate,
    values: _Values,
    pins: Mapping[str, Pin],
) -> Assignment | None:
    """Context values (lower-case keys) making the Allow statement whose clauses are
    ``a_clauses`` apply and every Deny (``d_clauses``, one list per Deny) miss, or None.
    ``fixed``: the keys the caller's context ``base`` settles (not chosen here)."""
    a_free = [(c, c.keys - fixed) for c in a_clauses]
    for clause, free in a_free:
        if not free and not clause.test(base):
            return None
    live: list[list[tuple[_Clause, frozenset[str]]]] = []
    for clauses in d_clauses:
        pairs = [(c, c.keys - fixed) for c in clauses]
        if any(not free and not c.test(base) for c, free in pairs):
            continue  # this Deny never applies to this caller and action
        rest = [(c, free) for c, free in pairs if free]
        if not rest:
            return None  # this Deny always applies
        live.append(rest)
    # groups of linked free keys
    parent: dict[str, str] = {}

    def find(k: str) -> str:
        while parent.setdefault(k, k) != k:
            k = parent[k]
        return k

    every = [pair for pair in a_free if pair[1]] + [pair for d in live for pair in d]
    if not every:
        # nothing left to choose but the pinned keys (no live Deny either): each pinned key is
        # a group of its own, and its first option satisfies it (what the search below finds)
        out: Assignment = {}
        for key in pins:
            options = _options(key, caller, values, pins)
            if not options:
                return None
            out[key] = options[0]
        return out
    for _, free in every:
        keys = sorted(free)
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
        mine_a = [c.test for c, free in a_free if free and free <= group]
        mine_d = [(i, [c.test for c, free in d if free <= group]) for i, d in enumerate(live)]
        mine_d = [(i, tests) for i, tests in mine_d if tests]
        options: dict[frozenset[int], Assignment] = {}
        choices = [_options(k, caller, values, pins) for k in keys]
        for n, combo in enumerate(itertools.product(*choices)):
            if n >= MAX_GROUP_OPTIONS:
                break
            ctx = dict(base)
            for k, v in zip(keys, combo, strict=True):
                if v is None:
                    ctx.pop(k, None)
                else:
                    ctx[k] = v
            if not all(test(ctx) for test in mine_a):
                continue
            kills = frozenset(i for i, tests in mine_d if not all(t(ctx) for t in tests))
            if kills not in options:
                options[kills] = dict(zip(keys, combo, strict=True))
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
    out = {}
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
    """What every forbidden class of one check run shares: candidates, target matches, the
    statements' clauses and, per caller, its context and the statements naming it (all
    computed once per check run instead of once per class, action and statement)."""

    def __init__(self, policy: Policy, p: Parties) -> None:
        self.policy = policy
        self.p = p
        self.key_arn = str(p.key)
        self.values = _Values(policy, self.key_arn)
        self.patterns = action_patterns(policy)
        self.callers = callers(policy, p)
        statements = policy.statements
        static = [
            bool(s._resource_templates) or (s._resource_test(self.key_arn) is not s.not_resource)
            for s in statements
        ]
        self.allows = [s for s in statements if s.effect is Effect.ALLOW and static[s.index]]
        self.denies = [s for s in statements if s.effect is Effect.DENY and static[s.index]]
        targeted = (*self.allows, *self.denies)
        #: per targeted statement index, its clauses with the keys each reads
        self.clauses = {s.index: _clauses(s, self.key_arn, self.values.variables) for s in targeted}
        #: per caller, the indexes of the Allow / Deny statements whose principal matches it
        self.allow_hits: list[frozenset[int]] = []
        self.deny_hits: list[frozenset[int]] = []
        #: per caller: the context it gives, the one IAM fills from it and the keys that
        #: context settles (before a class pins some); the same for every action
        self.bases: list[tuple[dict[str, str], dict[str, tuple[object, ...]], frozenset[str]]]
        self.bases = []
        principals = tuple(caller.principal for caller in self.callers)
        for allow_hits, deny_hits in _principal_hits(
            tuple(_principal_key(s) for s in targeted), principals
        ):
            self.allow_hits.append(allow_hits)
            self.deny_hits.append(deny_hits)
        for caller in self.callers:
            self.bases.append(
                _caller_base(caller.principal, caller.identity, p.customer_account, self.key_arn)
            )
        self._parties: dict[frozenset[Party], list[int]] = {}
        self._allow_indexes = tuple(s.index for s in self.allows)
        self._deny_indexes = tuple(s.index for s in self.denies)
        self._read: dict[tuple[int, tuple[int, ...]], tuple[str, ...]] = {}
        self._solved: dict[tuple[object, ...], Assignment | None] = {}

    def solve(
        self,
        allow: int,
        blocking: tuple[int, ...],
        n: int,
        fixed: frozenset[str],
        pins: tuple[tuple[str, Pin], ...],
    ) -> Assignment | None:
        """:func:`_solve` for the Allow statement ``allow``, the Denies ``blocking`` and caller
        ``n``, remembered for the check run (the caller must copy before changing it).

        ``_solve`` reads the caller's context only at the keys the clauses read, and the
        caller itself only for whether it is the platform's (``_options``); so callers that
        agree there (an outsider's root, user and session, say, when the policy reads only
        ``aws:PrincipalAccount``) share one answer instead of searching again."""
        statements = (allow, blocking)
        read = self._read.get(statements)
        if read is None:
            keys: set[str] = set()
            for i in (allow, *blocking):
                for clause in self.clauses[i]:
                    keys |= clause.keys
            read = self._read[statements] = tuple(sorted(keys))
        caller = self.callers[n]
        base = self.bases[n][1]
        memo = (
            statements,
            pins,
            caller.party in _PLATFORM,
            tuple(map(base.get, read)),
            tuple(map(fixed.__contains__, read)),
        )
        if memo not in self._solved:
            self._solved[memo] = _solve(
                self.clauses[allow], [self.clauses[i] for i in blocking], base, fixed, caller,
                self.values, dict(pins),
            )  # fmt: skip
        return self._solved[memo]

    def callers_of(self, parties: frozenset[Party]) -> list[int]:
        """The callers (by position, in order) of these parties some Allow statement names
        (no other caller can be allowed anything)."""
        if parties not in self._parties:
            self._parties[parties] = [
                n
                for n, caller in enumerate(self.callers)
                if caller.party in parties and self.allow_hits[n]
            ]
        return self._parties[parties]

    def classes(self, pool: tuple[str, ...]) -> tuple[_ActionClass, ...]:
        """The action classes of ``pool``, each with the Allow statements it reaches and the
        Deny statements (indexes, in order) that may block it."""
        return _indexed_classes(self.patterns, pool, self._allow_indexes, self._deny_indexes)


@dataclass(frozen=True, slots=True)
class _ActionClass:
    """Actions every statement treats alike, by their representative ``action``."""

    action: str
    members: tuple[str, ...]
    allows: frozenset[int]
    denies: tuple[int, ...]


#: what of a statement decides which callers it names: (index, Allow?, Principal (not
#: NotPrincipal)?, the element's parsed fields, without its raw JSON)
PrincipalKey = tuple[int, bool, bool, tuple[object, ...] | None]


def _principal_key(s: Statement) -> PrincipalKey:
    spec = s.principal if s.principal is not None else s.not_principal
    fields = None
    if spec is not None:
        fields = (
            spec.everyone, spec.accounts, spec.arns, spec.roles, spec.services,
            spec.any_service, spec.others,
        )  # fmt: skip
    return (s.index, s.effect is Effect.ALLOW, s.principal is not None, fields)


@lru_cache(maxsize=1024)
def _principal_hits(
    statements: tuple[PrincipalKey, ...], principals: tuple[str, ...]
) -> tuple[tuple[frozenset[int], frozenset[int]], ...]:
    """Per caller, the indexes of the Allow and of the Deny statements whose principal
    element names it: a pure function of the elements and the callers, which recur check
    after check (the same few principal elements, the same candidate callers)."""
    specs = [
        (index, allow, None if fields is None else PrincipalSpec(*fields, (), None), named)  # type: ignore[arg-type]
        for index, allow, named, fields in statements
    ]
    out = []
    for principal in principals:
        caller = parse_caller(principal)
        hit = [
            (index, allow)
            for index, allow, spec, named in specs
            if principal_decides(
                spec if named else None, None if named else spec, not allow, caller
            )
            is not None
        ]
        out.append(
            (
                frozenset(i for i, allow in hit if allow),
                frozenset(i for i, allow in hit if not allow),
            )
        )
    return tuple(out)


@lru_cache(maxsize=1024)
def _indexed_classes(
    patterns: ActionPatterns,
    pool: tuple[str, ...],
    allows: tuple[int, ...],
    denies: tuple[int, ...],
) -> tuple[_ActionClass, ...]:
    """:meth:`Prepared.classes`: a pure function of the action patterns and which statements
    are targeted Allows and Denies, so built once per distinct policy shape."""
    return tuple(
        _ActionClass(
            action,
            members,
            frozenset(i for i in allows if signature[i]),
            tuple(i for i in denies if signature[i]),
        )
        for action, members, signature in pooled_classes(patterns, pool)
    )


@lru_cache(maxsize=4096)
def _caller_base(
    principal: str, identity: tuple[tuple[str, str], ...], customer: str, key_arn: str
) -> tuple[dict[str, str], dict[str, tuple[object, ...]], frozenset[str]]:
    """The context a caller gives, the one IAM fills from it and the keys that one settles:
    the same for every policy of one key, so computed once (shared: never mutated, callers
    copy before adding)."""
    given = {RESOURCE_ACCOUNT: customer, **dict(identity)}
    base = dict(Request(principal, "kms:X", key_arn, given).context_lower)
    return given, base, frozenset(base) | _ALWAYS_FIXED


def find_allowed(prepared: Prepared, forbidden: Forbidden) -> list[Found]:
    """One allowed request of the class per Allow statement that allows any (see module doc)."""
    policy, key_arn, values = prepared.policy, prepared.key_arn, prepared.values
    if not prepared.allows:
        return []
    pins = dict(forbidden.pins)
    pinned = frozenset(pins)
    classes = prepared.classes(forbidden.actions)
    found: list[Found] = []
    covered: set[int] = set()
    for n in prepared.callers_of(forbidden.parties):
        caller = prepared.callers[n]
        given, _, fixed_by_caller = prepared.bases[n]
        fixed = fixed_by_caller - pinned
        allow_hits, deny_hits = prepared.allow_hits[n], prepared.deny_hits[n]
        for cls in classes:
            reached = (cls.allows & allow_hits).difference(covered)
            if not reached:
                continue
            blocking = tuple(i for i in cls.denies if i in deny_hits)
            for target in sorted(reached):  # statement order, as the policy lists them
                if target in covered:
                    continue
                found_solution = prepared.solve(target, blocking, n, fixed, forbidden.pins)
                if found_solution is None:
                    continue
                solution = dict(found_solution)  # filled in below: the memo stays as solved
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
                action = cls.action
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
                found.append(Found(expectation, evaluation, cls.members))
    return found


def _flat(value: object) -> str | bool:
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return value  # type: ignore[return-value]
