"""What the demo shows: the table, the text summary, the health timeline picture, the JSON.

The table is the same in the terminal and in ``demo-summary.txt``; the picture
(``demo-timeline.png``) draws the flag after every step (one band per status) over the
event-to-flag time of each step. Matplotlib runs with the Agg backend (no display needed).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .runner import DemoRun, StepResult

STATUS_ORDER = ("HEALTHY", "AT_RISK", "UNKNOWN", "KEY_UNUSABLE")
STATUS_COLOURS = {
    "HEALTHY": "#2e9d57",
    "AT_RISK": "#e0a100",
    "UNKNOWN": "#7f7f7f",
    "KEY_UNUSABLE": "#c9302c",
}
FIX_WIDTH = 44
REASONS_WIDTH = 40
EVENT_WIDTH = 46


def shorten(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def table(run: DemoRun) -> str:
    header = (
        f"{'#':>2}  {'step':<27} {'event':<{EVENT_WIDTH}} {'flag':<13} "
        f"{'reasons':<{REASONS_WIDTH}} {'fix':<{FIX_WIDTH}} {'ms':>7}  ok"
    )
    lines = [header, "-" * len(header)]
    for s in run.steps:
        lines.append(
            f"{s.index:>2}  {s.step:<27} {shorten(s.event, EVENT_WIDTH):<{EVENT_WIDTH}} "
            f"{s.flag or '-':<13} "
            f"{shorten(', '.join(s.reasons), REASONS_WIDTH):<{REASONS_WIDTH}} "
            f"{shorten(s.fix, FIX_WIDTH):<{FIX_WIDTH}} {s.latency_ms:7.1f}  "
            f"{'yes' if s.ok else 'NO'}"
        )
    return "\n".join(lines)


def _effects(s: StepResult) -> str:
    parts = [f"writes {'paused' if s.writes_paused else 'on'}", f"cluster {s.cluster_status}"]
    if s.remediation:
        parts.append("remediation: " + ", ".join(s.remediation))
    if s.facts:
        parts.append(", ".join(f"{k}={v}" for k, v in s.facts.items()))
    return "; ".join(parts)


def _incident(incident: dict[str, Any]) -> str:
    if "error" in incident:
        return str(incident["error"])
    statuses: list[str] = []
    for status in incident.get("statuses") or []:
        if not statuses or statuses[-1] != status:
            statuses.append(str(status))
    actions = [
        str(a.get("action")) if isinstance(a, dict) else str(a)
        for a in incident.get("actions") or []
        if not isinstance(a, dict) or a.get("result") == "done"
    ]
    state = "open" if incident.get("open") else f"closed after {incident.get('duration')}"
    return (
        f"{' -> '.join(statuses)} ({', '.join(incident.get('reasons') or [])}); {state}; "
        f"actions: {', '.join(actions) or '-'}"
    )


def summary(run: DemoRun, picture: Path | None) -> str:
    ok = sum(1 for s in run.steps if s.ok)
    lines = [
        "byok-guard demo: customer 111122223333 (keys from customer/byok-keys.yaml), "
        "platform 444455556666 (template.yaml functions, in-process)",
        f"emulator {run.endpoint_url}; health changes -> {run.remediation_via} (template rule)",
        "",
        table(run),
        "",
        "What happened at each step:",
    ]
    for s in run.steps:
        lines.append(f"{s.index:>2}. {s.step}: {s.title}")
        lines.append(f"    event -> {', '.join(s.routed) or 'nothing routed'}")
        lines.append(f"    flag {s.flag} ({', '.join(s.reasons) or 'no reasons'}); {_effects(s)}")
        if s.error:
            lines.append(f"    error: {shorten(s.error, 110)}")
        if s.fix:
            lines.append(f"    fix:   {shorten(s.fix, 110)}")
        for note in s.notifications:
            lines.append(f"    customer notified [{note['severity'] or '-'}]: {note['subject']}")
        for failure in s.failures:
            lines.append(f"    NOT AS EXPECTED: {failure}")
    if run.incidents:
        lines += ["", "Incidents (byok env incidents acme-prod):"]
        lines += [f"  {i}. {_incident(x)}" for i, x in enumerate(run.incidents, 1)]
    lines += [
        "",
        f"{ok}/{len(run.steps)} steps as expected; set-up {run.setup_ms / 1000:.1f} s, "
        f"total {run.total_ms / 1000:.1f} s",
    ]
    if picture is not None:
        lines.append(f"timeline: {picture}")
    return "\n".join(lines)


def as_json(run: DemoRun) -> list[dict[str, Any]]:
    return [s.to_dict() for s in run.steps]


def timeline(run: DemoRun, path: Path) -> Path:
    """Health after each step (coloured by status) above each step's event-to-flag time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = run.steps
    xs = [s.index for s in steps]
    levels = [STATUS_ORDER.index(s.flag) if s.flag in STATUS_ORDER else 2 for s in steps]
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.step(xs, levels, where="mid", color="#444444", linewidth=1.2, zorder=1)
    for s, x, y in zip(steps, xs, levels, strict=True):
        colour = STATUS_COLOURS.get(s.flag or "UNKNOWN", "#7f7f7f")
        top.scatter([x], [y], s=160, color=colour, edgecolor="black", zorder=2)
        if s.reasons:
            top.annotate(
                s.reasons[0],
                (x, y),
                xytext=(0, -18),
                textcoords="offset points",
                ha="center",
                fontsize=7,
            )
        if not s.ok:
            top.annotate(
                "not as expected",
                (x, y),
                xytext=(0, 12),
                textcoords="offset points",
                ha="center",
                color="#c9302c",
                fontsize=8,
            )
    top.set_yticks(range(len(STATUS_ORDER)), STATUS_ORDER)
    top.set_ylim(-0.6, len(STATUS_ORDER) - 0.4)
    top.grid(axis="y", alpha=0.3)
    top.set_title("byok-guard demo: environment health after each step")

    bars = bottom.bar(
        xs,
        [s.latency_ms for s in steps],
        color=[STATUS_COLOURS.get(s.flag or "UNKNOWN", "#7f7f7f") for s in steps],
    )
    for bar, s in zip(bars, steps, strict=True):
        bottom.annotate(
            f"{s.latency_ms:.0f}",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    bottom.set_yscale("log")  # a throttled sweep (retries with back-off) dwarfs the rest
    bottom.set_ylabel("event -> flag (ms, log)")
    bottom.set_xticks(xs, [s.step for s in steps], rotation=35, ha="right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(run: DemoRun, out_dir: Path) -> tuple[Path, Path, Path]:
    """``demo-timeline.png``, ``demo-summary.txt`` and ``demo-steps.json`` in ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    picture = timeline(run, out_dir / "demo-timeline.png")
    text = out_dir / "demo-summary.txt"
    text.write_text(summary(run, picture) + "\n")
    steps = out_dir / "demo-steps.json"
    steps.write_text(json.dumps(as_json(run), indent=2) + "\n")
    return picture, text, steps
