"""Parse a key policy (JSON text, bytes or a mapping) into a compiled :class:`Policy`.

The parser is strict because the evaluator must never guess: anything it could not evaluate
exactly (an unknown element or operator, a wrong type, a malformed value) raises
:class:`PolicyError` whose message starts with the place, e.g.
``Statement[2].Condition.StringEquals: expected an object``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from byok import bounded_json
from byok.errors import PolicyError
from byok.policy.conditions import ConditionClause, compile_clause, normalise_values, parse_operator
from byok.policy.matching import (
    ACCOUNT_ID_RE,
    UNIQUE_ID_RE,
    PrincipalSpec,
    compile_arn_patterns,
    compile_patterns,
    has_wildcard,
    split_arn,
)
from byok.policy.model import Effect, Policy, Statement
from byok.policy.variables import Template, parse_template

#: KMS key policy size limit: 32 KB (32,768 bytes), see docs/identifiers.md
MAX_POLICY_BYTES = bounded_json.KEY_POLICY_LIMIT
VERSIONS = ("2012-10-17", "2008-10-17")
TOP_LEVEL = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
ACTION_RE = re.compile(r"[A-Za-z0-9_-]+:[A-Za-z0-9_*?-]*")
_EFFECTS = {"Allow": Effect.ALLOW, "Deny": Effect.DENY}
#: the compact JSON a mapping's size is measured in (``json.dumps`` with these settings, built
#: once instead of once per parse)
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def parse_policy(source: str | bytes | Mapping[str, Any]) -> Policy:
    """Parse and compile a key policy; raises only :class:`PolicyError`."""
    try:
        document, size = _load(source)
        return _policy(document, size)
    except RecursionError:
        raise PolicyError("policy: JSON nested too deeply") from None


def _load(source: object) -> tuple[Mapping[str, Any], int]:
    if type(source) is dict or isinstance(source, Mapping):
        try:
            text = _COMPACT.encode(source)
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"policy: not JSON-serialisable ({exc})") from None
        size = _utf8_len(text)
        _check_size(size)
        return source, size
    if not isinstance(source, bytes | bytearray | str):
        raise PolicyError(
            f"policy: expected JSON text, bytes or a mapping, got {type(source).__name__}"
        )
    # the one bounded reader of untrusted JSON: size, depth, duplicates, NaN, BOM
    document = bounded_json.loads(source, limit=MAX_POLICY_BYTES, field="policy", error=PolicyError)
    size = len(source) if isinstance(source, bytes | bytearray) else _utf8_len(source)
    if not isinstance(document, dict):
        raise PolicyError(f"policy: expected a JSON object, got {_kind(document)}")
    return document, size


def _utf8_len(text: str) -> int:
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise PolicyError("policy: contains characters that are not valid UTF-8") from None


def _check_size(size: int) -> None:
    if size > MAX_POLICY_BYTES:
        raise PolicyError(
            f"policy: {size} bytes, over the {MAX_POLICY_BYTES}-byte (32 KB) key policy limit"
        )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {
        dict: "an object",
        list: "a list",
        tuple: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)


def _policy(document: Mapping[str, Any], size: int) -> Policy:
    for key in document:
        if key not in TOP_LEVEL:
            raise PolicyError(f"policy: unknown element {key!r} (expected Version, Id, Statement)")
    version = document.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicyError(f"Version: expected '2012-10-17' or '2008-10-17', got {version!r}")
    policy_id = document.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicyError(f"Id: expected a string, got {_kind(policy_id)}")
    if "Statement" not in document:
        raise PolicyError("Statement: missing (a policy needs at least one statement)")
    raw_statements = document["Statement"]
    if type(raw_statements) is dict or isinstance(raw_statements, Mapping):
        items: list[tuple[str, Any]] = [("Statement", raw_statements)]
    elif isinstance(raw_statements, list | tuple):
        items = [(f"Statement[{i}]", st) for i, st in enumerate(raw_statements)]
    else:
        raise PolicyError(
            f"Statement: expected an object or a list of objects, got {_kind(raw_statements)}"
        )
    variables = version == "2012-10-17"  # policy variables exist only in this version
    statements = tuple(_statement(i, path, raw, variables) for i, (path, raw) in enumerate(items))
    return Policy(version, policy_id, statements, document, size)


def _statement(index: int, path: str, raw: object, variables: bool) -> Statement:
    if type(raw) is not dict and not isinstance(raw, Mapping):  # a dict skips the ABC check
        raise PolicyError(f"{path}: expected an object, got {_kind(raw)}")
    for key in raw:
        if key not in STATEMENT_ELEMENTS:
            raise PolicyError(f"{path}: unknown element {key!r}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicyError(f"{path}.Sid: expected a string, got {_kind(sid)}")
    if "Effect" not in raw:
        raise PolicyError(f"{path}.Effect: missing (expected 'Allow' or 'Deny')")
    effect_raw = raw["Effect"]
    if effect_raw not in ("Allow", "Deny"):
        raise PolicyError(f"{path}.Effect: expected 'Allow' or 'Deny', got {effect_raw!r}")
    effect = _EFFECTS[effect_raw]

    principal_key = _exactly_one(raw, path, "Principal", "NotPrincipal")
    spec = _principal(raw[principal_key], f"{path}.{principal_key}")
    action_key = _exactly_one(raw, path, "Action", "NotAction")
    actions = _strings(raw[action_key], f"{path}.{action_key}")
    for i, action in enumerate(actions):
        if action != "*" and not ACTION_RE.fullmatch(action):
            where = _item(f"{path}.{action_key}", raw[action_key], i)
            raise PolicyError(f"{where}: expected 'service:Action' or '*', got {action!r}")
    resource_key = _exactly_one(raw, path, "Resource", "NotResource")
    resources = _strings(raw[resource_key], f"{path}.{resource_key}")
    static, templates = _resource_patterns(
        resources, raw[resource_key], f"{path}.{resource_key}", variables
    )
    conditions = _conditions(raw.get("Condition"), f"{path}.Condition", variables)
    return Statement(
        index=index,
        sid=sid,
        effect=effect,
        principal=spec if principal_key == "Principal" else None,
        not_principal=spec if principal_key == "NotPrincipal" else None,
        actions=actions,
        not_action=action_key == "NotAction",
        resources=resources,
        not_resource=resource_key == "NotResource",
        conditions=conditions,
        raw=raw,
        _action_test=compile_patterns(actions, ignore_case=True),
        _resource_test=compile_arn_patterns(static),
        _resource_templates=templates,
        _resource_star=any(not r.strip("*") for r in static),  # made of '*' only (non-empty)
    )


def _resource_patterns(
    resources: tuple[str, ...], element: object, path: str, variables: bool
) -> tuple[tuple[str, ...], tuple[Template, ...]]:
    """Split patterns into static ones and templates (variables only after the fifth colon)."""
    if not variables:
        return resources, ()
    static: list[str] = []
    templates: list[Template] = []
    for i, pattern in enumerate(resources):
        where = _item(path, element, i)
        template = parse_template(pattern, where, wildcards=True)
        if template is None:
            static.append(pattern)
            continue
        parts = split_arn(pattern)
        if parts is None or any("${" in part for part in parts[:5]):
            raise PolicyError(
                f"{where}: policy variables are allowed only in the resource part of an ARN "
                f"(after the fifth colon), got {pattern!r}"
            )
        templates.append(template)
    return tuple(static), tuple(templates)


def _item(path: str, element: object, index: int) -> str:
    """The place of the index-th value of an element that is a string or a list."""
    return path if isinstance(element, str) else f"{path}[{index}]"


def _exactly_one(raw: Mapping[str, Any], path: str, name: str, negated: str) -> str:
    if name in raw and negated in raw:
        raise PolicyError(f"{path}: has both {name} and {negated} (use one)")
    if name in raw:
        return name
    if negated in raw:
        return negated
    raise PolicyError(f"{path}.{name}: missing (a key policy statement needs {name} or {negated})")


def _strings(value: object, path: str) -> tuple[str, ...]:
    """A string or a non-empty list of non-empty strings."""
    if isinstance(value, str):
        if not value:
            raise PolicyError(f"{path}: expected a non-empty string")
        return (value,)
    if isinstance(value, list | tuple):
        if not value:
            raise PolicyError(f"{path}: expected a string or a non-empty list of strings")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise PolicyError(f"{path}[{i}]: expected a non-empty string, got {_kind(item)}")
        return tuple(value)
    raise PolicyError(f"{path}: expected a string or a list of strings, got {_kind(value)}")


#: ``"Principal": "*"``: immutable, raw text included, so one instance serves every statement
_EVERYONE = PrincipalSpec(
    True, frozenset(), frozenset(), frozenset(), frozenset(), True, frozenset(), (), "*"
)


def _principal(value: object, path: str) -> PrincipalSpec:
    if value == "*":
        return _EVERYONE
    if type(value) is not dict and not isinstance(value, Mapping):
        raise PolicyError(
            f'{path}: expected "*" or an object such as {{"AWS": [...]}}, got {_kind(value)}'
        )
    if not value:
        raise PolicyError(
            f"{path}: expected at least one of AWS, Service, Federated or CanonicalUser"
        )
    everyone = False
    any_service = False
    accounts: set[str] = set()
    arns: set[str] = set()
    roles: set[tuple[str, str]] = set()
    services: set[str] = set()
    others: set[str] = set()
    unique_ids: list[str] = []
    for kind, entries in value.items():
        if kind not in PRINCIPAL_TYPES:
            raise PolicyError(
                f"{path}: unknown principal type {kind!r} (expected AWS, Service, Federated or "
                "CanonicalUser)"
            )
        names = _strings(entries, f"{path}.{kind}")
        for i, name in enumerate(names):
            where = _item(f"{path}.{kind}", entries, i)
            if kind == "AWS":
                if name == "*":
                    # {"AWS": "*"} is documented as equivalent to "*" in resource policies.
                    everyone = True
                    any_service = True
                    continue
                _aws_principal(name, where, accounts, arns, roles, unique_ids)
            elif kind == "Service":
                if name == "*":
                    any_service = True
                elif has_wildcard(name):
                    raise PolicyError(f"{where}: wildcards are not allowed in a service principal")
                else:
                    services.add(name.lower())
            else:
                if has_wildcard(name) and name != "*":
                    raise PolicyError(f"{where}: wildcards are not allowed in a principal")
                others.add(name)
    return PrincipalSpec(
        everyone,
        frozenset(accounts),
        frozenset(arns),
        frozenset(roles),
        frozenset(services),
        any_service,
        frozenset(others),
        tuple(unique_ids),
        value,
    )


def _aws_principal(
    name: str,
    where: str,
    accounts: set[str],
    arns: set[str],
    roles: set[tuple[str, str]],
    unique_ids: list[str],
) -> None:
    kind, value = _aws_kind(name, where)
    if kind == "account":
        accounts.add(value)  # type: ignore[arg-type]
    elif kind == "unique":
        # A deleted principal: IAM shows its unique id and it matches no current principal.
        unique_ids.append(value)  # type: ignore[arg-type]
    elif kind == "role":
        roles.add(value)  # type: ignore[arg-type]
    else:
        arns.add(value)  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _aws_kind(name: str, where: str) -> tuple[str, str | tuple[str, str]]:
    """What an AWS principal entry names: ``account`` (an id), ``unique`` (a deleted
    principal's id), ``role`` ((account, lower-case name)) or ``arn``. A pure function of the
    text (``where`` only places an error, and an error is never cached), so each distinct
    entry is classified once."""
    if ACCOUNT_ID_RE.fullmatch(name):
        return "account", name
    if UNIQUE_ID_RE.fullmatch(name):
        return "unique", name
    parts = split_arn(name)
    if parts is None or parts[0] != "arn" or parts[2] not in ("iam", "sts"):
        raise PolicyError(
            f"{where}: expected an account id, an IAM/STS principal ARN or '*', got {name!r}"
        )
    if has_wildcard(name):
        raise PolicyError(f"{where}: wildcards are not allowed in a principal ARN, got {name!r}")
    _, _, service, _, account, resource = parts
    if not ACCOUNT_ID_RE.fullmatch(account):
        raise PolicyError(f"{where}: invalid account id {account!r} in {name!r}")
    if service == "iam" and resource == "root":
        return "account", account
    if service == "iam" and resource.startswith("role/"):
        return "role", (account, resource.rsplit("/", 1)[-1].lower())
    return "arn", name


def _conditions(value: object, path: str, variables: bool) -> tuple[ConditionClause, ...]:
    if value is None:
        return ()
    if type(value) is not dict and not isinstance(value, Mapping):
        raise PolicyError(f"{path}: expected an object, got {_kind(value)}")
    clauses: list[ConditionClause] = []
    for operator_name, block in value.items():
        op_path = f"{path}.{operator_name}"
        op = parse_operator(operator_name, op_path)
        if type(block) is not dict and not isinstance(block, Mapping):
            raise PolicyError(f"{op_path}: expected an object, got {_kind(block)}")
        for key, raw_values in block.items():
            key_path = f"{op_path}.{key}"
            if not isinstance(key, str) or not key:
                raise PolicyError(f"{op_path}: expected condition key names, got {key!r}")
            values = normalise_values(raw_values, key_path)
            clauses.append(compile_clause(op, key, values, key_path, variables=variables))
    return tuple(clauses)
