"""Exact fixes for a failed or warned contract check.

A fix is a list of operations on the key policy's ``Statement`` list, each carrying the JSON to
paste or delete:

- ``{"op": "add", "statement": {...}}``
- ``{"op": "replace", "index": i, "sid": ..., "statement": <current>, "with": <new>}``
- ``{"op": "remove", "index": i, "sid": ..., "statement": <current>, "note": ...}``

Indexes refer to the policy as checked. Fixes are computed, then *verified* by re-evaluating the
contract's required requests on the fixed policy, so a fix that removes an over-broad statement
also adds back the contract statement the platform still needs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from byok.contract.render import POLICY_VERSION, statements_for
from byok.contract.spec import CheckId, Expectation, Parties
from byok.policy import Decision, Effect, Evaluation, Policy, Request, evaluate, parse_policy

Violation = tuple[Expectation, Evaluation]


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, strings, numbers, booleans, null).

    Every statement a fix carries is copied, so the report never shares the caller's policy;
    ``copy.deepcopy`` took about 5% of a full check's time for it (its memo and per-type
    dispatch). Any other type (a tuple, another mapping type) still goes through
    ``copy.deepcopy``, so the copy is the same; only shared sub-objects are copied apart."""
    kind = type(value)
    if kind is dict:
        return {k: _copy(v) for k, v in value.items()}
    if kind is list:
        return [_copy(v) for v in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def _is_mapping(value: object) -> bool:
    """``isinstance(value, Mapping)`` without the ABC check for the usual ``dict``."""
    return type(value) is dict or isinstance(value, Mapping)


@lru_cache(maxsize=256)
def _rendered(p: Parties, health_checks: bool) -> Mapping[str, Mapping[str, Any]]:
    """The rendered platform statements by Sid: a pure function of the parties, so rendered
    once per parties, not once per check and fix. Shared and read-only here: a statement is
    copied (``_copy``) before it goes into an operation."""
    return MappingProxyType({s["Sid"]: s for s in statements_for(p, health_checks=health_checks)})


def policy_document(policy: Policy) -> dict[str, Any]:
    """The checked policy as a document (statements shared, not copied)."""
    return {"Version": POLICY_VERSION, "Statement": [s.raw for s in policy.statements]}


def _applied(
    document: Mapping[str, Any], ops: Iterable[Mapping[str, Any]]
) -> tuple[list[Any], list[int | Mapping[str, Any]]]:
    """The statements after ``ops`` and where each comes from: its index in ``document`` or the
    ``add`` operation that supplied it."""
    raw = document.get("Statement", [])
    statements = [raw] if isinstance(raw, Mapping) else list(raw)
    removed: set[int] = set()
    replaced: dict[int, Any] = {}
    added: list[Mapping[str, Any]] = []
    for op in ops:
        if op["op"] == "remove":
            removed.add(op["index"])
        elif op["op"] == "replace":
            replaced[op["index"]] = op["with"]
        else:
            added.append(op)
    kept = [i for i in range(len(statements)) if i not in removed]
    out = [_copy(replaced.get(i, statements[i])) for i in kept]
    origins: list[int | Mapping[str, Any]] = list(kept)
    sids = {s.get("Sid") for s in out if isinstance(s, Mapping)}
    for op in added:
        s = op["statement"]
        if s.get("Sid") not in sids:
            out.append(_copy(s))
            origins.append(op)
            sids.add(s.get("Sid"))
    return out, origins


def apply_fix(document: Mapping[str, Any], ops: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Apply fix operations (from one or several checks) to a policy document.

    A ``remove`` wins over a ``replace`` of the same statement; an ``add`` is skipped when a
    statement with the same Sid is already there after the other operations."""
    fixed = {k: _copy(v) for k, v in document.items() if k != "Statement"}
    fixed.setdefault("Version", POLICY_VERSION)
    fixed["Statement"] = _applied(document, ops)[0]
    return fixed


def merge_fixes(ops: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One fix for the whole policy from the checks' fixes: each operation once, a ``remove``
    supersedes a ``replace`` of the same statement, adds de-duplicated by Sid."""
    ops = list(ops)
    removed = {op["index"] for op in ops if op["op"] == "remove"}
    out: list[dict[str, Any]] = []
    seen: set[tuple[object, ...]] = set()
    for op in ops:
        if op["op"] == "replace" and op["index"] in removed:
            continue
        if op["op"] == "add":
            key: tuple[object, ...] = ("add", op["statement"].get("Sid"))
        else:
            key = (op["op"], op["index"])
        if key not in seen:
            seen.add(key)
            out.append(dict(op))
    return out


def _indexes(violations: Sequence[Violation], effect: str) -> list[int]:
    seen: dict[int, None] = {}
    for _, ev in violations:
        for m in ev.statements:
            if str(m.effect).lower() == effect:
                seen.setdefault(m.index, None)
    return list(seen)


def _account_of(principal: str) -> str | None:
    if principal.isdigit():
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) > 5 and parts[0] == "arn" else None


def _narrowed_principal(raw: Mapping[str, Any], p: Parties) -> Any | None:
    """The statement's principal with only the customer account's own AWS entries, if any
    (e.g. ``{"AWS": [customer root, platform role]}`` -> customer root); else None."""
    principal = raw.get("Principal")
    if not _is_mapping(principal) or "NotPrincipal" in raw:
        return None
    kept: dict[str, Any] = {}
    for kind, value in principal.items():
        values = [value] if isinstance(value, str) else list(value)
        if kind != "AWS":
            continue  # services, federated and canonical users are not the customer's own
        mine = [v for v in values if v != "*" and _account_of(v) == p.customer_account]
        if mine:
            kept["AWS"] = mine[0] if len(mine) == 1 else mine
    if not kept or kept == dict(principal):
        return None
    return kept


def _source_pinned(raw: Mapping[str, Any], p: Parties) -> dict[str, Any] | None:
    """A statement for service principals only, with ``aws:SourceAccount`` pinned to the
    customer account (the confused-deputy guard), or None for other statements."""
    principal = raw.get("Principal")
    if not _is_mapping(principal) or set(principal) != {"Service"}:
        return None
    new = _copy(dict(raw))
    condition = new.setdefault("Condition", {})
    condition.setdefault("StringEquals", {})["aws:SourceAccount"] = p.customer_account
    return new


def _op(kind: str, index: int, raw: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"op": kind, "index": index}
    if raw.get("Sid"):
        op["sid"] = raw["Sid"]
    op["statement"] = _copy(dict(raw))
    op.update(extra)
    return op


@dataclass
class FixContext:
    """What fixes need from one ``check_policy`` call, computed once and shared by the checks.

    ``allowed_by[i]``: the indexes of the statements allowing required request ``i`` in the
    checked policy (None when it is not allowed). Fix operations only remove statements or
    replace them with Allow statements, so a required request stays allowed while one of its
    allowing statements is untouched: no re-parse needed on that (common) path."""

    policy: Policy
    parties: Parties
    required: Sequence[tuple[Expectation, Request]]
    allowed_by: Sequence[frozenset[int] | None]
    _memo: dict[str, list[Expectation]] = field(default_factory=dict)

    def missing_after(self, ops: Sequence[Mapping[str, Any]]) -> list[Expectation]:
        """Required requests the policy would no longer allow once ``ops`` are applied."""
        touched = {op["index"] for op in ops if "index" in op}
        if all(by is not None for by in self.allowed_by):
            return [
                e
                for (e, _), by in zip(self.required, self.allowed_by, strict=True)
                if by <= touched
            ]  # type: ignore[operator]
        key = json.dumps(list(ops), sort_keys=True, default=str)
        if key not in self._memo:
            fixed = parse_policy(apply_fix(policy_document(self.policy), ops))
            self._memo[key] = [
                e for e, req in self.required if evaluate(fixed, req).decision is not Decision.ALLOW
            ]
        return self._memo[key]


def _add_back(ops: list[dict[str, Any]], ctx: FixContext) -> None:
    """Add (or replace by Sid) the rendered statements for required requests the fixed policy
    would no longer allow."""
    rendered = _rendered(ctx.parties, False)
    wanted: dict[str, None] = {}
    for e in ctx.missing_after(ops):
        if e.sid:
            wanted.setdefault(e.sid, None)
    taken = {op["index"] for op in ops if "index" in op}
    supplied = {op["with"].get("Sid") for op in ops if op["op"] == "replace"}
    statements = ctx.policy.statements
    for sid in wanted:
        if sid in supplied:
            continue
        existing = [i for i, s in enumerate(statements) if s.sid == sid and i not in taken]
        if existing:
            i = existing[0]
            ops.append(_op("replace", i, statements[i].raw, **{"with": _copy(rendered[sid])}))
        else:
            ops.append({"op": "add", "statement": _copy(rendered[sid])})


def fix_for(
    check: CheckId, violations: Sequence[Violation], ctx: FixContext
) -> list[dict[str, Any]]:
    """The operations that make ``check`` pass while keeping the required access."""
    ops: list[dict[str, Any]] = []
    statements = ctx.policy.statements
    p = ctx.parties
    if check is CheckId.REQUIRED_ACCESS:
        for i in _indexes(violations, "deny"):
            ops.append(
                _op(
                    "remove", i, statements[i].raw,
                    note="this Deny blocks a request the platform needs; remove it, or narrow "
                    "it so it no longer matches the platform role through the service",
                )
            )  # fmt: skip
        _add_back(ops, ctx)
        return ops
    rendered = _rendered(p, True)
    for i in _indexes(violations, "allow"):
        raw = statements[i].raw
        sid = dict(raw).get("Sid")
        if sid in rendered and dict(raw) != rendered[sid]:
            ops.append(_op("replace", i, raw, **{"with": _copy(rendered[sid])}))
            continue
        pinned = _source_pinned(raw, p)
        if pinned is not None:
            ops.append(_op("replace", i, raw, **{"with": pinned}))
            continue
        narrowed = _narrowed_principal(raw, p)
        if narrowed is not None:
            new = _copy(dict(raw))
            new["Principal"] = narrowed
            ops.append(_op("replace", i, raw, **{"with": new}))
        else:
            ops.append(
                _op(
                    "remove", i, raw,
                    note="it allows requests the BYOK contract forbids",
                )
            )  # fmt: skip
    _add_back(ops, ctx)
    return ops


#: fix operations per check, for the checks that do not pass
Plan = dict[CheckId, list[dict[str, Any]]]


def settle(
    policy: Policy,
    plan: Plan,
    replan: Callable[[dict[str, Any]], Plan],
    rounds: int,
) -> None:
    """Extend ``plan`` (in place) until applying its merged fix once yields a policy that
    passes: the fixed point.

    The checks' fixes are planned on the policy as given, but the policy they produce can
    fail a check the given one passed: a Deny removed for required-access may have hidden an
    Allow that opens the key (``Allow *`` + ``Deny *``). ``replan`` checks the fixed policy and
    returns its plan; those operations are carried back to the given policy's indexes (a
    replace of a replaced statement replaces it once, with the newer statement) and join the
    check that asks for them, or, when that check passed on the given policy, the check whose
    fix exposed the statement (required-access: only removing a Deny can expose an Allow).

    Only an operation on a Deny (removing it, or replacing it by a rendered statement) can
    expose anything: the others remove Allows, narrow them (a principal kept to the customer's
    own, ``aws:SourceAccount`` pinned) or put rendered statements in, none of which allows a
    request the contract forbids. So a plan that leaves the Denies alone is final as planned
    and costs no second check (the fuzz test checks the claim: one round always passes)."""
    deny = Effect.DENY
    denies = {s.index for s in policy.statements if s.effect is deny}
    if not any(op.get("index") in denies for check_ops in plan.values() for op in check_ops):
        return
    document = policy_document(policy)
    originals = document["Statement"]
    for _ in range(rounds):
        ops = merge_fixes(op for check_ops in plan.values() for op in check_ops)
        statements, origins = _applied(document, ops)
        again = replan({"Version": POLICY_VERSION, "Statement": statements})
        if not again:
            return
        for check, more in again.items():
            target = (
                plan.get(check) or plan.get(CheckId.REQUIRED_ACCESS) or next(iter(plan.values()))
            )
            for op in more:
                _carry(op, origins, originals, plan, target)


def _carry(
    op: Mapping[str, Any],
    origins: Sequence[int | Mapping[str, Any]],
    originals: Sequence[Any],
    plan: Plan,
    target: list[dict[str, Any]],
) -> None:
    """Rewrite one operation on the fixed policy as an operation on the given one."""
    if op["op"] == "add":
        sid = op["statement"].get("Sid")
        if not any(o["op"] == "add" and o["statement"].get("Sid") == sid for o in target):
            target.append(_copy(dict(op)))
        return
    origin = origins[op["index"]]
    every = [o for check_ops in plan.values() for o in check_ops]
    if isinstance(origin, int):
        if op["op"] == "remove":
            if any(o["op"] == "remove" and o["index"] == origin for o in target):
                return  # several checks of the fixed policy ask for it: once is enough
            note = f"{op.get('note', '')} (exposed once the other operations are applied)"
            target.append(_op("remove", origin, originals[origin], note=note.strip()))
            return
        existing = [o for o in every if o["op"] == "replace" and o["index"] == origin]
        for o in existing:
            o["with"] = _copy(op["with"])
        if not existing:
            target.append(_op("replace", origin, originals[origin], **{"with": op["with"]}))
        return
    # a statement one of our own add operations supplies
    sid = origin["statement"].get("Sid")
    for check_ops in plan.values():
        for o in list(check_ops):
            if o["op"] == "add" and o["statement"].get("Sid") == sid:
                if op["op"] == "remove":
                    check_ops.remove(o)
                else:
                    o["statement"] = _copy(op["with"])
