"""The policy model: parsed statements (with their compiled matchers), requests and answers.

Statements keep the original JSON (``raw``) for explanations and fixes, the parsed elements for
inspection, and private pre-compiled tests so that evaluating a request allocates almost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from byok.errors import InputError
from byok.policy.conditions import ConditionClause, Context
from byok.policy.matching import Caller, Matcher, PrincipalSpec, arn_matcher, parse_caller
from byok.policy.variables import Template, Unresolved


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class Decision(StrEnum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    """One statement. ``actions``/``resources`` hold the element that is present (``Action`` or
    ``NotAction``...; see ``not_action`` / ``not_resource``); ``principal`` likewise."""

    index: int
    sid: str | None
    effect: Effect
    principal: PrincipalSpec | None
    not_principal: PrincipalSpec | None
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    conditions: tuple[ConditionClause, ...]
    raw: Mapping[str, Any]
    # compiled
    _action_test: Matcher = field(repr=False)
    _resource_test: Matcher = field(repr=False)
    _resource_templates: tuple[Template, ...] = field(repr=False)
    _resource_star: bool = field(repr=False)

    @property
    def label(self) -> str:
        """How people find the statement: its Sid, else its position."""
        return self.sid if self.sid else f"Statement[{self.index}]"

    def applies(self, request: Request) -> bool | None:
        """``None`` if the statement does not apply to ``request``; else whether it is delegated.

        Order is cheapest-and-most-selective first: action, resource, principal, conditions.
        """
        if self._action_test(request.action_lower) is self.not_action:
            return None
        resource = request.resource
        # resource None = "this key": only a pattern made of '*' is sure to match it (Request)
        hit = self._resource_star if resource is None else self._resource_test(resource)
        context = request.context_lower
        if self._resource_templates and resource is not None:
            hit = self._templated_resource(resource, context) or hit
        if hit is self.not_resource:
            return None
        delegated = False
        if self.principal is not None:
            matched, delegated = self.principal.match(request.caller)
            if not matched:
                return None
        elif self.not_principal is not None and not self.not_principal.not_match(
            request.caller, deny=self.effect is Effect.DENY
        ):
            return None
        for clause in self.conditions:
            if not clause.test(context):
                return None
        return delegated

    def principal_matches(self, caller: Caller) -> bool | None:
        """The ``Principal`` / ``NotPrincipal`` part of :meth:`applies`: ``None`` if it rules
        the caller out, else whether the match is delegated to the caller's account."""
        return principal_decides(
            self.principal, self.not_principal, self.effect is Effect.DENY, caller
        )

    def resource_applies(self, resource: str, context: Context) -> bool:
        """Whether ``Resource`` / ``NotResource`` lets the statement apply to ``resource``
        (for a statement without policy variables there, ``context`` is not read)."""
        hit = self._resource_test(resource)
        if self._resource_templates:
            hit = self._templated_resource(resource, context) or hit
        return hit is not self.not_resource

    def _templated_resource(self, resource: str, context: Context) -> bool:
        """A ``Resource`` / ``NotResource`` entry whose variable has no value in the request
        matches no resource (IAM User Guide, "Policy variables with no value")."""
        for template in self._resource_templates:
            try:
                pattern = template.resolve(context, wildcards=True)
            except Unresolved:
                continue
            if arn_matcher(pattern, True)(resource):
                return True
        return False


def principal_decides(
    principal: PrincipalSpec | None, not_principal: PrincipalSpec | None, deny: bool, caller: Caller
) -> bool | None:
    """:meth:`Statement.principal_matches` from the statement's principal elements alone (so
    a caller of many statements can decide it from what the elements hold)."""
    if principal is not None:
        matched, delegated = principal.match(caller)
        return delegated if matched else None
    if not_principal is not None and not not_principal.not_match(caller, deny=deny):
        return None
    return False


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    version: str | None
    id: str | None
    statements: tuple[Statement, ...]
    raw: Mapping[str, Any]
    #: UTF-8 size of the policy text (compact JSON for a mapping), checked against 32 KB
    size: int


ContextValue = str | bool | int | float | bytes | Sequence[str | bool | int | float | bytes]


