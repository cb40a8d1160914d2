"""``byok demo``: byok-guard end to end on an embedded AWS (moto + byok_emulator), no account.

The machinery lives outside the Lambda layer (``byok_emulator.demo``, needs the dev extras): it
starts the emulator, deploys ``customer/byok-keys.yaml`` into a customer account and the platform
side into a platform account, then plays scenarios by making the customer's KMS calls and
delivering the resulting events to the functions of ``template.yaml`` through their rules.

Output (``--format text``): the set-up lines, then the table, a row per step as it finishes,
then each step's details and the incidents, within 100 columns. ``--format json``: the same
progress on stderr and only the JSON list of steps on stdout. Files in ``--out``:
``demo-timeline.png``, ``demo-summary.txt``, ``demo-steps.json``, ``lambda-logs.jsonl``.
Exit codes: 0 every step as expected, 1 otherwise, 2 bad input (unknown scenario).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from byok.errors import InputError, quote

#: kept in step with byok_emulator.demo.SCENARIO_NAMES (tested): known without importing moto
SCENARIO_NAMES = (
    "onboarding",
    "s3-key-disabled",
    "aurora-policy-drift",
    "aurora-key-deletion",
    "throttling-storm",
    "lost-events",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run byok-guard end to end on an embedded AWS emulator",
        description=(
            "Deploy the customer key stack and the platform app on an embedded AWS (moto), "
            "then break and fix the customer's keys and show byok-guard's flags, "
            "notifications and recovery. See docs/demo.md."
        ),
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        help=f"run onboarding plus this scenario only (one of: {', '.join(SCENARIO_NAMES)})",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: table and per-step details; json: only the steps (docs/schemas/demo.json)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="demo-out",
        help="directory for demo-timeline.png, demo-summary.txt, demo-steps.json (demo-out)",
    )
    parser.set_defaults(func=run)


def _output_dir(value: str) -> Path:
    """``--out`` as a directory that exists (created) and is writable, checked before the demo
    starts: an existing file, or a path that cannot be created, is bad input (exit 2)."""
    out = Path(value)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out: {quote(value)} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"--out: cannot create {quote(value)}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise InputError(f"--out: directory {quote(value)} is not writable")
    return out


def run(args: argparse.Namespace) -> int:
    if args.scenario is not None and args.scenario not in SCENARIO_NAMES:
        raise InputError(
            f"--scenario: expected one of {', '.join(SCENARIO_NAMES)}, got {quote(args.scenario)}"
        )
    out = _output_dir(args.out)
    try:
        from byok_emulator.demo import report
        from byok_emulator.demo import run as run_demo
    except ImportError as exc:
        raise InputError(
            f"demo: the emulator and its dev dependencies are not installed ({exc}); "
            "run `make venv` (pip install -e '.[dev]')"
        ) from None
    # text: the table IS the progress (a row per finished step, never printed twice); json:
    # the same lines on stderr, so stdout holds only the JSON
    live = sys.stdout if args.format == "text" else sys.stderr
    rows = 0

    def say(line: str) -> None:
        print(line, file=live, flush=True)

    def on_step(step: Any) -> None:
        nonlocal rows
        if rows == 0:
            say("")
            say(report.HEADER)
            say(report.RULE)
        rows += 1
        say(report.row(step))

    if args.format == "text":
        say(report.TITLE)
    with (out / "lambda-logs.jsonl").open("w") as log:
        result = run_demo(args.scenario, log=log, progress=say, on_step=on_step)
    picture, text, _ = report.write(result, out)
    if args.format == "json":
        print(json.dumps(report.as_json(result), indent=2))
    else:
        print(report.after_table(result, picture))
        print(f"summary: {text}")
    return 0 if result.ok else 1
