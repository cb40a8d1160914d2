"""Decide a request by the key policy alone, per the IAM policy evaluation logic.

IAM docs ("Policy evaluation logic"): an explicit deny in any applicable policy overrides any
allow; without a deny, an allow is needed; with neither, the request is implicitly denied. For a
KMS key, the key policy is the only resource policy and it must allow: IAM policies work only
where the key policy delegates to the account (principal ``arn:aws:iam::ID:root`` / ``ID``),
which :class:`StatementMatch` reports as ``delegated``.
"""

from __future__ import annotations

from byok.policy.model import Decision, Effect, Evaluation, Policy, Request, StatementMatch

_IMPLICIT_DENY = Evaluation(Decision.IMPLICIT_DENY, ())


def evaluate(policy: Policy, request: Request) -> Evaluation:
    """Explicit deny wins, then allow, else implicit deny; names every deciding statement."""
    allows: list[StatementMatch] = []
    denies: list[StatementMatch] | None = None
    deny = Effect.DENY
    for statement in policy.statements:
        delegated = statement.applies(request)
        if delegated is None:
            continue
        match = StatementMatch(statement.index, statement.sid, statement.effect, delegated)
        if statement.effect is deny:
            if denies is None:
                denies = []
            denies.append(match)
        elif denies is None:
            allows.append(match)
    if denies:
        return Evaluation(Decision.EXPLICIT_DENY, tuple(denies))
    if allows:
        return Evaluation(Decision.ALLOW, tuple(allows))
    return _IMPLICIT_DENY
