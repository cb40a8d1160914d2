"""``byok env register | list | show | validate | incidents | update | deregister``: the registry
from a shell (docs/operations.md).

Tables come from ``--environments-table`` / ``--audit-table``, else ``ENVIRONMENTS_TABLE`` /
``AUDIT_TABLE``, else ``byok-environments`` / ``byok-audit``; boto3 honours
``AWS_ENDPOINT_URL``, which is how the demo and the tests point this at moto server.
Validation goes through ``byok.service.validate_environment`` (imported only when a subcommand
needs it), the same code path the Lambda functions use, so a CLI check and an event-driven check
can never disagree. Exit codes: 0 success (and a healthy / at-risk validation), 1 failure
(key unusable, unknown, an AWS error), 2 bad input naming the field, including a registration
that would give a key, cluster, bucket or id already claimed to a second environment.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from byok.errors import ByokError, InputError
from byok.identifiers import RoleArn, validate_environment_id, validate_table_name
from byok.models import Environment, HealthStatus
from byok.registration import check_platform_role
from byok.times import to_wire

DEFAULT_ENVIRONMENTS_TABLE = "byok-environments"
DEFAULT_AUDIT_TABLE = "byok-audit"

#: validation results that make `validate` exit 1
_FAILING = (HealthStatus.KEY_UNUSABLE, HealthStatus.UNKNOWN)

#: register flag -> Environment field
_REGISTER_FIELDS = (
    ("--environment-id", "environment_id", "ID", "environment id (lower case, digits, '-')"),
    ("--customer-account", "customer_account", "ACCOUNT", "customer AWS account id"),
    ("--region", "region", "REGION", "region of the environment and of both keys"),
    ("--s3-key-arn", "s3_key_arn", "ARN", "KMS key ARN for S3 SSE-KMS"),
    ("--aurora-key-arn", "aurora_key_arn", "ARN", "KMS key ARN for Aurora storage"),
    ("--bucket", "bucket", "NAME", "the environment's S3 bucket"),
    ("--cluster-id", "cluster_id", "ID", "the environment's Aurora cluster identifier"),
)


#: the fields ``update`` may change (byok.store.base.MUTABLE_FIELDS, known without importing it)
_MUTABLE = ("s3_key_arn", "aurora_key_arn", "bucket", "cluster_id")


def register(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser(
        "env",
        help="register, list, show, validate, update and deregister environments",
        description="The registry of environments (one customer deployment and its two keys).",
    )
    sub = group.add_subparsers(dest="env_command", metavar="SUBCOMMAND", required=True)

    reg = sub.add_parser("register", help="register an environment and run a first validation")
    for flag, dest, metavar, text in _REGISTER_FIELDS:
        reg.add_argument(flag, dest=dest, required=True, metavar=metavar, help=text)
    reg.add_argument(
        "--no-validate", dest="validate", action="store_false", help="skip the first validation"
    )
    _common(reg)
    _validation_args(reg)
    reg.set_defaults(func=cmd_register)

    lst = sub.add_parser("list", help="list registered environments and their health")
    _common(lst)
    lst.set_defaults(func=cmd_list)

    _one_env(sub, "show", cmd_show, help="show an environment and its current health flag")
    val = _one_env(
        sub, "validate", cmd_validate, help="validate an environment now and update its flag"
    )
    _validation_args(val)
    _one_env(sub, "incidents", cmd_incidents, help="open and past incidents of an environment")

    upd = sub.add_parser(
        "update",
        help="change an environment's keys, bucket or cluster and validate it again",
        description="Change the fields that may change (keys, bucket, cluster; the id, account "
        "and region are the environment's identity): the claims move in one transaction, then "
        "the environment is validated again.",
    )
    upd.add_argument("environment_id", metavar="ENV", help="environment id")
    for flag, dest, metavar, text in _REGISTER_FIELDS:
        if dest in _MUTABLE:
            upd.add_argument(flag, dest=dest, metavar=metavar, help=f"new {text}")
    upd.add_argument(
        "--no-validate",
        dest="validate",
        action="store_false",
        help="skip the validation (the flag keeps judging the old values until the next one)",
    )
    _common(upd)
    _validation_args(upd)
    upd.set_defaults(func=cmd_update)

    _one_env(
        sub,
        "deregister",
        cmd_deregister,
        help="remove an environment, release its keys, cluster and bucket (the audit trail stays)",
    )


def _one_env(
    sub: argparse._SubParsersAction, name: str, func: Callable[[argparse.Namespace], int], **kw: str
) -> argparse.ArgumentParser:
    """A subcommand on one environment (``byok env NAME ENV``) with the common options."""
    parser = sub.add_parser(name, **kw)
    parser.add_argument("environment_id", metavar="ENV", help="environment id")
    _common(parser)
    parser.set_defaults(func=func)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=("json", "text"), default="text", help="output format (default text)"
    )
    parser.add_argument(
        "--environments-table",
        metavar="NAME",
        help=f"environments table (env ENVIRONMENTS_TABLE, default {DEFAULT_ENVIRONMENTS_TABLE})",
    )
    parser.add_argument(
        "--audit-table",
        metavar="NAME",
        help=f"audit table (env AUDIT_TABLE, default {DEFAULT_AUDIT_TABLE})",
    )


def _validation_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--platform-role-arn",
        metavar="ARN",
        help="role the checks assume (env PLATFORM_ROLE_ARN)",
    )


def _platform_role(args: argparse.Namespace) -> str | None:
    """``--platform-role-arn`` validated (checked before anything is written)."""
    value = getattr(args, "platform_role_arn", None)
    return str(RoleArn.parse(value, "platform_role_arn")) if value is not None else None


def _tables(args: argparse.Namespace) -> tuple[str, str]:
    """The two table names, validated (a bad name is bad input, not an AWS error)."""
    environments = (
        args.environments_table
        or os.environ.get("ENVIRONMENTS_TABLE")
        or DEFAULT_ENVIRONMENTS_TABLE
    )
    audit = args.audit_table or os.environ.get("AUDIT_TABLE") or DEFAULT_AUDIT_TABLE
    return (
        validate_table_name(environments, "environments_table"),
        validate_table_name(audit, "audit_table"),
    )


def _store(args: argparse.Namespace) -> Any:
    from byok.store import Store

    return Store(*_tables(args))


# ---- commands ------------------------------------------------------------------------------


def _validate_into(
    result: dict[str, Any], args: argparse.Namespace, env: Environment, command: str, what: str
) -> None:
    """Validate ``env`` into ``result["validation"]``. What was written stays written, so a
    check that does not complete is a warning on stderr and ``result["validation_error"]``."""
    try:
        result["validation"] = _validate(args, env, command)
    except ByokError as exc:
        print(f"byok: warning: {what} not completed: {exc.message}", file=sys.stderr)
        result["validation_error"] = exc.to_dict()


def cmd_register(args: argparse.Namespace) -> int:
    from byok.store.records import RegisteredRecord

    env = Environment.create(**{dest: getattr(args, dest) for _, dest, _, _ in _REGISTER_FIELDS})
    role = _platform_role(args) or os.environ.get("PLATFORM_ROLE_ARN")
    check_platform_role(env, role)  # before anything is written
    store = _store(args)
    store.register(env)
    store.append_audit(env.environment_id, RegisteredRecord(environment=env.to_dict()))
    result: dict[str, Any] = {"registered": env.to_dict(), "validation": None}
    if args.validate:
        _validate_into(result, args, env, "byok env register", "first validation")
    if args.format == "json":
        _print_json(result)
    else:
        print(f"registered {env.environment_id}")
        _print_env_text(env)
        if result["validation"] is not None:
            _print_flag_text(result["validation"]["health"])
    if not args.validate:
        return 0
    # like `env validate`: registered, but a key unusable (or no verdict) is a failure
    health = (result["validation"] or {}).get("health")
    return 1 if health is None or HealthStatus(health["status"]) in _FAILING else 0


def cmd_update(args: argparse.Namespace) -> int:
    """Exit 0 updated (or nothing to change), 1 conflict / failed re-validation, 2 bad input."""
    from byok.store.records import UpdatedRecord

    env_id = validate_environment_id(args.environment_id)
    given = {f: getattr(args, f) for f in _MUTABLE if getattr(args, f) is not None}
    if not given:
        flags = ", ".join(flag for flag, dest, _, _ in _REGISTER_FIELDS if dest in _MUTABLE)
        raise InputError(f"update: nothing to change; give at least one of {flags}")
    role = _platform_role(args) or os.environ.get("PLATFORM_ROLE_ARN")
    store = _store(args)
    current = store.get_environment(env_id)
    new = Environment.create(**{**current.to_dict(), **given})  # every field re-validated
    changes = {
        f: (getattr(current, f), getattr(new, f))
        for f in _MUTABLE
        if getattr(current, f) != getattr(new, f)
    }
    result: dict[str, Any] = {
        "environment": new.to_dict(),
        "changes": {f: {"from": old, "to": to} for f, (old, to) in changes.items()},
        "validation": None,
    }
    if changes:
        if args.validate:
            check_platform_role(new, role)  # before anything is written
        store.update(current, new)
        store.append_audit(env_id, UpdatedRecord(changes=changes))
        if args.validate:
            _validate_into(result, args, new, "byok env update", "validation")
    if args.format == "json":
        _print_json(result)
    else:
        if not changes:
            print(f"{env_id}: nothing changed (the values given are the current ones)")
        for name, (old, to) in changes.items():
            print(f"updated {name:<15} {old} -> {to}")
        if result["validation"] is not None:
            _print_flag_text(result["validation"]["health"])
    if "validation_error" in result:
        return 1  # updated, but no verdict on the new values (as register)
    return _exit_for(result["validation"])


def cmd_deregister(args: argparse.Namespace) -> int:
    """Exit 0 deregistered, 1 not registered (or the store failed), 2 bad input."""
    from byok.store.records import DeregisteredRecord

    env_id = validate_environment_id(args.environment_id)
    store = _store(args)
    env = store.get_environment(env_id)
    store.deregister(env_id)
    store.append_audit(env_id, DeregisteredRecord(environment=env.to_dict()))
    released = [
        env.s3_key_arn,
        env.aurora_key_arn,
        f"cluster {env.cluster_id} in {env.region}",
        f"bucket {env.bucket}",
    ]
    if args.format == "json":
        _print_json({"deregistered": env.to_dict(), "released": released})
    else:
        print(f"deregistered {env_id}; released:")
        for item in released:
            print(f"  {item}")
        print(f"the audit trail stays: byok env incidents {env_id}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = []
    for env in store.list_environments():
        flag = store.get_flag(env.environment_id)
        rows.append({**env.to_dict(), "status": flag.status.value if flag else None})
    if args.format == "json":
        _print_json(rows)
    else:
        if not rows:
            print("no environments registered")
        for row in rows:
            print(
                f"{row['environment_id']:<24} {row['customer_account']} {row['region']:<14} "
                f"{row['status'] or 'NOT_CHECKED'}"
            )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = _store(args)
    env = store.get_environment(validate_environment_id(args.environment_id))
    flag = store.get_flag(env.environment_id)
    health = flag.to_dict() if flag else None
    if args.format == "json":
        _print_json({"environment": env.to_dict(), "health": health})
    else:
        _print_env_text(env)
        _print_flag_text(health)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    _platform_role(args)
    env = _store(args).get_environment(validate_environment_id(args.environment_id))
    result = _validate(args, env, "byok env validate")
    if args.format == "json":
        _print_json(result)
    else:
        _print_flag_text(result["health"])
    return _exit_for(result)


def _exit_for(validation: dict[str, Any] | None) -> int:
    """1 when a validation ran and left the environment unusable or unknown, else 0."""
    if validation is None:
        return 0
    health = validation["health"]
    return 1 if health is None or HealthStatus(health["status"]) in _FAILING else 0


def cmd_incidents(args: argparse.Namespace) -> int:
    """Incidents rebuilt from the audit trail (kept after deregistration, so no registry read)."""
    from byok.remediation.executor import incident_report

    env_id = validate_environment_id(args.environment_id)
    report = incident_report(_store(args), env_id)
    if args.format == "json":
        _print_json(report)
        return 0
    if not report:
        print(f"no incidents recorded for {env_id}")
    for incident in report:
        state = "OPEN" if incident["open"] else f"closed {incident['closed_at']}"
        print(f"{incident['opened_at']}  {state}  ({incident['duration']})")
        print(f"  statuses  {' -> '.join(incident['statuses'])}")
        print(f"  reasons   {', '.join(incident['reasons']) or '-'}")
        for action in incident["actions"]:
            print(f"  action    {action.get('action')}: {action.get('result')}")
    return 0


# ---- validation through byok.service ---------------------------------------------------------


def _validate(args: argparse.Namespace, env: Environment, event_name: str) -> dict[str, Any]:
    """Run one validation the way the Lambda functions do; return its outcome and the flag.

    The flag is read back from the store after the run: it is the authoritative result (a
    concurrent newer validation may have won the conditional write).
    """
    try:
        service = importlib.import_module("byok.service")
    except ImportError as exc:
        raise ByokError(
            f"validate: the validation service (byok.service) is not available: {exc}",
            code="SERVICE_UNAVAILABLE",
        ) from None
    environments_table, audit_table = _tables(args)
    environ = {
        **os.environ,
        "ENVIRONMENTS_TABLE": environments_table,  # Deps reads the same tables as the CLI
        "AUDIT_TABLE": audit_table,
    }
    role = _platform_role(args)
    if role:
        environ["PLATFORM_ROLE_ARN"] = role
    from byok.events.triggers import manual_trigger

    trigger = manual_trigger(
        environment_id=env.environment_id,
        reason=event_name,
        event_name=event_name,
        account=env.customer_account,
        region=env.region,
    )
    deps = service.Deps.from_environment(environ)
    outcome = service.validate_environment(env.environment_id, trigger, deps)
    flag = _store(args).get_flag(env.environment_id)
    return {"outcome": _jsonable(outcome), "health": flag.to_dict() if flag else None}


def _jsonable(value: Any) -> Any:
    """Outcome objects belong to byok.service; render whatever shape they have as JSON."""
    if hasattr(value, "to_dict"):
        return _jsonable(value.to_dict())
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return to_wire(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


# ---- output --------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def _print_env_text(env: Environment) -> None:
    print(f"environment       {env.environment_id}")
    print(f"customer account  {env.customer_account}")
    print(f"region            {env.region}")
    print(f"s3 key            {env.s3_key_arn}")
    print(f"aurora key        {env.aurora_key_arn}")
    print(f"bucket            {env.bucket}")
    print(f"aurora cluster    {env.cluster_id}")


def _print_flag_text(health: dict[str, Any] | None) -> None:
    if health is None:
        print("health            NOT_CHECKED (no validation has completed yet)")
        return
    print(f"health            {health['status']} since {health['since']}")
    print(f"checked at        {health['checked_at']}")
    for label, key in (("reason", "reasons"), ("fix", "fixes"), ("error", "errors")):
        for item in health.get(key) or []:
            print(f"{label:<17} {item}")
    if health.get("transient_failures"):
        print(
            f"transient errors  {health['transient_failures']} since "
            f"{health['first_transient_at']} (last: {health['last_transient_error']})"
        )
