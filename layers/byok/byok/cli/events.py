"""``byok events parse FILE``: show the trigger byok-guard derives from an event file.

The same ``byok.events.normalise`` the ``key_events`` function runs, so an operator can check
what a captured event (or a sample in ``events/``) would make byok-guard re-validate, and why an
event would be skipped, without deploying anything.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from byok import bounded_json
from byok.errors import EventError


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
    parse.add_argument(
        "--format", choices=("json", "text"), default="json", help="output format (default json)"
    )
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
    """At most 256 KB + 1 byte (an EventBridge event's limit), parsed by the same bounded
    reader as key policies (``byok.bounded_json``)."""
    return bounded_json.read_json(
        path, limit=bounded_json.EVENT_LIMIT, field="FILE", error=EventError
    )


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
