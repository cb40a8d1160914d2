"""``byok emulator start | customer``: a local platform to try ``byok env`` on (docs/operations.md).

``start`` runs the embedded AWS (moto + ``byok_emulator``) on 127.0.0.1 with the platform side
and a sample customer's key stack, prints the variables to export, and serves until Ctrl-C (or
SIGTERM). ``customer`` plays the sample customer's KMS calls against it. The emulator is a dev
dependency and never part of the Lambda layer, so it is imported only when a command runs.
Exit codes: 0 success (and a clean stop on Ctrl-C), 2 bad input or no emulator installed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from byok.errors import ByokError, InputError

DEFAULT_PORT = 4566


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "emulator",
        help="a local platform on an embedded AWS emulator, to try `byok env` on",
        description="The embedded AWS (moto + byok_emulator) on 127.0.0.1 with the platform "
        "side and a sample customer. See docs/operations.md.",
    )
    sub = group.add_subparsers(dest="emulator_command", metavar="SUBCOMMAND", required=True)

    start = sub.add_parser(
        "start",
        help="start the emulator with the platform side and a sample customer (Ctrl-C stops)",
        description="Start moto's server on 127.0.0.1 with byok_emulator, deploy the platform "
        "side of template.yaml and a sample customer's customer/byok-keys.yaml, print the "
        "environment variables to export, and serve until Ctrl-C.",
    )
    start.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free port)",
    )
    start.add_argument(
        "--env-file",
        metavar="FILE",
        help="also write the export lines to FILE once ready (removed on stop)",
    )
    start.add_argument(
        "--log",
        metavar="FILE",
        default=os.devnull,
        help="write the emulator's and functions' logs to FILE (default: discard)",
    )
    start.set_defaults(func=cmd_start)

    customer = sub.add_parser(
        "customer",
        help="act as the sample customer on a running emulator (disable or enable a key)",
        description="Call KMS as the sample customer account on the emulator that "
        "AWS_ENDPOINT_URL names (127.0.0.1 only): what the customer does that byok-guard "
        "must notice.",
    )
    customer.add_argument(
        "action", choices=("disable-key", "enable-key"), help="the customer's KMS call"
    )
    customer.add_argument(
        "--purpose", required=True, choices=("s3", "aurora"), help="which of the customer's keys"
    )
    customer.set_defaults(func=cmd_customer)


def _local() -> ModuleType:
    try:
        from byok_emulator import local
    except ImportError as exc:
        raise InputError(
            f"emulator: byok_emulator and its dev dependencies are not installed ({exc}); "
            "run `make venv` in a byok-guard checkout (it installs the dev extras)"
        ) from None
    return local


def export_lines(exports: dict[str, str]) -> list[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in exports.items()]


def cmd_start(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise InputError(f"port: expected 0..65535, got {args.port}")
    local = _local()
    env_file = Path(args.env_file) if args.env_file else None
    stop = threading.Event()
    # Ctrl-C and SIGTERM stop it, also when started in the background of a script (where
    # SIGINT starts out ignored)
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open(args.log, "a") as log:
            try:
                platform = local.start(args.port, log)
            except OSError as exc:
                raise InputError(f"port: cannot listen on 127.0.0.1:{args.port} ({exc})") from None
            try:
                _announce(platform, env_file)
                while not stop.wait(0.5):
                    pass
            finally:
                platform.stop()
                if env_file is not None:
                    env_file.unlink(missing_ok=True)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("byok emulator: stopped", file=sys.stderr, flush=True)
    return 0


def _announce(platform: Any, env_file: Path | None) -> None:
    lines = export_lines(platform.exports)
    print("\n".join(platform.describe()))
    print()
    print("In another shell (emulator-only credentials, not valid on AWS):")
    print("\n".join(lines), flush=True)
    if env_file is not None:
        partial = env_file.with_name(env_file.name + ".tmp")
        partial.write_text("\n".join(lines) + "\n")
        partial.replace(env_file)  # appears complete, once the platform is ready


def cmd_customer(args: argparse.Namespace) -> int:
    local = _local()
    from byok.aws.errors import AWS_ERRORS

    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    try:
        key_arn = local.customer_key_action(args.action, args.purpose, endpoint)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    except AWS_ERRORS as exc:
        raise ByokError(
            f"emulator: {args.action} on {endpoint} failed ({exc}); is `byok emulator start` "
            "running?"
        ) from None
    call = local.CUSTOMER_ACTIONS[args.action]
    print(f"customer {key_arn.split(':')[4]}: {call} {key_arn}")
    return 0
