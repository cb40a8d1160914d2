"""``byok events parse FILE``: show the trigger byok-guard derives from an event file.

The same ``byok.events.normalise`` the ``key_events`` function runs, so an operator can check
what a captured event (or a sample in ``events/``) would make byok-guard re-validate, and why an
event would be skipped, without deploying anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from byok.errors import EventError, InputError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser("events", help="inspect incoming events")
    sub = group.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    parse = sub.add_parser(
        "parse",
        help="normalise an event file into a trigger",
        description="Print the trigger (kind, key ARN, account, region, event name/time/id, "
        "evidence) derived from an EventBridge event. Exit 2 for a malformed event.",
    )
    parse.add_argument("file", metavar="FILE", help="event JSON file, or '-' for stdin")
    parse.add_argument("--format", choices=("json", "text"), default="json")
    parse.set_defaults(func=_parse)


def _parse(args: argparse.Namespace) -> int:
    from byok.events import is_ignorable, normalise

    event = _load(args.file)
    reason = is_ignorable(event)
    result = normalise(event).to_dict()
    if reason is not None:
        result["ignored"] = reason
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(_as_text(result))
    return 0


def _load(path: str) -> Any:
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
    except FileNotFoundError:
        raise InputError(f"FILE: no such file {path!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"FILE: cannot read {name}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None


def _as_text(result: dict[str, Any]) -> str:
    """One ``name: value`` line per field; multi-line evidence (a policy) folded onto its line."""
    lines = [
        f"{name}: {'-' if value is None else value}"
        for name, value in result.items()
        if name != "evidence"
    ]
    for name, value in result.get("evidence", {}).items():
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"evidence.{name}: {' '.join(shown.split())}")
    return "\n".join(lines)
