"""Run the demo: start the emulator, build both accounts, play the scenarios, check every step.

A step is OK when the flag byok-guard wrote is the expected one and the expected side effects
happened (reason codes present, writes paused or resumed, the number of notifications the
customer received, the Aurora cluster's status). ``latency_ms`` is the time from delivering the
step's last event to its handler having written the flag (``perf_counter`` around delivery; for
a sweep: the schedule firing -> sweep -> queue -> validate).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from .pipeline import Delivery, Pipeline, RemediationRun
from .scenarios import Context, Expect, Scenario, Step, selected
from .world import ENV_ID, PROCESS_ENV, DemoWorld, process_environment


@dataclass
class StepResult:
    index: int
    scenario: str
    step: str
    title: str
    event: str
    routed: list[str]
    flag: str | None
    reasons: list[str]
    fix: str | None
    error: str | None
    latency_ms: float
    expect: Expect
    writes_paused: bool
    cluster_status: str
    notifications: list[dict[str, str]]
    remediation: list[str]
    facts: dict[str, Any]
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "scenario": self.scenario,
            "title": self.title,
            "event": self.event,
            "routed": self.routed,
            "flag": self.flag,
            "expected": self.expect.flag,
            "ok": self.ok,
            "failures": self.failures,
            "reasons": self.reasons,
            "fix": self.fix,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 1),
            "writes_paused": self.writes_paused,
            "cluster_status": self.cluster_status,
            "notifications": [n["subject"] for n in self.notifications],
            "remediation": self.remediation,
            **self.facts,
        }


@dataclass
class DemoRun:
    steps: list[StepResult]
    setup_ms: float
    total_ms: float
    endpoint_url: str
    remediation_via: str
    #: ``byok env incidents acme-prod`` at the end (from the audit records)
    incidents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)


#: the set-up lines, as printed while it runs and in the summary
ACCOUNTS_LINE = "accounts   customer stack deployed (2 keys), platform side created"


def emulator_line(endpoint_url: str) -> str:
    return f"emulator   moto server + byok_emulator on {endpoint_url}"


def run(
    scenario: str | None,
    *,
    log: IO[str],
    progress: Callable[[str], None] = lambda line: None,
    on_step: Callable[[StepResult], None] = lambda step: None,
) -> DemoRun:
    """Play the demo (all scenarios, or onboarding + ``scenario``); never raises for a bad step.

    ``progress`` gets the set-up lines, ``on_step`` each step's result as soon as it is known.
    """
    scenarios = selected(scenario)
    started = time.perf_counter()
    with logs_to(log):
        return _run(scenarios, started, log, progress, on_step)


@contextlib.contextmanager
def logs_to(log: IO[str]) -> Iterator[None]:
    """Python logging (byok, werkzeug's request lines) into the log file, not the terminal."""
    root = logging.getLogger()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    werkzeug = logging.getLogger("werkzeug")
    saved = (root.level, werkzeug.level, werkzeug.propagate)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    werkzeug.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        werkzeug.setLevel(saved[1])


def _run(
    scenarios: list[Scenario],
    started: float,
    log: IO[str],
    progress: Callable[[str], None],
    on_step: Callable[[StepResult], None],
) -> DemoRun:
    import byok_emulator

    server = byok_emulator.server.start()
    env = {**PROCESS_ENV, "AWS_ENDPOINT_URL": server.endpoint_url}
    # fake credentials for the first STS call; replaced by the platform account's in build()
    env.update(AWS_ACCESS_KEY_ID="demo", AWS_SECRET_ACCESS_KEY="demo", AWS_SESSION_TOKEN="demo")
    try:
        with process_environment(env):
            progress(emulator_line(server.endpoint_url))
            world = DemoWorld.build(server.endpoint_url, log)
            progress(ACCOUNTS_LINE)
            world.app.warm()
            pipeline = Pipeline(world)
            setup_ms = (time.perf_counter() - started) * 1000
            results = _play(scenarios, Context(world, pipeline), on_step)
            incidents = _incidents(world)
    finally:
        server.stop()
    return DemoRun(
        steps=results,
        setup_ms=setup_ms,
        total_ms=(time.perf_counter() - started) * 1000,
        endpoint_url=server.endpoint_url,
        remediation_via=", ".join(pipeline.health_routes()) or "no rule",
        incidents=incidents,
    )


def _incidents(world: DemoWorld) -> list[dict[str, Any]]:
    from byok.remediation.executor import incident_report

    try:
        return incident_report(world.store, ENV_ID)
    except Exception as exc:  # shown, never fatal: the steps are the demo's verdict
        return [{"error": f"{type(exc).__name__}: {exc}"}]


def _play(
    scenarios: list[Scenario], ctx: Context, on_step: Callable[[StepResult], None]
) -> list[StepResult]:
    results: list[StepResult] = []
    for scenario in scenarios:
        for step in scenario.steps:
            result = _step(len(results) + 1, scenario, step, ctx)
            results.append(result)
            on_step(result)
    return results


def _step(index: int, scenario: Scenario, step: Step, ctx: Context) -> StepResult:
    world, pipeline = ctx.world, ctx.pipeline
    ctx.facts = {}
    failures: list[str] = []
    try:
        deliveries = step.action(ctx)
    except Exception as exc:  # a broken step is reported, the demo goes on
        deliveries = [Delivery(f"{type(exc).__name__}: {exc}", [], [], 0.0)]
        failures.append(f"step raised {type(exc).__name__}: {exc}")
    last = deliveries[-1]
    flag = world.store.get_flag(ENV_ID)
    remediation: RemediationRun = pipeline.remediate_pending()
    notes = pipeline.notifications()
    result = StepResult(
        index=index,
        scenario=scenario.name,
        step=step.name,
        title=step.title,
        event=" + ".join(d.event for d in deliveries),
        routed=[name for d in deliveries for name in d.routed] + remediation.routed,
        flag=flag.status.value if flag else None,
        reasons=list(flag.reasons) if flag else [],
        fix=flag.fix if flag else None,
        error=flag.error if flag else None,
        latency_ms=last.latency_ms,
        expect=step.expect,
        writes_paused=world.writes_paused(),
        cluster_status=world.cluster_status(),
        notifications=notes,
        remediation=_actions(remediation),
        facts=dict(ctx.facts),
        failures=failures,
    )
    for delivery in deliveries:
        if delivery.forwarded and not delivery.routed:
            failures.append(f"{delivery.event}: no rule routed it")
    if remediation.unrouted_health_changes:
        failures.append(f"{remediation.unrouted_health_changes} health change(s) reached no rule")
    failures.extend(_unmet(result))
    return result


def _actions(run: RemediationRun) -> list[str]:
    """Remediation steps that did something (``done`` / ``failed``), e.g. ``pause_writes``."""
    out: list[str] = []
    for item in run.results:
        records = (item or {}).get("steps", [])  # the remediate function's answer
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict) and record.get("result") in ("done", "failed"):
                action = str(record.get("action"))
                out.append(action if record["result"] == "done" else f"{action} FAILED")
    return out


def _unmet(result: StepResult) -> list[str]:
    expect = result.expect
    unmet: list[str] = []
    if result.flag != expect.flag:
        unmet.append(f"flag {result.flag}, expected {expect.flag}")
    missing = [r for r in expect.reasons if r not in result.reasons]
    if missing:
        unmet.append(f"reasons lack {', '.join(missing)}")
    if expect.writes_paused is not None and result.writes_paused != expect.writes_paused:
        unmet.append(f"writes_paused={result.writes_paused}, expected {expect.writes_paused}")
    if expect.notifications is not None and len(result.notifications) != expect.notifications:
        unmet.append(f"{len(result.notifications)} notifications, expected {expect.notifications}")
    if expect.cluster_status is not None and result.cluster_status != expect.cluster_status:
        unmet.append(f"cluster {result.cluster_status}, expected {expect.cluster_status}")
    if result.step == "throttling-storm" and not result.facts.get("throttled_calls"):
        unmet.append("no KMS call was throttled")
    kms_date = result.facts.get("deletion_date")
    if kms_date and not str(result.facts.get("flag_deletion_date") or "").startswith(kms_date):
        unmet.append(f"flag carries no deletion date {kms_date}")
    return unmet


def default_out_dir() -> Path:
    return Path("demo-out")
