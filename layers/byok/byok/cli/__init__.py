"""The ``byok`` command.

Each command group lives in its own module (``policy``, ``env``, ``events``, ``demo``...) exposing
``register(subparsers)``; this module only wires them and turns errors into exit codes:
0 success / pass / warn, 1 fail, 2 bad input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from byok import __version__
from byok.errors import ByokError

#: command groups, imported lazily so `byok policy ...` never pays for boto3
GROUPS: dict[str, str] = {
    "policy": "byok.cli.policy",
    "events": "byok.cli.events",
    "env": "byok.cli.env",
    "demo": "byok.cli.demo",
    "emulator": "byok.cli.emulator",
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors with exit code 2 and no traceback (as argparse does)."""


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="byok", description="byok-guard: keep BYOK KMS keys healthy")
    parser.add_argument(
        "--version", action="version", version=f"byok {__version__}", help="print the version"
    )
    sub = parser.add_subparsers(dest="group", metavar="COMMAND", required=True)
    wanted = argv[0] if argv and argv[0] in GROUPS else None
    for name, module_name in GROUPS.items():
        if wanted is not None and name != wanted:
            # register a placeholder so `byok --help` still lists every group
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # group not built yet
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
    try:
        return int(args.func(args) or 0)
    except ByokError as exc:
        print(f"byok: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print("byok: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
