"""Both halves of a KMS request: the key policy AND the caller's identity policies.

Why: a key policy that allows the platform account is only half of the cross-account handshake;
AWS also needs an identity-based policy of the calling role that allows the key (IAM User Guide,
"Cross-account policy evaluation logic"; KMS Developer Guide, "Allowing users in other accounts
to use a KMS key"). Evaluating only the key policy would call a platform whose own role lacks
``kms:Decrypt`` healthy, or blame the customer for the platform's gap. The rules, as AWS applies
them to a KMS key:

- an explicit ``Deny`` in the key policy, in any identity policy or in the permissions boundary
  wins;
- the identity side allows when some identity policy allows and the boundary (if any) allows too;
- **cross-account** (caller's account != key's account): the key policy must allow and the
  identity side must allow;
- **same account**: a key-policy statement naming the principal itself suffices; a statement
  that only names the account (``arn:aws:iam::ID:root``: a delegation) needs the identity side.

Pure: the policy texts are read elsewhere (``byok.aws.iam_policies``); identity policies have no
``Principal``, so each statement is given the caller's ARN before the key-policy parser sees it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from byok.errors import PolicyError
from byok.policy.evaluator import evaluate
from byok.policy.model import Decision, Evaluation, Policy, Request
from byok.policy.parser import parse_policy

__all__ = [
    "HandshakeDecision",
    "IdentityPolicies",
    "Side",
    "decide",
    "identity_decision",
    "parse_identity_policy",
]


class Side(StrEnum):
    """Whose policy a denial comes from (and so who must act)."""

    KEY_POLICY = "key_policy"  # the customer's key policy
    IDENTITY = "identity"  # the platform role's identity policies or boundary


def parse_identity_policy(text: str | dict[str, Any], principal: str, where: str) -> Policy:
    """An identity-based policy as a policy of ``principal`` (``PolicyError`` names ``where``)."""
    try:
        document = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        raise PolicyError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{where}: expected a JSON object")
    statements = document.get("Statement")
    items = statements if isinstance(statements, list) else [statements]
    rewritten = []
    for i, statement in enumerate(items):
        if not isinstance(statement, dict):
            raise PolicyError(f"{where}: Statement[{i}]: expected an object")
        if "Principal" in statement or "NotPrincipal" in statement:
            raise PolicyError(
                f"{where}: Statement[{i}]: an identity-based policy has no Principal "
                "(is this a key policy?)"
            )
        rewritten.append({**statement, "Principal": {"AWS": principal}})
    try:
        return parse_policy(json.dumps({**document, "Statement": rewritten}))
    except PolicyError as exc:
        raise PolicyError(f"{where}: {exc.message}") from None


@dataclass(frozen=True, slots=True)
class IdentityPolicies:
    """What IAM holds for one principal: its identity policies and its permissions boundary."""

    policies: tuple[Policy, ...]
    boundary: Policy | None = None
    #: where each policy came from (inline name, managed policy ARN), for reports
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandshakeDecision:
    """The combined answer and, when denied, which sides refused."""

    decision: Decision
    key_policy: Evaluation | None
    identity: Decision
    #: sides that did not allow (explicit deny first); empty when allowed
    denied_by: tuple[Side, ...]

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


def identity_decision(identity: IdentityPolicies, request: Request) -> Decision:
    """The identity side alone: a Deny anywhere wins, else an allow (within the boundary)."""
    results = [evaluate(policy, request).decision for policy in identity.policies]
    boundary = evaluate(identity.boundary, request).decision if identity.boundary else None
    if Decision.EXPLICIT_DENY in results or boundary is Decision.EXPLICIT_DENY:
        return Decision.EXPLICIT_DENY
    if Decision.ALLOW in results and boundary in (None, Decision.ALLOW):
        return Decision.ALLOW
    return Decision.IMPLICIT_DENY


def _account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def decide(
    request: Request,
    key_policy: Policy | None,
    identity: IdentityPolicies,
    *,
    key_account: str | None = None,
) -> HandshakeDecision:
    """Decide ``request`` on a KMS key by both halves (module docstring).

    ``key_policy`` None: the key policy is not known (the platform cannot read it across
    accounts); only the identity side is decided, and a request it allows is reported ALLOW
    with ``key_policy`` None (the key policy's half is the key-policy check's job).
    """
    owner = key_account or (_account(request.resource or "") or "")
    same_account = owner != "" and owner == _account(request.principal)
    side = identity_decision(identity, request)
    key = evaluate(key_policy, request) if key_policy is not None else None

    denied: list[Side] = []
    if key is not None and key.decision is Decision.EXPLICIT_DENY:
        denied.append(Side.KEY_POLICY)
    if side is Decision.EXPLICIT_DENY:
        denied.append(Side.IDENTITY)
    if denied:
        return HandshakeDecision(Decision.EXPLICIT_DENY, key, side, tuple(denied))

    identity_allows = side is Decision.ALLOW
    if key is None:
        allowed = identity_allows
        denied = [] if allowed else [Side.IDENTITY]
    elif same_account and key.allowed and not key.delegated:
        allowed, denied = True, []  # the key policy names the principal itself
    else:
        if not key.allowed:
            denied.append(Side.KEY_POLICY)
        if not identity_allows:
            denied.append(Side.IDENTITY)
        allowed = not denied
    decision = Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
    return HandshakeDecision(decision, key, side, tuple(denied))


def identity_from_texts(
    texts: Sequence[tuple[str, str]], principal: str, boundary: str | None = None
) -> IdentityPolicies:
    """``IdentityPolicies`` from (name, JSON text) pairs and an optional boundary text."""
    policies = tuple(parse_identity_policy(text, principal, name) for name, text in texts)
    bound = parse_identity_policy(boundary, principal, "permissions boundary") if boundary else None
    return IdentityPolicies(policies, bound, tuple(name for name, _ in texts))
