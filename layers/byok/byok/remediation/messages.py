"""Customer notifications: plain text that reads well in an email, one template per notice kind.

Each message names the environment, the key, its purpose, the reason code, the error the platform
saw, the exact fix and any deadline. No links: customers act with the commands given.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from byok.models import Environment, Purpose
from byok.reasons import REASONS, ReasonCode
from byok.remediation.model import (
    SEVERITY,
    HealthChange,
    NoticeKind,
    Problem,
    RemediationContext,
)
from byok.remediation.plan import deletion_date_of, format_duration
from byok.times import to_wire

WIDTH = 78

PURPOSE_TEXT = {
    Purpose.S3.value: "S3 data encryption (SSE-KMS)",
    Purpose.AURORA.value: "Aurora PostgreSQL storage encryption",
}

HEADLINES: dict[NoticeKind, str] = {
    NoticeKind.KEY_UNUSABLE: "ACTION REQUIRED: your encryption key is unusable",
    NoticeKind.PENDING_DELETION: "URGENT: your encryption key is scheduled for deletion",
    NoticeKind.DELETION_REMINDER: "REMINDER: your encryption key will be deleted soon",
    NoticeKind.AT_RISK: "Attention: your encryption setup will break unless fixed",
    NoticeKind.RESOLVED: "Resolved: your encryption key is healthy again",
    NoticeKind.CLUSTER_TERMINAL: "Data recovery needed: the database lost its encryption key",
}

TERMINAL_GUIDANCE = (
    "The cluster cannot be started again. To recover: make sure the key is enabled, then ask the "
    "platform to restore the environment's database from its latest automated backup or snapshot "
    "(point-in-time restore). Data written after that backup cannot be recovered."
)


@dataclass(frozen=True, slots=True)
class Notification:
    subject: str
    body: str
    attributes: Mapping[str, str]


def render(
    kind: NoticeKind,
    change: HealthChange,
    ctx: RemediationContext,
    params: Mapping[str, object] | None = None,
) -> Notification:
    env = ctx.environment
    params = params or {}
    problems = _problems_for(kind, change)
    lines = [HEADLINES[kind], ""]
    lines += [
        f"Environment:  {env.environment_id} (account {env.customer_account}, {env.region})",
        f"Status:       {change.status.value}"
        + (f" (was {change.previous_status.value})" if change.previous_status else ""),
    ]
    if kind is NoticeKind.RESOLVED:
        lines += [f"Duration:     {params.get('duration', 'unknown')}", ""]
        lines.append("The platform can use both keys again; paused writes have resumed.")
    elif kind is NoticeKind.CLUSTER_TERMINAL:
        lines += [
            "",
            _section(env, _cluster_problem(change), ctx.now),
            "",
            *_wrap(TERMINAL_GUIDANCE),
        ]
    else:
        for problem in problems:
            lines += ["", _section(env, problem, ctx.now)]
        if kind is NoticeKind.KEY_UNUSABLE or kind is NoticeKind.PENDING_DELETION:
            lines += ["", "Writes to this environment are paused until the key is usable again."]
    closing = f"Checked at {to_wire(change.checked_at)}."
    if kind is not NoticeKind.RESOLVED:
        closing += " byok-guard re-checks automatically and will tell you when this is resolved."
    lines += ["", *_wrap(closing)]
    reason = problems[0].reason if problems else (change.reasons[0] if change.reasons else "-")
    subject = f"[byok-guard] {HEADLINES[kind]} ({env.environment_id})"
    return Notification(
        subject=subject[:100],
        body="\n".join(lines) + "\n",
        attributes={
            "environment_id": env.environment_id,
            "severity": SEVERITY[kind],
            "notice_kind": kind.value,
            "reason_code": reason,
        },
    )


def _wrap(text: str, first: str = "", rest: str = "") -> list[str]:
    """Wrap prose for email (78 columns); commands and ARNs are never wrapped (see callers)."""
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _problems_for(kind: NoticeKind, change: HealthChange) -> list[Problem]:
    if kind in (NoticeKind.PENDING_DELETION, NoticeKind.DELETION_REMINDER):
        found = change.problem(ReasonCode.KEY_PENDING_DELETION)
        return [found] if found else []
    if kind is NoticeKind.RESOLVED:
        return []
    if change.problems:
        return list(change.problems)
    # No check details: fall back to the bare reason codes.
    return [Problem(r, None, "", None, None, {}) for r in change.reasons]


def _cluster_problem(change: HealthChange) -> Problem:
    return change.problem(ReasonCode.CLUSTER_INACCESSIBLE_TERMINAL) or Problem(
        ReasonCode.CLUSTER_INACCESSIBLE_TERMINAL, "aurora", "", None, None, {}
    )


def _section(env: Environment, problem: Problem, now: datetime) -> str:
    key_arn = problem.evidence.get("key_arn")
    if not key_arn and problem.purpose in (p.value for p in Purpose):
        key_arn = env.key_arn(Purpose(problem.purpose))
    rows = [
        ("Key", str(key_arn or "-")),
        ("Purpose", PURPOSE_TEXT.get(problem.purpose or "", problem.purpose or "-")),
        ("Reason code", problem.reason),
        ("What happened", _cause(problem)),
    ]
    if problem.error:
        rows.append(("Error seen", problem.error))
    deadline = _deadline(problem, now)
    if deadline:
        rows.append(("Deadline", deadline))
    text = "\n".join(
        "\n".join(_wrap(str(value), first=f"{label + ':':<15}", rest=" " * 15))
        if label == "What happened"
        else f"{label + ':':<15}{value}"
        for label, value in rows
    )
    fix = problem.fix
    if fix:
        text += "\nHow to fix:\n" + "\n".join(f"  {line}" for line in fix.splitlines())
    return text


def _cause(problem: Problem) -> str:
    """What happened, in the catalogue's customer-facing words (else the check's message)."""
    entry = REASONS.get(problem.reason)  # type: ignore[call-overload]
    return (entry.cause if entry else None) or problem.message or problem.reason


def _deadline(problem: Problem, now: datetime) -> str | None:
    entry = REASONS.get(problem.reason)  # type: ignore[call-overload]
    if entry is not None and entry.deletion_deadline:
        when = deletion_date_of(problem)
        if when is None:
            return "the deletion date was not reported; act now"
        left = when - now
        return f"{to_wire(when)} ({format_duration(left)} left) - data is lost after this"
    valid_to = problem.evidence.get("valid_to")
    if isinstance(valid_to, str):
        return f"key material expires {valid_to}"
    return None
