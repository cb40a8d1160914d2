"""What the demo shows: the table, the per-step details, the timeline picture, the JSON.

Text is laid out for a 100-column terminal: the table holds only what fits whole (a step's
reasons are listed while they fit, then ``+N more``), everything long (the event, the routing,
every reason, the error, the fix, the notifications) goes to the step's details, wrapped at
spaces, a fix command continued with ``\\`` so that it still pastes into a shell. The table
rows are printed as the steps finish (``row``) and are not repeated afterwards; the summary file
holds the whole text (``summary``). The picture (``demo-timeline.png``) draws one column per
step and a lane each for the flag, every reason, writes, the Aurora cluster and the customer's
notifications, over each step's event-to-flag time on a linear axis. Matplotlib runs with the
Agg backend (no display needed).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

from .runner import ACCOUNTS_LINE, DemoRun, StepResult, emulator_line

WIDTH = 100
STATUS_ORDER = ("HEALTHY", "AT_RISK", "UNKNOWN", "KEY_UNUSABLE")
STATUS_COLOURS = {
    "HEALTHY": "#2e9d57",
    "AT_RISK": "#e0a100",
    "UNKNOWN": "#7f7f7f",
    "KEY_UNUSABLE": "#c9302c",
}
SEVERITY_COLOURS = {"critical": "#c9302c", "warning": "#e0a100", "info": "#3574b5"}
STEP_WIDTH = 26
REASONS_WIDTH = 32  # the longest reason code (CLUSTER_INACCESSIBLE_RECOVERABLE)
LABEL_INDENT = 4
LABEL_WIDTH = 9  # "notified " and the other labels of the details


def _columns(index: str, step: str, flag: str, reasons: str, writes: str, ms: str, ok: str) -> str:
    return (
        f"{index:>2}  {step:<{STEP_WIDTH}}  {flag:<12}  {reasons:<{REASONS_WIDTH}}  "
        f"{writes:<6}  {ms:>7}  {ok}"
    )


HEADER = _columns("#", "step", "flag", "reasons", "writes", "ms", "ok")
RULE = "-" * len(HEADER)


def fit_codes(codes: list[str], width: int = REASONS_WIDTH) -> str:
    """As many whole codes as fit in ``width``, then ``+N more`` (never a code cut in two)."""
    if not codes:
        return "-"
    shown: list[str] = []
    for i, code in enumerate(codes):
        rest = len(codes) - i - 1
        candidate = ", ".join([*shown, code])
        suffix = f" +{rest} more" if rest else ""
        if len(candidate) + len(suffix) <= width:
            shown.append(code)
            continue
        break
    hidden = len(codes) - len(shown)
    if not shown:  # a code longer than the column: count them, the details list them
        return f"{len(codes)} reason{'s' if len(codes) > 1 else ''} (details)"
    return ", ".join(shown) + (f" +{hidden} more" if hidden else "")


def row(s: StepResult) -> str:
    """One table row, as printed when the step finishes."""
    return _columns(
        str(s.index),
        s.step,
        s.flag or "-",
        fit_codes(s.reasons),
        "paused" if s.writes_paused else "on",
        f"{s.latency_ms:.1f}",
        "yes" if s.ok else "NO",
    )


def table(run: DemoRun) -> str:
    return "\n".join([HEADER, RULE, *(row(s) for s in run.steps)])


def _wrap(label: str, text: str) -> list[str]:
    """``label`` then ``text`` wrapped at spaces within WIDTH (continuation lines indented)."""
    first = " " * LABEL_INDENT + f"{label:<{LABEL_WIDTH}}"
    rest = " " * len(first)
    lines: list[str] = []
    for n, paragraph in enumerate(text.splitlines() or [""]):
        lines += textwrap.wrap(
            paragraph,
            WIDTH,
            initial_indent=first if n == 0 else rest,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [first.rstrip()]
    return lines


def _command(label: str, command: str) -> list[str]:
    """A shell command over several lines, each but the last ending in `` \\`` (still pastes)."""
    first = " " * LABEL_INDENT + f"{label:<{LABEL_WIDTH}}"
    rest = " " * (len(first) + 2)
    lines: list[str] = []
    current, empty = first, True
    for token in command.split():
        joined = current + token if empty else f"{current} {token}"
        if not empty and (len(joined) + 2 > WIDTH or token == "&&"):  # `&&` starts a line
            lines.append(current + " \\")
            current = rest + token
        else:
            current = joined
        empty = False
    lines.append(current)
    return lines


def _fix(text: str) -> list[str]:
    """A command as a pasteable command; a policy fix as its first line and the statements'
    ids (the statements in full are in demo-steps.json and ``byok env show``)."""
    if text.startswith("aws ") and "\n" not in text:
        return _command("fix", text)
    head, _, body = text.partition("\n")
    try:
        sids = [str(st.get("Sid")) for st in json.loads(body)] if body else []
    except (ValueError, AttributeError):
        sids = []
    if sids:
        return _wrap("fix", f"{head} {', '.join(sids)} (in full: demo-steps.json)")
    return _wrap("fix", text)


def _effects(s: StepResult) -> str:
    parts = [f"writes {'paused' if s.writes_paused else 'on'}", f"cluster {s.cluster_status}"]
    if s.remediation:
        parts.append("remediation: " + ", ".join(s.remediation))
    return "; ".join(parts)


def details(s: StepResult) -> list[str]:
    """Everything about one step, within WIDTH columns."""
    lines = [f"{s.index:>2}. {s.step}: {s.title}"]
    lines += _wrap("event", s.event)
    lines += _wrap("routed", ", ".join(s.routed) or "nothing routed")
    lines += _wrap("flag", f"{s.flag}: {', '.join(s.reasons) or 'no reasons'}")
    lines += _wrap("effects", _effects(s))
    if s.facts:
        lines += _wrap("facts", "; ".join(f"{k} {v}" for k, v in s.facts.items()))
    if s.error:
        lines += _wrap("error", s.error)
    if s.fix:
        lines += _fix(s.fix)
    for note in s.notifications:
        lines += _wrap("notified", f"[{note['severity'] or '-'}] {note['subject']}")
    for failure in s.failures:
        lines += _wrap("NOT OK", failure)
    return lines


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


TITLE = "byok-guard demo: customer 111122223333 (customer/byok-keys.yaml) and platform 444455556666"


def intro(endpoint_url: str) -> list[str]:
    return [TITLE, emulator_line(endpoint_url), ACCOUNTS_LINE]


def after_table(run: DemoRun, picture: Path | None) -> str:
    """What follows the table: the details of every step, the incidents, the totals."""
    ok = sum(1 for s in run.steps if s.ok)
    lines = ["", "What happened at each step:"]
    for s in run.steps:
        lines += details(s)
    if run.incidents:
        lines += ["", "Incidents (byok env incidents acme-prod):"]
        for i, incident in enumerate(run.incidents, 1):
            lines += textwrap.wrap(
                _incident(incident),
                WIDTH,
                initial_indent=f"{i:>3}. ",
                subsequent_indent=" " * 7,
                break_long_words=False,
                break_on_hyphens=False,
            )
    lines += [
        "",
        f"health changes -> {run.remediation_via} (the template's rule)",
        f"{ok}/{len(run.steps)} steps as expected; set-up {run.setup_ms / 1000:.1f} s, "
        f"total {run.total_ms / 1000:.1f} s",
    ]
    if picture is not None:
        lines.append(f"timeline: {picture}")
    return "\n".join(lines)


def summary(run: DemoRun, picture: Path | None) -> str:
    """The whole text (``demo-summary.txt``): intro, table, details, incidents, totals."""
    return "\n".join([*intro(run.endpoint_url), "", table(run), after_table(run, picture)])


def as_json(run: DemoRun) -> list[dict[str, Any]]:
    return [s.to_dict() for s in run.steps]


# ---- the picture -----------------------------------------------------------------------------


def _split_code(code: str, width: int = 18) -> str:
    """A reason code on lines of at most ``width``, broken only after an underscore."""
    lines, current = [], ""
    for part in code.split("_"):
        piece = part if not current else f"_{part}"
        if current and len(current) + len(piece) > width:
            lines.append(current + "_")
            current = part
        else:
            current += piece
    return "\n".join([*lines, current])


def _cluster_label(status: str) -> tuple[str, str]:
    """A short label and a colour for an Aurora cluster status."""
    if status == "available":
        return "available", "#2e9d57"
    if status.startswith("inaccessible-encryption-credentials"):
        recoverable = status.endswith("-recoverable")
        return ("no key access\n(recoverable)" if recoverable else "no key access"), "#c9302c"
    if status in ("starting", "stopping", "backing-up", "modifying"):
        return status, "#e0a100"
    return status, "#7f7f7f"


LANES = ("health flag", "reasons (all)", "writes", "Aurora cluster", "customer notified")
LANE_HEIGHTS = {"reasons (all)": 1.7, "customer notified": 1.3}
PAUSED = {"facecolor": "#f6d5d4", "edgecolor": "#c9302c", "hatch": "///", "linewidth": 0.8}


def timeline(run: DemoRun, path: Path) -> Path:
    """One column per step: the flag, every reason, writes, the cluster and the customer's
    notifications as lanes, over the event-to-flag time (linear) of each step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    steps = run.steps
    n = len(steps)
    fig = plt.figure(figsize=(15, 9.2))
    grid = fig.add_gridspec(2, 1, height_ratios=[3.2, 1.5], hspace=0.08, left=0.1, right=0.99)
    lanes, times = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])

    # lanes: y grows downwards, each lane's height from LANE_HEIGHTS
    tops: dict[str, tuple[float, float]] = {}
    y = 0.0
    for lane in LANES:
        h = LANE_HEIGHTS.get(lane, 1.0)
        tops[lane] = (y, h)
        y += h
    lanes.set_xlim(0.5, n + 0.5)
    lanes.set_ylim(y, 0)
    lanes.set_yticks([t + h / 2 for t, h in tops.values()], list(LANES), fontsize=10)
    lanes.tick_params(axis="y", length=0)
    lanes.xaxis.tick_top()
    lanes.set_xticks(
        range(1, n + 1),
        [f"{s.index}\n{s.step.replace('-', '-' + chr(10), 1)}" for s in steps],
        fontsize=8.5,
    )
    for spine in lanes.spines.values():
        spine.set_visible(False)

    def cell(x: int, lane: str, colour: str, **kw: Any) -> tuple[float, float]:
        top, h = tops[lane]
        lanes.add_patch(Rectangle((x - 0.46, top + 0.06), 0.92, h - 0.12, color=colour, **kw))
        return top, h

    def lanes_cell_writes(x: int, paused: bool) -> tuple[float, float]:
        top, h = tops["writes"]
        style = PAUSED if paused else {"facecolor": "#dff0e5", "edgecolor": "none"}
        lanes.add_patch(Rectangle((x - 0.46, top + 0.06), 0.92, h - 0.12, **style))
        return top, h

    for s in steps:
        x = s.index
        flag = s.flag or "UNKNOWN"
        top, h = cell(x, "health flag", STATUS_COLOURS.get(flag, "#7f7f7f"))
        lanes.text(x, top + h / 2, flag, ha="center", va="center", color="white",
                   fontsize=8.5, fontweight="bold")  # fmt: skip
        top, h = cell(x, "reasons (all)", "#f2f2f2")
        text = "\n\n".join(_split_code(r) for r in s.reasons) or "-"
        lanes.text(x, top + h / 2, text, ha="center", va="center", fontsize=7.6,
                   linespacing=1.1, family="monospace")  # fmt: skip
        paused = s.writes_paused
        top, h = lanes_cell_writes(x, paused)
        lanes.text(x, top + h / 2, "paused" if paused else "on", ha="center", va="center",
                   fontsize=8.5, fontweight="bold" if paused else "normal",
                   color="#8a1f1c" if paused else "#1d6b3a")  # fmt: skip
        label, colour = _cluster_label(s.cluster_status)
        top, h = cell(x, "Aurora cluster", colour, alpha=0.25)
        lanes.text(x, top + h / 2, label, ha="center", va="center", fontsize=7.5)
        top, h = cell(x, "customer notified", "#f7f7f7")
        notes = s.notifications
        if not notes:
            lanes.text(x, top + h / 2, "-", ha="center", va="center", fontsize=8, color="#777777")
        for i, note in enumerate(notes[:3]):
            ny = top + h * (i + 1) / (min(len(notes), 3) + 1)
            severity = note.get("severity") or "info"
            lanes.scatter([x - 0.3], [ny], s=42, marker="s",
                          color=SEVERITY_COLOURS.get(severity, "#777777"))  # fmt: skip
            lanes.text(x - 0.2, ny, severity, va="center", fontsize=7.5)
        if not s.ok:
            lanes.add_patch(Rectangle((x - 0.5, 0), 1, y, fill=False, ec="#c9302c", lw=2.5))
            lanes.text(x, y - 0.05, "NOT AS EXPECTED", ha="center", va="bottom",
                       color="#c9302c", fontsize=7, fontweight="bold")  # fmt: skip

    fig.suptitle(
        "byok-guard demo: what each step did to environment acme-prod (steps left to right)",
        fontsize=13,
        y=0.985,
    )

    # event -> flag time, linear: the throttled sweep is as long as it looks
    ms = [s.latency_ms for s in steps]
    bars = times.bar(
        [s.index for s in steps],
        ms,
        width=0.6,
        color=[STATUS_COLOURS.get(s.flag or "UNKNOWN", "#7f7f7f") for s in steps],
    )
    for bar, s in zip(bars, steps, strict=True):
        times.annotate(
            f"{s.latency_ms:,.0f} ms",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            fontsize=8,
        )
    times.set_xlim(0.5, n + 0.5)
    times.set_ylim(0, max(ms, default=1) * 1.22)
    times.set_xticks(range(1, n + 1), [str(s.index) for s in steps], fontsize=9)
    slowest = max(steps, key=lambda s: s.latency_ms, default=None)
    if slowest is not None and slowest.facts.get("throttled_calls"):
        times.annotate(
            f"{slowest.facts['throttled_calls']} KMS calls throttled:\nretries with back-off",
            (slowest.index, slowest.latency_ms / 2),
            xytext=(-62, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=8,
            arrowprops={"arrowstyle": "->", "color": "#555555"},
        )
    times.set_xlabel("step")
    times.set_ylabel("event -> flag (ms)")
    times.set_title(
        "time from the step's last event to the flag written (linear scale)", fontsize=9.5
    )
    times.grid(axis="y", alpha=0.3)
    times.spines[["top", "right"]].set_visible(False)

    handles = [Patch(color=STATUS_COLOURS[s], label=f"flag {s}") for s in STATUS_ORDER]
    handles += [
        Patch(**PAUSED, label="writes paused"),
        Patch(facecolor="#2e9d57", alpha=0.25, label="cluster available"),
        Patch(facecolor="#c9302c", alpha=0.25, label="cluster without key access"),
    ]
    handles += [
        plt.Line2D([], [], marker="s", ls="", color=c, label=f"notification: {sev}")
        for sev, c in SEVERITY_COLOURS.items()
    ]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=9, frameon=True,
               title="legend (bars take the colour of the flag they led to)",
               title_fontsize=9)  # fmt: skip
    fig.subplots_adjust(top=0.86, bottom=0.15)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
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