@dataclass(frozen=True, slots=True)
class Request:
    """A request to decide by the key policy alone.

    ``principal``: an IAM/STS ARN (role, user, assumed-role session, account root), a bare
    account id, or a service principal such as ``s3.amazonaws.com``.
    ``resource``: the resource ARN; ``None`` means "this key" (key policies say
    ``"Resource": "*"``), which matches only ``Resource`` patterns made of ``*``. Pass the key
    ARN to have patterns such as ``arn:aws:kms:*:111122223333:key/*`` evaluated exactly.
    ``context``: condition keys (any case) to a value or a list of values (a multi-valued key).
    ``aws:PrincipalAccount``, ``aws:PrincipalArn``, ``kms:CallerAccount``,
    ``aws:PrincipalType``, ``aws:username``, ``aws:PrincipalServiceName`` and
    ``aws:PrincipalIsAWSService`` are derived from the principal unless given.
    """

    principal: str
    action: str
    resource: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    caller: Caller = field(init=False, repr=False, compare=False)
    action_lower: str = field(init=False, repr=False, compare=False)
    context_lower: Context = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.principal, str) or not self.principal:
            raise InputError(
                f"principal: expected an ARN, account id or service, got {self.principal!r}"
            )
        if not isinstance(self.action, str) or not self.action:
            raise InputError(
                f"action: expected an action name such as 'kms:Decrypt', got {self.action!r}"
            )
        if self.resource is not None and not isinstance(self.resource, str):
            raise InputError(f"resource: expected an ARN or None, got {self.resource!r}")
        caller = parse_caller(self.principal)
        object.__setattr__(self, "caller", caller)
        object.__setattr__(self, "action_lower", self.action.lower())
        object.__setattr__(self, "context_lower", _context(self.context, caller))


_SCALARS = (str, bool, int, float, bytes)


def _context(context: Mapping[str, ContextValue], caller: Caller) -> dict[str, tuple[object, ...]]:
    if type(context) is not dict and not isinstance(context, Mapping):
        raise InputError(
            f"context: expected a mapping of condition keys, got {type(context).__name__}"
        )
    out: dict[str, tuple[object, ...]] = {}
    for key, value in context.items():
        if not isinstance(key, str) or not key:
            raise InputError(f"context: expected condition key names, got {key!r}")
        if isinstance(value, _SCALARS):
            values: tuple[object, ...] = (value,)
        elif isinstance(value, Sequence | set | frozenset):
            values = tuple(value)
            for item in values:
                if not isinstance(item, _SCALARS):
                    raise InputError(f"context[{key!r}]: expected scalar values, got {item!r}")
        else:
            raise InputError(
                f"context[{key!r}]: expected a string, number, boolean or a list of them, "
                f"got {type(value).__name__}"
            )
        if values:  # an empty list is no value at all: the key is absent
            out[key.lower()] = values
    for key, derived in _derived(caller):
        if derived is not None and key not in out:
            out[key] = (derived,)
    return out


def _derived(caller: Caller) -> tuple[tuple[str, str | None], ...]:
    """Global keys IAM fills from the caller (used unless the request context gives them)."""
    if caller.kind == "service":
        return (
            ("aws:principalservicename", caller.raw),
            ("aws:principalisawsservice", "true"),
        )
    if caller.kind == "account":
        principal_arn: str | None = caller.identities[0]
    elif caller.kind == "assumed-role":
        principal_arn = caller.role_arn
    elif caller.raw.startswith("arn:"):
        principal_arn = caller.raw
    else:
        principal_arn = None
    return (
        ("aws:principalaccount", caller.account),
        ("kms:calleraccount", caller.account),
        ("aws:principalarn", principal_arn),
        ("aws:principaltype", caller.principal_type),
        ("aws:username", caller.username),
        ("aws:principalisawsservice", "false" if caller.account else None),
    )


@dataclass(frozen=True, slots=True)
class StatementMatch:
    """A statement that decided the answer. ``delegated``: it matched through an account
    principal (``arn:aws:iam::ID:root`` or ``ID``), so that account's IAM policies must also
    allow the request."""

    index: int
    sid: str | None
    effect: Effect
    delegated: bool

    @property
    def label(self) -> str:
        return self.sid if self.sid else f"Statement[{self.index}]"

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "sid": self.sid,
            "label": self.label,
            "effect": str(self.effect),
            "delegated": self.delegated,
        }


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The decision and the statements that made it (all matching Denies for an explicit deny,
    all matching Allows for an allow, none for an implicit deny)."""

    decision: Decision
    statements: tuple[StatementMatch, ...]

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW

    @property
    def delegated(self) -> bool:
        """Allowed only through account principals: the caller's IAM policies must also allow."""
        return self.allowed and all(match.delegated for match in self.statements)

    def to_dict(self) -> dict[str, object]:
        return {
            "decision": str(self.decision),
            "statements": [match.to_dict() for match in self.statements],
        }
