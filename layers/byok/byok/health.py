"""Turn validation reports into an environment's health flag, with hysteresis (docs/architecture.md
section 4).

Why a state machine: the flag drives alarms and remediation for a customer, so a false alarm is
as costly as a missed one. A throttled or timed-out check is evidence of nothing, so it may never
flip a flag to ``KEY_UNUSABLE`` (false alarm) nor to ``HEALTHY`` (false all-clear); only sustained
inability to check makes ``UNKNOWN``. All of this lives in ONE table (``TRANSITIONS``) keyed by
(current state, kind of evidence) so every rule can be read, and tested, in one place.

Pure Python: no AWS imports. ``byok.store`` persists flags, ``byok.service`` publishes changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Final

from byok.errors import InputError
from byok.models import CheckResult, CheckStatus, HealthStatus, ValidationReport
from byok.reasons import ReasonCode
from byok.times import parse_optional_time, parse_time, to_wire, to_wire_optional

__all__ = [
    "EVENT_DETAIL_TYPE",
    "EVENT_SOURCE",
    "TRANSITIONS",
    "Evidence",
    "HealthFlag",
    "HealthSettings",
    "State",
    "Transition",
    "classify",
    "decide",
    "health_changed_entry",
    "health_changed_event",
    "parse_time",
]

EVENT_SOURCE: Final = "byok.guard"
EVENT_DETAIL_TYPE: Final = "BYOK Environment Health Changed"

#: reason used for UNKNOWN when the failing checks named no reason of their own
REASON_UNAVAILABLE: Final = ReasonCode.VALIDATION_UNAVAILABLE

#: order of severity for "worst impact wins"
_SEVERITY: Final = {
    HealthStatus.HEALTHY: 0,
    HealthStatus.AT_RISK: 1,
    HealthStatus.KEY_UNUSABLE: 2,
}


@dataclass(frozen=True, slots=True)
class HealthSettings:
    """When repeated transient failures turn into ``UNKNOWN``: BOTH limits must be reached."""

    unknown_after_failures: int = 3
    unknown_after_minutes: float = 15

    def __post_init__(self) -> None:
        if not isinstance(self.unknown_after_failures, int) or self.unknown_after_failures < 1:
            raise InputError(
                f"unknown_after_failures: expected an integer >= 1, "
                f"got {self.unknown_after_failures!r}"
            )
        if not isinstance(self.unknown_after_minutes, int | float) or (
            self.unknown_after_minutes < 0
        ):
            raise InputError(
                f"unknown_after_minutes: expected a number >= 0, got {self.unknown_after_minutes!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HealthSettings:
        """Read ``UNKNOWN_AFTER_FAILURES`` / ``UNKNOWN_AFTER_MINUTES`` (Lambda env vars)."""
        values: dict[str, Any] = {}
        for var, name, kind in (
            ("UNKNOWN_AFTER_FAILURES", "unknown_after_failures", int),
            ("UNKNOWN_AFTER_MINUTES", "unknown_after_minutes", float),
        ):
            raw = environ.get(var)
            if raw in (None, ""):
                continue
            try:
                values[name] = kind(raw)
            except ValueError:
                raise InputError(f"{var}: expected a number, got {raw!r}") from None
        return cls(**values)


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthFlag:
    """The health of one environment as last decided, plus transient-failure bookkeeping.

    ``reasons`` are stable UPPER_SNAKE codes; ``fixes`` the exact customer-facing commands or
    statements; ``errors`` the error context (``DisabledException: <arn> is disabled.``);
    ``details`` the failing checks as dicts. ``since`` is when ``status`` began, ``checked_at``
    the validation this flag reflects, ``changed_at`` the validation that last changed status or
    reasons (the ``checked_at`` of the last health-changed event; a HOLD moves ``checked_at``
    only): remediation acts on an event only if it is at least that new. Keyword-only: too many
    same-typed fields to pass by position.
    """

    environment_id: str
    status: HealthStatus
    reasons: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    since: datetime
    checked_at: datetime
    transient_failures: int = 0
    first_transient_at: datetime | None = None
    last_transient_error: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list, hash=False)
    #: None only on flags stored before the field existed
    changed_at: datetime | None = None
    #: probing bookkeeping (``byok.probing``): when the S3 canary last gave an answer, and a
    #: digest of both keys' metadata at the last validation; never part of "changed"
    probed_at: datetime | None = None
    key_fingerprint: str | None = None
    #: sweep bookkeeping (docs/validation.md, "One queued validation per environment"): the
    #: sweep time of the newest sweep message enqueued for the environment (the sweep writes
    #: it; a validation carries it forward) and of the newest one a validation handled; an
    #: environment whose queued message is not handled yet gets no second one. Never "changed"
    queued_at: datetime | None = None
    swept_at: datetime | None = None

    def __post_init__(self) -> None:
        # aware UTC datetimes only (ISO text given here is parsed once, bad text refused)
        for name in ("since", "checked_at"):
            object.__setattr__(self, name, parse_time(getattr(self, name), name))
        for name in ("first_transient_at", "changed_at", "probed_at", "queued_at", "swept_at"):
            object.__setattr__(self, name, parse_optional_time(getattr(self, name), name))

    @property
    def fix(self) -> str | None:
        """The first fix (the brief's single-``fix`` view of the flag)."""
        return self.fixes[0] if self.fixes else None

    @property
    def error(self) -> str | None:
        """The first error context (the brief's single-``error`` view of the flag)."""
        return self.errors[0] if self.errors else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment_id": self.environment_id,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "fixes": list(self.fixes),
            "errors": list(self.errors),
            "since": to_wire(self.since),
            "checked_at": to_wire(self.checked_at),
            "transient_failures": self.transient_failures,
            "first_transient_at": to_wire_optional(self.first_transient_at),
            "last_transient_error": self.last_transient_error,
            "details": [dict(d) for d in self.details],
            "changed_at": to_wire_optional(self.changed_at),
        }

    def to_row(self) -> dict[str, Any]:
        """``to_dict`` plus the probing and sweep bookkeeping, for the store (``from_dict`` reads
        both): the operator's view and the events leave it out."""
        return {
            **self.to_dict(),
            **{
                name: value
                for name, value in (
                    ("probed_at", to_wire_optional(self.probed_at)),
                    ("key_fingerprint", self.key_fingerprint),
                    ("queued_at", to_wire_optional(self.queued_at)),
                    ("swept_at", to_wire_optional(self.swept_at)),
                )
                if value is not None
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HealthFlag:
        """Rebuild a flag from ``to_dict`` output (a stored row); bad rows raise ``InputError``."""
        try:
            status = HealthStatus(data["status"])
        except KeyError:
            raise InputError("status: required") from None
        except ValueError:
            raise InputError(
                f"status: expected one of {[s.value for s in HealthStatus]}, got {data['status']!r}"
            ) from None
        for name in ("environment_id", "since", "checked_at"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise InputError(f"{name}: required string, got {data.get(name)!r}")
        for name in ("changed_at", "first_transient_at", "probed_at", "queued_at", "swept_at"):
            if data.get(name) is not None and not isinstance(data[name], str):
                raise InputError(f"{name}: expected a time string, got {data[name]!r}")
        fingerprint = data.get("key_fingerprint")
        if fingerprint is not None and not isinstance(fingerprint, str):
            raise InputError(f"key_fingerprint: expected a string, got {fingerprint!r}")
        count = _count(data.get("transient_failures", 0))
        return cls(
            environment_id=data["environment_id"],
            status=status,
            since=data["since"],
            checked_at=data["checked_at"],
            reasons=_str_tuple(data.get("reasons"), "reasons"),
            fixes=_str_tuple(data.get("fixes"), "fixes"),
            errors=_str_tuple(data.get("errors"), "errors"),
            transient_failures=count,
            first_transient_at=data.get("first_transient_at"),
            last_transient_error=data.get("last_transient_error"),
            details=[dict(d) for d in data.get("details") or []],
            changed_at=data.get("changed_at"),
            probed_at=data.get("probed_at"),
            key_fingerprint=fingerprint,
            queued_at=data.get("queued_at"),
            swept_at=data.get("swept_at"),
        )


def _count(value: object) -> int:
    """A non-negative integer (DynamoDB numbers arrive as ``Decimal``)."""
    if not isinstance(value, bool):
        try:
            number = int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            number = -1
        if number >= 0 and number == value:
            return number
    raise InputError(f"transient_failures: expected an integer >= 0, got {value!r}")


def _str_tuple(value: object, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InputError(f"{name}: expected a list of strings, got {value!r}")
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise InputError(f"{name}: expected a list of strings, got {value!r}")
    return items


# --------------------------------------------------------------------------------------------
# The state machine
# --------------------------------------------------------------------------------------------


class State(Enum):
    """Where an environment is before a report: no flag yet, or one of the four statuses."""

    NONE = "NONE"
    HEALTHY = "HEALTHY"
    AT_RISK = "AT_RISK"
    KEY_UNUSABLE = "KEY_UNUSABLE"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def of(cls, flag: HealthFlag | None) -> State:
        return cls.NONE if flag is None else cls(flag.status.value)


class Evidence(Enum):
    """What one report proves, reduced to the five cases the rules distinguish.

    ``*_COMPLETE``: every check ran (no ERROR). ``*_PARTIAL``: some check could not run.
    ``UNUSABLE`` needs no qualifier: one definitive KEY_UNUSABLE result is enough.
    ``INCONCLUSIVE``: nothing definitive worse than healthy, and something could not run (or
    nothing ran at all).
    """

    UNUSABLE = "UNUSABLE"
    AT_RISK_COMPLETE = "AT_RISK_COMPLETE"
    AT_RISK_PARTIAL = "AT_RISK_PARTIAL"
    HEALTHY_COMPLETE = "HEALTHY_COMPLETE"
    INCONCLUSIVE = "INCONCLUSIVE"


class Hold(Enum):
    """Keep the current status (and its reasons); sustained failure turns it into UNKNOWN."""

    HOLD = "HOLD"


HOLD: Final = Hold.HOLD
Target = HealthStatus | Hold

_H, _R, _U, _X = (
    HealthStatus.HEALTHY,
    HealthStatus.AT_RISK,
    HealthStatus.KEY_UNUSABLE,
    HealthStatus.UNKNOWN,
)

_COLUMNS: Final = (
    Evidence.UNUSABLE,
    Evidence.AT_RISK_COMPLETE,
    Evidence.AT_RISK_PARTIAL,
    Evidence.HEALTHY_COMPLETE,
    Evidence.INCONCLUSIVE,
)

#: THE transition table: (state before, evidence) -> new status, or HOLD.
#: Definitive evidence always wins (first, second and fourth columns); AT_RISK_PARTIAL may only
#: worsen HEALTHY (and set a first flag); INCONCLUSIVE never moves a flag, except a missing one
#: to UNKNOWN. A HOLD becomes UNKNOWN once transient failures are sustained (``HealthSettings``).
TRANSITIONS: Final[dict[tuple[State, Evidence], Target]] = {
    (state, evidence): target
    for state, targets in {
        # columns:     UNUSABLE, AT_RISK_COMPLETE, AT_RISK_PARTIAL, HEALTHY_COMPLETE, INCONCLUSIVE
        State.NONE: (_U, _R, _R, _H, _X),
        State.HEALTHY: (_U, _R, _R, _H, HOLD),
        State.AT_RISK: (_U, _R, HOLD, _H, HOLD),
        State.KEY_UNUSABLE: (_U, _R, HOLD, _H, HOLD),
        State.UNKNOWN: (_U, _R, HOLD, _H, HOLD),
    }.items()
    for evidence, target in zip(_COLUMNS, targets, strict=True)
}


@dataclass(frozen=True, slots=True)
class Transition:
    """The result of ``decide``: the new flag, whether it changed, and what it was before."""

    flag: HealthFlag
    changed: bool
    previous_status: HealthStatus | None
    evidence: Evidence


def _impact(check: CheckResult) -> HealthStatus | None:
    """The definitive impact of a check, or None when it proves nothing.

    An ERROR check is evidence of nothing even if it carries an impact (defence in depth: a
    transient failure must never reach KEY_UNUSABLE). A PASS without an impact means healthy.
    """
    if check.status in (CheckStatus.ERROR, CheckStatus.SKIP):
        return None
    if check.impact is None and check.status is CheckStatus.PASS:
        return HealthStatus.HEALTHY
    if check.impact is HealthStatus.UNKNOWN:
        return None
    return check.impact


def _incomplete(report: ValidationReport) -> bool:
    """True when the report counts as a transient failure: a check errored, or none proved
    anything (all skipped)."""
    errored = any(c.status is CheckStatus.ERROR for c in report.checks)
    return errored or not any(_impact(c) is not None for c in report.checks)


def classify(report: ValidationReport) -> Evidence:
    """Reduce a report to the evidence the transition table is keyed on (worst impact wins)."""
    impacts = [i for i in (_impact(c) for c in report.checks) if i is not None]
    worst = max(impacts, key=_SEVERITY.__getitem__, default=None)
    incomplete = _incomplete(report)
    if worst is HealthStatus.KEY_UNUSABLE:
        return Evidence.UNUSABLE
    if worst is HealthStatus.AT_RISK:
        return Evidence.AT_RISK_PARTIAL if incomplete else Evidence.AT_RISK_COMPLETE
    return Evidence.INCONCLUSIVE if incomplete else Evidence.HEALTHY_COMPLETE


def _dedup(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _error_text(check: CheckResult) -> str:
    return check.error or f"{check.check_id}: {check.message or check.status.value}"


def _findings(report: ValidationReport) -> list[CheckResult]:
    """Definitive non-healthy checks, worst first (stable within a severity)."""
    bad = [c for c in report.checks if _impact(c) not in (None, HealthStatus.HEALTHY)]
    return sorted(bad, key=lambda c: -_SEVERITY[_impact(c)])  # type: ignore[index]


def _unavailable(report: ValidationReport) -> list[CheckResult]:
    return [c for c in report.checks if c.status is CheckStatus.ERROR]


def _sustained(count: int, first: datetime | None, now: datetime, settings: HealthSettings) -> bool:
    if count < settings.unknown_after_failures or first is None:
        return False
    elapsed = now - first
    return elapsed.total_seconds() >= settings.unknown_after_minutes * 60


def decide(
    previous: HealthFlag | None,
    report: ValidationReport,
    settings: HealthSettings | None = None,
) -> Transition:
    """Decide the new flag from the previous one and a report (pure and deterministic).

    The status comes from ``TRANSITIONS`` alone; this function only computes the inputs (state,
    evidence, whether transient failures are sustained) and fills in reasons, fixes and times.
    """
    settings = settings or HealthSettings()
    if previous is not None and previous.environment_id != report.environment_id:
        raise InputError(
            f"environment_id: report is for {report.environment_id!r}, "
            f"flag for {previous.environment_id!r}"
        )
    now = report.checked_at
    state = State.of(previous)
    evidence = classify(report)

    # transient bookkeeping: consecutive incomplete reports; a complete report resets it
    if _incomplete(report):
        count = (previous.transient_failures if previous else 0) + 1
        first = (previous.first_transient_at if previous else None) or now
        errors = _unavailable(report)
        last_error = _error_text(errors[0]) if errors else "no check could run"
    else:
        count, first, last_error = 0, None, None

    target = TRANSITIONS[(state, evidence)]
    if target is HOLD and _sustained(count, first, now, settings):
        target = HealthStatus.UNKNOWN if state is not State.UNKNOWN else HOLD

    if target is HOLD:
        assert previous is not None  # NONE never holds (see TRANSITIONS)
        flag = replace(previous, checked_at=now)
    elif target is HealthStatus.UNKNOWN:
        failing = _unavailable(report)
        flag = HealthFlag(
            environment_id=report.environment_id,
            status=HealthStatus.UNKNOWN,
            since=now,
            checked_at=now,
            reasons=_dedup(c.reason for c in failing) or (REASON_UNAVAILABLE,),
            fixes=_dedup(c.fix for c in failing),
            errors=_dedup(_error_text(c) for c in failing),
            details=[c.to_dict() for c in failing],
        )
    else:
        assert isinstance(target, HealthStatus)
        findings = _findings(report)
        flag = HealthFlag(
            environment_id=report.environment_id,
            status=target,
            since=now,
            checked_at=now,
            reasons=_dedup(c.reason for c in findings),
            fixes=_dedup(c.fix for c in findings),
            errors=_dedup(c.error for c in findings),
            details=[c.to_dict() for c in findings],
        )
    if previous is not None and flag.status is previous.status:
        flag = replace(flag, since=previous.since)
    flag = replace(
        flag, transient_failures=count, first_transient_at=first, last_transient_error=last_error
    )
    changed = (
        previous is None
        or flag.status is not previous.status
        or set(flag.reasons) != set(previous.reasons)
    )
    flag = replace(flag, changed_at=now if changed else previous.changed_at if previous else now)
    return Transition(
        flag=flag,
        changed=changed,
        previous_status=previous.status if previous else None,
        evidence=evidence,
    )


def health_changed_event(transition: Transition) -> dict[str, Any]:
    """The ``detail`` of a "BYOK Environment Health Changed" event (source ``byok.guard``)."""
    flag = transition.flag
    return {
        "environment_id": flag.environment_id,
        "previous_status": transition.previous_status.value if transition.previous_status else None,
        "status": flag.status.value,
        "reasons": list(flag.reasons),
        "fixes": list(flag.fixes),
        "errors": list(flag.errors),
        "since": to_wire(flag.since),
        "checked_at": to_wire(flag.checked_at),
        "details": [dict(d) for d in flag.details],
    }


def health_changed_entry(transition: Transition, event_bus: str | None = None) -> dict[str, Any]:
    """A ready ``put_events`` entry for the change (``EventBusName`` only when given)."""
    import json

    entry: dict[str, Any] = {
        "Source": EVENT_SOURCE,
        "DetailType": EVENT_DETAIL_TYPE,
        "Detail": json.dumps(health_changed_event(transition), sort_keys=True, default=str),
    }
    if event_bus:
        entry["EventBusName"] = event_bus
    return entry
