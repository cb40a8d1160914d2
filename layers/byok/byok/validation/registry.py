"""The check registry: every validation check is a registered, declarative object.

Why (Cloud Custodian's filters): a check declares its id, the AWS permissions it needs and the
facts it reads, so the SAM template's least-privilege role, the documentation and a test that
walks the registry all derive from one place; a check cannot be added without saying what it
needs. ``validate`` runs the registry; nothing else decides which checks exist.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Final

from byok.errors import InputError
from byok.models import CheckResult, CheckStatus, Environment, HealthStatus, Purpose, Trigger
from byok.reasons import ReasonCode, get_reason
from byok.times import wire_z
from byok.validation.facts import FactError, Facts, KeyFacts

__all__ = [
    "INPUTS",
    "REGISTRY",
    "Check",
    "CheckContext",
    "register_check",
    "required_permissions",
]

#: the fact names a check may declare as inputs (attributes of ``Facts`` / ``KeyFacts``)
INPUTS: Final = frozenset(
    {
        "key.metadata",
        "key.policy",
        "key.rotation",
        "key.shared_with",
        "s3_probe",
        "cluster",
        "platform_role_arn",
        "platform_identity",
        "now",
    }
)


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a check sees: the environment, the gathered facts, the platform role, the time."""

    env: Environment
    facts: Facts
    platform_role_arn: str
    now: datetime
    #: what asked for this validation: never changes a verdict, may add evidence (a date)
    trigger: Trigger | None = None

    def key(self, purpose: Purpose) -> KeyFacts:
        return self.facts.keys.get(purpose) or KeyFacts(purpose, self.env.key_arn(purpose))

    def event_deletion_date(self, key_arn: str) -> datetime | None:
        """The deletion date a ScheduleKeyDeletion event carried for this key, if any."""
        t = self.trigger
        if t is None or t.key_arn != key_arn or t.event_name != "ScheduleKeyDeletion":
            return None
        return t.evidence.deletion_date


class Check(ABC):
    """Base of every check. Subclasses are registered with ``@register_check``.

    ``purposes``: the check runs once per listed purpose (``run`` gets it); ``()`` would mean
    environment-wide, but every current check is about one key.
    """

    id: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]
    inputs: ClassVar[tuple[str, ...]]
    purposes: ClassVar[tuple[Purpose, ...]] = (Purpose.S3, Purpose.AURORA)

    @abstractmethod
    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterable[CheckResult]:
        """Yield at least one result (PASS included: a report lists what was verified)."""

    # ---- helpers shared by every check: the catalogue decides impact and fix -----------------
    def result(
        self,
        ctx: CheckContext,
        purpose: Purpose,
        reason: ReasonCode | None,
        message: str,
        *,
        status: CheckStatus | None = None,
        error: FactError | str | None = None,
        evidence: dict[str, Any] | None = None,
        fix_values: dict[str, Any] | None = None,
    ) -> CheckResult:
        """Build a result; without ``reason`` it is a PASS with impact HEALTHY."""
        if reason is None:
            return CheckResult(
                self.id,
                status or CheckStatus.PASS,
                None,
                message,
                purpose=purpose,
                evidence=evidence or {},
                impact=HealthStatus.HEALTHY if status in (None, CheckStatus.PASS) else None,
            )
        entry = get_reason(reason)
        impact = entry.impact_for(purpose)
        if status is None:
            status = _status_for(impact)
        if status in (CheckStatus.ERROR, CheckStatus.SKIP):
            impact = None
        values = {
            "environment_id": ctx.env.environment_id,
            "key_arn": ctx.env.key_arn(purpose),
            "region": ctx.env.region,
            "account": ctx.env.customer_account,
            "cluster_id": ctx.env.cluster_id,
            "platform_role_arn": ctx.platform_role_arn,
            **(fix_values or {}),
        }
        fix = entry.fix(**values) if entry.fix_fields() <= values.keys() else None
        if isinstance(error, FactError):
            error = error.context
        evidence = dict(evidence or {})
        if entry.deletion_deadline and "deletion_date" not in evidence:
            date = ctx.event_deletion_date(ctx.env.key_arn(purpose))
            if date:
                evidence.update(
                    deletion_date=wire_z(date), deletion_date_source="ScheduleKeyDeletion event"
                )
        return CheckResult(
            self.id,
            status,
            entry.code,
            message or entry.summary,
            fix=fix,
            purpose=purpose,
            error=error,
            evidence=evidence or {},
            impact=impact,
        )

    def could_not_check(
        self, ctx: CheckContext, purpose: Purpose, error: FactError, what: str
    ) -> CheckResult:
        """A transient error: status ERROR, impact None (evidence of nothing)."""
        return self.result(
            ctx,
            purpose,
            ReasonCode.TRANSIENT_ERROR,
            f"{what} could not be read ({error.code}); re-checked later",
            status=CheckStatus.ERROR,
            error=error,
            evidence={"operation": error.operation},
        )

    def skipped(self, ctx: CheckContext, purpose: Purpose, message: str) -> CheckResult:
        return self.result(ctx, purpose, None, message, status=CheckStatus.SKIP)


def _status_for(impact: HealthStatus | None) -> CheckStatus:
    if impact is HealthStatus.KEY_UNUSABLE:
        return CheckStatus.FAIL
    if impact is HealthStatus.AT_RISK:
        return CheckStatus.FAIL
    if impact is HealthStatus.HEALTHY:
        return CheckStatus.WARN
    return CheckStatus.ERROR


#: id -> check instance, in registration order (the order of a report's checks)
REGISTRY: Final[dict[str, Check]] = {}


def register_check(
    check_id: str, *, permissions: Iterable[str], inputs: Iterable[str]
) -> Callable[[type[Check]], type[Check]]:
    """Class decorator: declare and register a check under ``check_id`` (unique)."""

    def wrap(cls: type[Check]) -> type[Check]:
        if check_id in REGISTRY:
            raise InputError(f"check id: {check_id!r} is already registered")
        declared = tuple(inputs)
        unknown = set(declared) - INPUTS
        if unknown:
            raise InputError(f"{check_id}: unknown inputs {sorted(unknown)}")
        cls.id = check_id
        cls.permissions = tuple(permissions)
        cls.inputs = declared
        REGISTRY[check_id] = cls()
        return cls

    return wrap


def iter_checks() -> Iterator[Check]:
    return iter(REGISTRY.values())


def required_permissions() -> list[str]:
    """Every AWS permission the registered checks need (for templates and docs)."""
    return sorted({p for check in REGISTRY.values() for p in check.permissions})
