"""``byok policy render | check | explain`` (docs/architecture.md section 5).

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

from byok import bounded_json
from byok.errors import InputError, PolicyError, quote
from byok.identifiers import ACCOUNT_RE, validate_arn

_ACTION_RE = re.compile(r"[A-Za-z0-9-]+:[A-Za-z0-9*?]+", re.ASCII)
_CONTEXT_KEY_RE = re.compile(r"[A-Za-z0-9-]+:[\x21-\x3c\x3e-\x7e]+", re.ASCII)
_SERVICE_PRINCIPAL_RE = re.compile(r"[a-z0-9.-]+\.amazonaws\.com(?:\.cn)?", re.ASCII)
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
    render.add_argument(
        "--format", choices=("json", "text"), default="json", help="output format (default json)"
    )
    render.set_defaults(func=cmd_render)

    check = sub.add_parser("check", help="check a key policy against the BYOK contract")
    _add_policy_arg(check)
    _add_contract_args(check)
    check.add_argument(
        "--identity-policy",
        action="append",
        default=[],
        metavar="FILE",
        help="an identity-based policy of the platform role (repeatable): both halves decide",
    )
    check.add_argument(
        "--format", choices=("json", "text"), default="text", help="output format (default text)"
    )
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
    explain.add_argument(
        "--format", choices=("json", "text"), default="text", help="output format (default text)"
    )
    explain.set_defaults(func=cmd_explain)


def _add_contract_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--purpose",
        required=True,
        choices=_PURPOSES,
        help="which key: S3 SSE-KMS or Aurora storage",
    )
    parser.add_argument("--key-arn", required=True, metavar="ARN", help="the customer key's ARN")
    parser.add_argument(
        "--platform-role-arn",
        required=True,
        metavar="ARN",
        help="the platform role the policy must let use the key",
    )


def _add_policy_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy", required=True, metavar="FILE", help="key policy JSON file, or - for stdin"
    )


# --- input ---------------------------------------------------------------------------------


def load_policy(path: str) -> Any:
    """Read at most 32 KB + 1 byte of ``path`` (``-``: stdin) and parse it with the policy
    engine (through ``byok.bounded_json``); errors name the file and the place inside it."""
    from byok.policy import parse_policy

    data = bounded_json.read_bytes(
        path, limit=bounded_json.KEY_POLICY_LIMIT, field="--policy", error=PolicyError
    )
    try:
        return parse_policy(data)
    except PolicyError as exc:
        raise PolicyError(f"--policy {quote(path)}: {exc.message}") from None


def parse_context(items: list[str]) -> dict[str, str | list[str]]:
    """``KEY=VALUE`` pairs; a repeated key gives several values (a multi-valued key)."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not _CONTEXT_KEY_RE.fullmatch(key):
            raise InputError(
                f"--context: expected KEY=VALUE with a condition key such as "
                f'"kms:ViaService=s3.eu-west-1.amazonaws.com", got {quote(item)}'
            )
        out.setdefault(key, []).append(value)
    return {k: v[0] if len(v) == 1 else v for k, v in out.items()}


def _validate_principal(value: str) -> str:
    """A caller: ``*``, a 12-digit account id, a service principal or an ARN (role, user,
    assumed-role session... each by its grammar in ``byok.identifiers``)."""
    if value == "*" or ACCOUNT_RE.fullmatch(value) or _SERVICE_PRINCIPAL_RE.fullmatch(value):
        return value
    if value.startswith("arn:"):
        return validate_arn(value, "--principal")
    raise InputError(
        '--principal: expected an ARN such as "arn:aws:iam::444455556666:role/byok-platform", '
        f"a 12-digit account id or a service principal, got {quote(value)}"
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
    identity = _identity_check(args, policy) if args.identity_policy else None
    verdict = report.verdict
    if identity is not None and identity.status.value == "fail":
        verdict = "fail"
    if args.format == "json":
        data = report.to_dict()
        if identity is not None:
            data.update(verdict=verdict, identity=identity.to_dict())
        _print_json(data)
    else:
        text = report.to_text()
        if identity is not None:
            from byok.contract.identity import identity_text

            text = text.replace(
                f"verdict: {report.verdict.upper()}", f"verdict: {verdict.upper()}", 1
            )
            text += identity_text(identity)
        sys.stdout.write(text)
    return 1 if verdict == "fail" else 0


def _identity_check(args: argparse.Namespace, policy: Any) -> Any:
    """The platform role's half, from ``--identity-policy`` files (errors name the file)."""
    from byok.contract.identity import check_identity
    from byok.policy.handshake import identity_from_texts

    texts = []
    for path in args.identity_policy:
        data = bounded_json.read_bytes(
            path, limit=bounded_json.KEY_POLICY_LIMIT, field="--identity-policy", error=PolicyError
        )
        try:
            texts.append((path, data.decode("utf-8-sig")))
        except UnicodeDecodeError:
            raise PolicyError(f"--identity-policy {quote(path)}: not UTF-8 text") from None
    try:
        identity = identity_from_texts(texts, args.platform_role_arn)
    except PolicyError as exc:
        raise PolicyError(f"--identity-policy {exc.message}") from None
    return check_identity(policy, identity, args.purpose, args.key_arn, args.platform_role_arn)


def cmd_explain(args: argparse.Namespace) -> int:
    from byok.policy import Request, evaluate

    principal = _validate_principal(args.principal)
    if not _ACTION_RE.fullmatch(args.action):
        raise InputError(
            f'--action: expected SERVICE:Action such as "kms:Decrypt", got {quote(args.action)}'
        )
    resource = None if args.resource is None else validate_arn(args.resource, "--resource")
    context = parse_context(args.context)
    policy = load_policy(args.policy)
    evaluation = evaluate(
        policy, Request(principal, args.action, resource=resource, context=context)
    )
    result = evaluation.to_dict()
    cross = _cross_account(evaluation, principal, resource)
    if cross is not None:
        result["cross_account"] = cross
    if args.format == "json":
        _print_json(result)
    else:
        _print_explain_text(result, principal, args.action, context)
    return 0


def _cross_account(evaluation: Any, principal: str, resource: str | None) -> dict[str, str] | None:
    """An allow for a caller of another account than the key's: IAM also needs the caller's own
    account to allow it (IAM User Guide, "Cross-account policy evaluation logic"), whether the
    key policy names the account (delegated) or the principal itself."""
    from byok.policy.matching import parse_caller, split_arn

    parts = split_arn(resource) if resource else None
    caller = parse_caller(principal).account
    if not evaluation.allowed or parts is None or not parts[4] or caller is None:
        return None
    if caller == parts[4]:
        return None
    return {"caller_account": caller, "resource_account": parts[4]}


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
    cross = result.get("cross_account")
    if cross:
        print(
            f"cross-account: the caller's account {cross['caller_account']} is not the key's "
            f"({cross['resource_account']}); its own IAM policies must also allow this request"
        )
