"""``byok policy render | check | explain`` (DESIGN.md section 5).

Pure policy work: nothing here imports boto3, and the contract / engine modules are imported
only by the subcommand that needs them, so ``byok policy --help`` stays instant.
Exit codes: 0 success / pass / warn (``explain``: whatever the decision), 1 fail, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from byok.errors import InputError, PolicyError

_ACTION_RE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")
_ARN_RE = re.compile(r"^arn:[a-z-]+:[a-z0-9-]+:[^:]*:[^:]*:.+$")
_PURPOSES = ("s3", "aurora")
_DERIVED = ("aws:PrincipalAccount", "aws:PrincipalArn", "kms:CallerAccount")


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "policy",
        help="render, check and explain KMS key policies against the BYOK contract",
        description="Render the key policy statements of the BYOK contract, check a key policy "
        "against it, or explain one request's decision.",
    )
    sub = group.add_subparsers(dest="policy_command", metavar="SUBCOMMAND", required=True)

    render = sub.add_parser("render", help="print the statements a customer adds to a key policy")
    _add_contract_args(render)
    render.add_argument(
        "--full", action="store_true", help="a whole key policy (customer root keeps admin)"
    )
    render.add_argument(
        "--no-health-checks",
        dest="health_checks",
        action="store_false",
        help="omit the read-only health-check statement (DescribeKey, GetKeyPolicy, "
        "GetKeyRotationStatus)",
    )
    render.add_argument(
        "--administrator",
        dest="administrators",
        action="append",
        default=[],
        metavar="ARN",
        help="key administrator (IAM role/user of the customer account); repeatable; needs --full",
    )
    render.add_argument("--format", choices=("json", "text"), default="json")
    render.set_defaults(func=cmd_render)

    check = sub.add_parser("check", help="check a key policy against the BYOK contract")
    _add_policy_arg(check)
    _add_contract_args(check)
    check.add_argument("--format", choices=("json", "text"), default="text")
    check.set_defaults(func=cmd_check)

    explain = sub.add_parser("explain", help="decide one request by the key policy alone")
    _add_policy_arg(explain)
    explain.add_argument("--principal", required=True, metavar="ARN", help="caller ARN or account")
    explain.add_argument("--action", required=True, metavar="ACTION", help="e.g. kms:Decrypt")
    explain.add_argument("--resource", metavar="ARN", help="the key ARN (default: any)")
    explain.add_argument(
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="request context value; repeat a key for several values",
    )
    explain.add_argument("--format", choices=("json", "text"), default="text")
    explain.set_defaults(func=cmd_explain)


def _add_contract_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--purpose", required=True, choices=_PURPOSES)
    parser.add_argument("--key-arn", required=True, metavar="ARN")
    parser.add_argument("--platform-role-arn", required=True, metavar="ARN")


def _add_policy_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", required=True, metavar="FILE", help="key policy JSON file, or - for stdin"
    )


# --- input ---------------------------------------------------------------------------------


def read_policy_text(path: str) -> str:
    """The policy file's text; every failure becomes one InputError naming the file."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except FileNotFoundError:
        raise InputError(f"--policy: file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"--policy: is a directory, expected a JSON file: {path}") from None
    except OSError as exc:
        raise InputError(f"--policy: cannot read {path}: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"--policy {path}: not UTF-8 text") from None


def load_policy(path: str) -> Any:
    """Parse the file with the policy engine; errors name the file and the place inside it."""
    from byok.policy import parse_policy

    text = read_policy_text(path)
    try:
        json.loads(text)
    except ValueError as exc:
        raise PolicyError(
            f"--policy {path}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None
    try:
        return parse_policy(text)
    except PolicyError as exc:
        raise PolicyError(f"--policy {path}: {exc.message}") from None


def parse_context(items: list[str]) -> dict[str, str | list[str]]:
    """``KEY=VALUE`` pairs; a repeated key gives several values (a multi-valued key)."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key or ":" not in key:
            raise InputError(
                f"--context: expected KEY=VALUE with a condition key such as "
                f"'kms:ViaService=s3.eu-west-1.amazonaws.com', got {item!r}"
            )
        out.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def _validate_principal(value: str) -> str:
    if re.fullmatch(r"\d{12}", value) or value == "*":
        return value
    parts = value.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[1] and parts[2]:
        return value
    if re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com(\.cn)?", value):
        return value  # a service principal
    raise InputError(
        f"--principal: expected an ARN such as 'arn:aws:iam::444455556666:role/byok-platform' "
        f"or a 12-digit account id, got {value!r}"
    )


# --- output --------------------------------------------------------------------------------


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def _print_statements_text(policy: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"# BYOK key policy for purpose {args.purpose}")
    print(f"#   key:           {args.key_arn}")
    print(f"#   platform role: {args.platform_role_arn}")
    width = max(len(s.get("Sid", "")) for s in policy["Statement"])
    for s in policy["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        conds = [
            f"{op} {key}={val}"
            for op, kv in s.get("Condition", {}).items()
            for key, val in kv.items()
        ]
        print(f"#   {s['Sid']:<{width}}  {', '.join(actions)}")
        for c in conds:
            print(f"#   {'':<{width}}    if {c}")
    print(json.dumps(policy if args.full else policy["Statement"], indent=2))


def cmd_render(args: argparse.Namespace) -> int:
    from byok.contract import render_policy

    policy = render_policy(
        args.purpose,
        args.key_arn,
        args.platform_role_arn,
        health_checks=args.health_checks,
        full=args.full,
        administrators=args.administrators,
    )
    if args.format == "text":
        _print_statements_text(policy, args)
    else:
        _print_json(policy if args.full else policy["Statement"])
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from byok.contract import check_policy, parties

    parties(args.purpose, args.key_arn, args.platform_role_arn)  # bad ARNs before file errors
    policy = load_policy(args.policy)
    report = check_policy(policy, args.purpose, args.key_arn, args.platform_role_arn)
    if args.format == "json":
        _print_json(report.to_dict())
    else:
        sys.stdout.write(report.to_text())
    return 1 if report.verdict == "fail" else 0


def cmd_explain(args: argparse.Namespace) -> int:
    from byok.policy import Request, evaluate

    principal = _validate_principal(args.principal)
    if not _ACTION_RE.match(args.action):
        raise InputError(
            f"--action: expected SERVICE:Action such as 'kms:Decrypt', got {args.action!r}"
        )
    if args.resource is not None and not _ARN_RE.match(args.resource):
        raise InputError(
            f"--resource: expected an ARN such as a KMS key ARN, got {args.resource!r}"
        )
    context = parse_context(args.context)
    policy = load_policy(args.policy)
    evaluation = evaluate(
        policy, Request(principal, args.action, resource=args.resource, context=context)
    )
    result = evaluation.to_dict()
    if args.format == "json":
        _print_json(result)
    else:
        _print_explain_text(result, principal, args.action, context)
    return 0


def _print_explain_text(
    result: dict[str, Any], principal: str, action: str, context: dict[str, Any]
) -> None:
    print(f"decision:  {str(result['decision']).upper()}")
    print(f"request:   {principal} {action}")
    for key, value in context.items():
        print(f"           {key} = {value}")
    derived = [k for k in _DERIVED if k.lower() not in {c.lower() for c in context}]
    if derived:
        print(f"           ({', '.join(derived)} derived from the principal)")
    statements = result.get("statements") or []
    if not statements:
        print("statements: none matched (no statement allows this request)")
        return
    print("statements:")
    for s in statements:
        label = s.get("label") or s.get("sid") or f"Statement[{s.get('index')}]"
        extra = " (delegated to the account's IAM policies)" if s.get("delegated") else ""
        print(f"  {str(s.get('effect', '')).upper():<6} {label}{extra}")
