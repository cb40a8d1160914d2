"""The remediate flow: one event in (a health change, or the schedule), remediation run, a typed
result out.

Why here and not in the handler: which event means what is decided by the events registry
(``byok.events.envelopes.remediate_event``: source and detail-type), and the per-environment loop
of the scheduled run (one failing environment neither stops the others nor fails the run) is a
rule of remediation, tested without Lambda. The handler parses, calls ``run_remediation`` and
maps the ``RemediationRun`` to metrics and its answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from byok.errors import ByokError
from byok.events.envelopes import HealthChangedEvent, ScheduleEvent, remediate_event
from byok.remediation.executor import RemediationDeps, StepResult, remediate, scheduled
from byok.remediation.model import HealthChange, StepOutcome

__all__ = ["HealthChangeWork", "RemediationRun", "ScheduledWork", "remediation_work", "run"]

#: step outcome -> the metric counting it
_STEP_METRICS = (
    (StepOutcome.DONE, "RemediationSteps"),
    (StepOutcome.SKIPPED, "SkippedRemediationSteps"),  # repeated deliveries, already done
    (StepOutcome.FAILED, "FailedRemediationSteps"),
    (StepOutcome.STALE, "StaleHealthChanges"),  # older than the stored flag's last change
)


@dataclass(frozen=True, slots=True)
class HealthChangeWork:
    """A "BYOK Environment Health Changed" event, its detail validated."""

    event_id: str
    change: HealthChange
    run_metric = "HealthChangeRemediationRuns"

    @property
    def ids(self) -> dict[str, str]:
        return {"event_id": self.event_id, "environment_id": self.change.environment_id}


@dataclass(frozen=True, slots=True)
class ScheduledWork:
    """The remediate function's schedule: reminders and cluster follow-up for everyone."""

    event_id: str
    run_metric = "ScheduledRemediationRuns"

    @property
    def ids(self) -> dict[str, str]:
        return {"event_id": self.event_id}


Work = HealthChangeWork | ScheduledWork


def remediation_work(event: object) -> Work:
    """What an event asks of remediation (``EventError`` for anything else, or a bad detail)."""
    parsed = remediate_event(event)
    if isinstance(parsed, ScheduleEvent):
        return ScheduledWork(parsed.event_id)
    assert isinstance(parsed, HealthChangedEvent)
    return HealthChangeWork(parsed.event_id, HealthChange.from_detail(parsed.detail))


@dataclass(frozen=True, slots=True)
class RemediationRun:
    """The steps one run took (and, for the schedule, the environments that failed)."""

    work: Work
    steps: tuple[StepResult, ...]
    errors: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def message(self) -> str:
        scheduled_run = isinstance(self.work, ScheduledWork)
        return "scheduled remediation done" if scheduled_run else "remediation done"

    def metrics(self) -> dict[str, int]:
        """Metric name -> count for this run (zero counts left out)."""
        counts = {name: sum(1 for s in self.steps if s.result is o) for o, name in _STEP_METRICS}
        if self.errors:
            counts["ScheduledRemediationFailures"] = len(self.errors)
        return {name: n for name, n in counts.items() if n}

    def to_dict(self) -> dict[str, Any]:
        if isinstance(self.work, HealthChangeWork):
            return {"status": "ok", **self.work.ids, "steps": [s.to_dict() for s in self.steps]}
        out: dict[str, Any] = {
            "status": "partial" if self.errors else "ok",
            "event_id": self.work.event_id,
            "steps": [s.to_dict() for s in self.steps if s.result is not StepOutcome.SKIPPED],
        }
        if self.errors:
            out["errors"] = [dict(e) for e in self.errors]
        return out


def run(work: Work, deps: RemediationDeps) -> RemediationRun:
    """Remediate one health change, or run the schedule environment by environment.

    A health change's ``ByokError`` propagates (a transient one is retried by Lambda); a failing
    environment of the scheduled run is recorded in ``errors`` and the others go on (the next
    schedule is its retry)."""
    if isinstance(work, HealthChangeWork):
        return RemediationRun(work, tuple(remediate(work.change, deps)))
    steps: list[StepResult] = []
    errors: list[dict[str, Any]] = []
    # only the environments that need it (the sparse attention index): healthy ones cost nothing
    for env_id in deps.store.needing_attention():
        try:
            steps += scheduled(deps, [env_id])
        except ByokError as exc:
            errors.append({"environment_id": env_id, "error": exc.to_dict()})
    return RemediationRun(work, tuple(steps), tuple(errors))
