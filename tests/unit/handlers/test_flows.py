"""The core flows behind the thin handlers, without Lambda or AWS: what each event means, and
what a run reports (the handlers only map these results)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from event_samples import EVENTS_DIR, S3_KEY

from byok.errors import EventError
from byok.intake import Ignored, intake_event, revalidate
from byok.models import Environment, Trigger
from byok.remediation.executor import StepResult
from byok.remediation.model import StepOutcome
from byok.remediation.runner import (
    HealthChangeWork,
    RemediationRun,
    ScheduledWork,
    remediation_work,
)
from byok.service import Deps, ServiceSettings
from byok.store import MemoryStore

ROLE = "arn:aws:iam::444455556666:role/byok-platform"


def _sample(folder: str, name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / folder / f"{name}.json").read_text())


# ---- remediate --------------------------------------------------------------------------------


def test_remediate_events_dispatch_through_the_events_registry() -> None:
    scheduled = remediation_work(_sample("remediate", "scheduled_event"))
    assert isinstance(scheduled, ScheduledWork)
    assert scheduled.run_metric == "ScheduledRemediationRuns"
    change = remediation_work(_sample("remediate", "key_disabled"))
    assert isinstance(change, HealthChangeWork)
    assert change.ids == {"event_id": change.event_id, "environment_id": "acme-prod"}
    with pytest.raises(EventError, match=r"detail\.status"):
        remediation_work(_sample("remediate", "malformed_status"))
    with pytest.raises(EventError, match="detail-type"):
        remediation_work(_sample("key_events", "disable_key"))  # not remediate's


def _step(result: StepOutcome) -> StepResult:
    return StepResult("notify", f"i:{result.value}", result, "")


def test_a_scheduled_run_reports_what_it_did_and_which_environments_failed() -> None:
    steps = tuple(_step(o) for o in (StepOutcome.DONE, StepOutcome.SKIPPED, StepOutcome.SKIPPED))
    failure = {"environment_id": "beta", "error": {"code": "TRANSIENT"}}
    run = RemediationRun(ScheduledWork("e1"), steps, (failure,))
    assert run.metrics() == {
        "RemediationSteps": 1,
        "SkippedRemediationSteps": 2,
        "ScheduledRemediationFailures": 1,
    }
    answer = run.to_dict()
    assert answer["status"] == "partial" and answer["errors"] == [failure]
    assert [s["result"] for s in answer["steps"]] == ["done"]  # skipped steps are left out
    assert RemediationRun(ScheduledWork("e2"), ()).to_dict() == {
        "status": "ok",
        "event_id": "e2",
        "steps": [],
    }


# ---- key_events --------------------------------------------------------------------------------


def test_intake_ignores_what_cannot_change_a_key() -> None:
    ignored = intake_event(_sample("key_events", "failed_disable_key"))
    assert isinstance(ignored, Ignored) and ignored.to_dict()["status"] == "ignored"
    assert isinstance(intake_event(_sample("key_events", "disable_key")), Trigger)


def _deps(store: MemoryStore) -> Deps:
    return Deps(store=store, session_factory=lambda: None, settings=ServiceSettings(ROLE))


def test_revalidate_looks_environments_up_once_and_validates_once_per_event() -> None:
    store = MemoryStore()
    trigger = intake_event(_sample("key_events", "disable_key"))
    assert isinstance(trigger, Trigger)
    calls: list[dict[str, Any]] = []

    def once(*, request: dict[str, Any]) -> dict[str, Any]:
        calls.append(request)
        return {"request_id": "first", "outcomes": []}

    unknown = revalidate(trigger, _deps(store), once, "first")
    assert (unknown.status, unknown.metric, calls) == ("unknown_key", "UnknownKeyEvents", [])
    env = Environment.create(
        environment_id="acme-prod",
        customer_account="111122223333",
        region="eu-west-1",
        s3_key_arn=S3_KEY,
        aurora_key_arn=S3_KEY.replace("1111aaaa-1111-4111", "2222bbbb-2222-4222"),
        bucket="acme-prod-data",
        cluster_id="acme-prod-db",
    )
    store.register(env)
    first = revalidate(trigger, _deps(store), once, "first")
    assert (first.status, first.duplicate, first.metric) == ("validated", False, "ValidatedEvents")
    assert calls[0]["environments"] == [env.to_dict()]  # the validation reuses the lookup
    assert calls[0]["event_id"] == trigger.event_id
    again = revalidate(trigger, _deps(store), once, "second")  # the stored result comes back
    assert (again.duplicate, again.metric) == (True, "DuplicateEvents")
    assert again.to_dict()["key_arn"] == S3_KEY and again.to_dict()["request_id"] == "first"
