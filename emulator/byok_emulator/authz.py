"""Decide a KMS request by the key policy, with byok-guard's own evaluator (``byok.policy``).

AWS authorises a KMS request before it looks at the key state (a caller without permission
gets ``AccessDeniedException`` even for a disabled key), so callers of ``authorize`` must call
it before ``kms_states.require_usable``.

Fail closed: a policy that ``parse_policy`` rejects denies every request, unlike moto's own
authoriser which allows when it cannot parse the policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from moto.kms.models import Key

from .config import KeyPolicyMode, settings
from .principals import Caller


@dataclass(frozen=True)
class Denial:
    """Why a request was refused; ``message`` follows AWS's AccessDenied wording."""

    action: str
    message: str
    explicit: bool


def _context(
    caller: Caller, via_service: str | None, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "aws:PrincipalAccount": caller.account,
        "aws:PrincipalArn": caller.principal_arn,
        "kms:CallerAccount": caller.account,
    }
    if via_service:
        context["kms:ViaService"] = via_service
    if extra:
        context.update(extra)
    return context


def authorize(
    key: Key,
    caller: Caller,
    action: str,
    *,
    via_service: str | None = None,
    extra_context: Mapping[str, Any] | None = None,
) -> Denial | None:
    """Return ``None`` when the key policy lets ``caller`` do ``action`` on ``key``.

    ``action`` is the IAM action name (``kms:GenerateDataKey``). Which callers are checked at all
    depends on ``settings.key_policies`` (see ``KeyPolicyMode``).
    """
    mode = settings.key_policies
    if mode is KeyPolicyMode.OFF:
        return None
    from byok.errors import PolicyError
    from byok.policy import Decision, Request, evaluate, parse_policy

    cross_account = caller.account != key.account_id
    try:
        policy = parse_policy(key.policy)
    except PolicyError:
        # Fail closed: AWS never stores an invalid policy, so an unparsable one denies.
        return _denial(key, caller, action, explicit=False)
    request = Request(
        principal=caller.principal_arn,
        action=action,
        resource=key.arn,
        context=_context(caller, via_service, extra_context),
    )
    decision = evaluate(policy, request).decision
    if decision == Decision.ALLOW:
        return None
    if decision == Decision.EXPLICIT_DENY:
        return _denial(key, caller, action, explicit=True)
    if cross_account or mode is KeyPolicyMode.ALL:
        return _denial(key, caller, action, explicit=False)
    return None


def _denial(key: Key, caller: Caller, action: str, *, explicit: bool) -> Denial:
    """AWS's wording (IAM "access denied error messages" documentation, resource-based policy)."""
    reason = (
        "with an explicit deny in a resource-based policy"
        if explicit
        else f"because no resource-based policy allows the {action} action"
    )
    message = (
        f"User: {caller.session_arn} is not authorized to perform: {action} "
        f"on resource: {key.arn} {reason}"
    )
    return Denial(action=action, message=message, explicit=explicit)
