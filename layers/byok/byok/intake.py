"""The key_events flow: one KMS / RDS / platform event in, the environments it concerns
re-validated.

Why a module of its own (and not the handler): the decisions of the flow (ignore what cannot
matter, look the environments up ONCE, validate them at most once per event id, tell a duplicate
delivery from a first one) are domain rules that tests exercise without Lambda; the handler only
parses the envelope, calls ``intake_event`` and ``revalidate``, and maps their typed results to
metrics and its JSON answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from byok.events import is_ignorable, normalise, trigger_from_dict
from byok.models import Environment, Trigger

if TYPE_CHECKING:
    from byok.service import Deps

__all__ = ["Ignored", "KeyEventResult", "intake_event", "revalidate", "validate_request"]

#: the outcome fields an operator reads after a test invoke (the full flag is in DynamoDB)
_SUMMARY_FIELDS = (
    "environment_id",
    "status",
    "previous_status",
    "changed",
    "stale",
    "reasons",
    "operator_reasons",
)

#: ``request`` -> stored result: ``validate_request`` behind Powertools idempotency (event id)
ValidateOnce = Callable[..., dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Ignored:
    """An event that cannot change key health (a failed call, a Describe*...): why."""

    event_id: str | None
    reason: str
    metric: str = "IgnoredEvents"

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ignored", "event_id": self.event_id, "reason": self.reason}


def intake_event(event: Mapping[str, Any]) -> Ignored | Trigger:
    """The trigger of an event that matters, or why it does not (``EventError`` if malformed)."""
    reason = is_ignorable(event)
    if reason:
        return Ignored(event.get("id"), reason)
    return normalise(event)


@dataclass(frozen=True, slots=True)
class KeyEventResult:
    """What handling one trigger came to: no environment uses the key, or the validations."""

    trigger: Trigger
    status: str  # "unknown_key" | "validated"
    duplicate: bool = False
    result: Mapping[str, Any] = field(default_factory=dict)

    @property
    def metric(self) -> str:
        if self.status == "unknown_key":
            return "UnknownKeyEvents"
        return "DuplicateEvents" if self.duplicate else "ValidatedEvents"

    def to_dict(self) -> dict[str, Any]:
        out = {**summary_of(self.trigger), "status": self.status}
        if self.status == "validated":
            out.update(duplicate=self.duplicate, **self.result)
        return out


def summary_of(trigger: Trigger) -> dict[str, Any]:
    """What names an event in logs and answers: its id, kind, key (and cluster)."""
    summary: dict[str, Any] = {
        "event_id": trigger.event_id,
        "kind": trigger.kind.value,
        "key_arn": trigger.key_arn,
    }
    if trigger.cluster_id is not None:
        summary["cluster_id"] = trigger.cluster_id
    return summary


def revalidate(
    trigger: Trigger, deps: Deps, validate_once: ValidateOnce, request_id: str
) -> KeyEventResult:
    """Look the environments up once, then validate them through ``validate_once`` (a duplicate
    delivery of the same event id gets the first delivery's result back)."""
    from byok.service import environments_for

    environments = environments_for(trigger, deps)
    if not environments:
        return KeyEventResult(trigger, "unknown_key")
    request = {
        "event_id": trigger.event_id,
        "trigger": trigger.to_dict(),
        "environments": [e.to_dict() for e in environments],
        "request_id": request_id,
    }
    result = validate_once(request=request)
    duplicate = result["request_id"] != request_id
    return KeyEventResult(trigger, "validated", duplicate, result)


def validate_request(request: Mapping[str, Any], deps: Deps) -> dict[str, Any]:
    """Validate the environments of one ``revalidate`` request (stored by the idempotency layer:
    ``request_id`` names the invocation that did the work)."""
    from byok.service import validate_environment

    trigger = trigger_from_dict(request["trigger"])
    outcomes = [
        validate_environment(env.environment_id, trigger, deps, env=env)
        for env in (Environment.create(**e) for e in request["environments"])
    ]
    return {
        "request_id": request["request_id"],
        "outcomes": [
            {k: v for k, v in o.to_dict().items() if k in _SUMMARY_FIELDS} for o in outcomes
        ],
    }
