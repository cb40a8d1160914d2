"""Write the generated blocks of customer/byok-keys.yaml from their single sources of truth.

Why: the key policies in the customer template must be exactly what
``byok.contract.render_policy(..., full=True)`` renders (the same text ``byok policy render
--full`` prints), and the inline code of the deletion guard and the policy reporter must be
exactly customer/deletion_guard.py and customer/policy_reporter.py (tested as Python). Nobody
edits those blocks by hand; ``--check`` (and
tests/customer/test_generate.py) fails when the committed template has drifted.

How the policies become CloudFormation: the contract is rendered with *sentinel* inputs (an
account id, a region, a role name nobody uses) for every combination of the template's choices
(health-check statement on/off; no, one or several key administrators). Sentinels are then
replaced by ``Fn::Sub`` variables (``${AWS::AccountId}``, ``${PlatformAccountId}``...), and the
statements that differ between combinations become ``Fn::If`` fragments spliced into one JSON
string. The KeyPolicy is a JSON *string* (through ``Fn::Sub``) because moto mishandles a
KeyPolicy given as an object; AWS accepts both.

The ``AllowedPattern`` of the parameters that carry an identifier (environment id, platform
account, platform region, platform role name) is written from ``byok.identifiers`` too, so the
stack accepts exactly what the platform accepts: one grammar, ASCII ``[0-9]`` digits only.

Usage: ``python -m customer.generate`` (rewrite) or ``python -m customer.generate --check``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from byok import identifiers
from byok.contract import render_policy
from byok.models import Purpose

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "customer" / "byok-keys.yaml"
GUARD_SOURCE = ROOT / "customer" / "deletion_guard.py"
REPORTER_SOURCE = ROOT / "customer" / "policy_reporter.py"
ZIPFILE_LIMIT = 4096  # CloudFormation's limit for inline Lambda code (characters)

# Sentinel inputs: values that cannot occur in a real rendering, each replaced by a variable.
S_CUSTOMER = "100000000001"
S_PLATFORM = "200000000002"
S_REGION = "zz-sentinel-9"
S_ROLE = "byok-sentinel-platform-role"
S_KEY_ID = "00000000-0000-4000-8000-00000000beef"
S_ADMINS = (
    f"arn:aws:iam::{S_CUSTOMER}:role/byok-sentinel-admin-1",
    f"arn:aws:iam::{S_CUSTOMER}:role/byok-sentinel-admin-2",
)
SENTINELS = (S_CUSTOMER, S_PLATFORM, S_REGION, S_ROLE, S_KEY_ID, "byok-sentinel")
_ADMIN_ONE = "\x00admin-one\x00"
_ADMIN_MANY = "\x00admin-many\x00"

# Template condition names (defined by hand in the template's Conditions section).
COND_HEALTH = "HealthChecks"
COND_HAS_ADMINS = "HasKeyAdministrators"
COND_ONE_ADMIN = "OneKeyAdministrator"
ADMIN_CHOICES = ("none", "one", "many")
HEALTH_CHOICES = (True, False)
# The one Fn::Sub variable that is not a parameter or pseudo parameter: the administrators as a
# JSON principal value, a string for one administrator and a list for several (as the contract
# renders them). Joining the list with and without commas gives the same text iff it has one entry.
ADMIN_VAR = "KeyAdministratorPrincipals"
ADMIN_VAR_NODE = (
    "!If",
    f"  - {COND_ONE_ADMIN}",
    "  - !Join ['', ['\"', !Join ['', !Ref KeyAdministratorArns], '\"']]",
    "  - !Join ['', ['[\"', !Join ['\", \"', !Ref KeyAdministratorArns], '\"]']]",
)

MARKER_RE = re.compile(
    r"^(?P<indent>[ ]*)# >>> generated: (?P<name>[\w -]+?)\n.*?^(?P=indent)# <<< generated: "
    r"(?P=name)\n",
    re.MULTILINE | re.DOTALL,
)


class GenerationError(Exception):
    """The contract rendered something the template cannot express (fix the generator)."""


def platform_role_arn(account: str, role_name: str, partition: str = "aws") -> str:
    """The platform role ARN the template builds from PlatformAccountId and PlatformRoleName,
    checked by the one identifier grammar."""
    return str(identifiers.RoleArn.parse(f"arn:{partition}:iam::{account}:role/{role_name}"))


_NAME = identifiers.IAM_NAME_CHARS
#: parameter -> its AllowedPattern, from byok.identifiers (CloudFormation matches Java regexes)
PARAMETER_PATTERNS: dict[str, str] = {
    "EnvironmentId": f"^{identifiers.ENV_ID_RE.pattern}$",
    "PlatformAccountId": f"^{identifiers.ACCOUNT_RE.pattern}$",
    "PlatformRegion": f"^{identifiers.REGION_RE.pattern}$",
    "PlatformRoleName": f"^(?:{_NAME}+/)*{_NAME}{{1,64}}$",
}
_PARAMETER_RE = re.compile(
    r"^(?P<head>  (?P<name>\w+):\n(?:    (?!AllowedPattern:).*\n)*?    AllowedPattern: ).*$",
    re.MULTILINE,
)


def with_parameter_patterns(text: str) -> str:
    """``text`` with the AllowedPattern of each parameter of ``PARAMETER_PATTERNS`` rewritten."""
    found: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        name = m.group("name")
        if name not in PARAMETER_PATTERNS:
            return m.group(0)
        found.add(name)
        return m.group("head") + "'" + PARAMETER_PATTERNS[name].replace("'", "''") + "'"

    out = _PARAMETER_RE.sub(replace, text)
    missing = set(PARAMETER_PATTERNS) - found
    if missing:
        raise GenerationError(f"template lacks AllowedPattern for parameter(s): {sorted(missing)}")
    return out


def _admins(choice: str) -> tuple[str, ...]:
    return {"none": (), "one": S_ADMINS[:1], "many": S_ADMINS}[choice]


def _substitute(node: Any) -> Any:
    """Replace sentinels in a rendered statement by Fn::Sub variables (data level, not text)."""
    if isinstance(node, dict):
        for key in node:
            if any(s in key for s in SENTINELS) or "${" in key:
                raise GenerationError(f"sentinel or '${{' in a policy key: {key!r}")
        return {k: _substitute(v) for k, v in node.items()}
    if isinstance(node, list):
        if tuple(node) == S_ADMINS:
            return _ADMIN_MANY
        return [_substitute(v) for v in node]
    if not isinstance(node, str):
        return node
    if node == S_ADMINS[0]:
        return _ADMIN_ONE
    if S_KEY_ID in node:
        raise GenerationError(f"the key's own id appears in its policy: {node!r}")
    text = node.replace("${", "${!")  # a literal '${' (IAM policy variable) stays literal
    if text.startswith("arn:aws:"):
        text = "arn:${AWS::Partition}:" + text[len("arn:aws:") :]
    text = (
        text.replace(S_CUSTOMER, "${AWS::AccountId}")
        .replace(S_PLATFORM, "${PlatformAccountId}")
        .replace(S_REGION, "${AWS::Region}")
        .replace(S_ROLE, "${PlatformRoleName}")
    )
    if any(s in text for s in SENTINELS):
        raise GenerationError(f"unresolved sentinel in {node!r}")
    return text


def _statement_text(statement: dict[str, Any], indent: int) -> str:
    text = json.dumps(_substitute(statement), indent=2)
    for marker in (_ADMIN_ONE, _ADMIN_MANY):
        text = text.replace(json.dumps(marker), "${" + ADMIN_VAR + "}")
    if "\x00" in text:
        raise GenerationError("administrator sentinel in an unexpected position")
    pad = " " * indent
    return "\n".join(pad + line for line in text.splitlines())


@dataclass(frozen=True)
class _Variant:
    health: bool
    admins: str
    statements: tuple[dict[str, Any], ...]


def _variants(purpose: Purpose) -> tuple[list[_Variant], dict[str, Any]]:
    key_arn = f"arn:aws:kms:{S_REGION}:{S_CUSTOMER}:key/{S_KEY_ID}"
    role = platform_role_arn(S_PLATFORM, S_ROLE)
    out: list[_Variant] = []
    header: dict[str, Any] | None = None
    for admins in ADMIN_CHOICES:
        for health in HEALTH_CHOICES:
            policy = render_policy(
                purpose,
                key_arn,
                role,
                full=True,
                health_checks=health,
                administrators=_admins(admins),
            )
            top = {k: v for k, v in policy.items() if k != "Statement"}
            if header is not None and top != header:
                raise GenerationError("policy top-level fields differ between variants")
            header = top
            out.append(_Variant(health, admins, tuple(policy["Statement"])))
    assert header is not None
    return out, header


def _sid(statement: dict[str, Any]) -> str:
    sid = statement.get("Sid")
    if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9]+", sid):
        raise GenerationError(f"every rendered statement needs an alphanumeric Sid: {statement}")
    return sid


def _merged_order(variants: Sequence[_Variant]) -> list[str]:
    """One statement order that every variant follows (each is a subsequence of it)."""
    order: list[str] = []
    for v in variants:
        previous = -1
        for sid in (_sid(s) for s in v.statements):
            if sid in order:
                previous = order.index(sid)
            else:
                previous += 1
                order.insert(previous, sid)
    for v in variants:
        positions = [order.index(_sid(s)) for s in v.statements]
        if positions != sorted(positions):
            raise GenerationError(f"statement order differs between variants: {order}")
    return order


def _fragment(text: str | None, indent: int) -> list[str]:
    """One Fn::If branch as a YAML node: '' when the statement is absent, else ',' + the
    statement (through Fn::Sub when it has variables). Line 0 is the inline part; the other
    lines are indented by ``indent`` (the node's children)."""
    pad = " " * indent
    if text is None:
        return ['""']
    lines = (",\n" + text).splitlines()
    if "${" + ADMIN_VAR + "}" in text:
        out = ["!Sub", f"{pad}- |"] + [f"{pad}  {line}".rstrip() for line in lines]
        out.append(f"{pad}- {ADMIN_VAR}: {ADMIN_VAR_NODE[0]}")
        return out + [f"{pad}  {line}" for line in ADMIN_VAR_NODE[1:]]
    tag = "!Sub |" if "${" in text else "|"
    return [tag] + [f"{pad}{line}".rstrip() for line in lines]


def _if(cond: str, branches: Callable[[int], Sequence[list[str]]], indent: int) -> list[str]:
    """``!If [cond, a, b]`` as a YAML node; ``branches(child_indent)`` renders a and b."""
    pad = " " * indent
    out = ["!If", f"{pad}- {cond}"]
    for branch in branches(indent + 2):
        out.append(f"{pad}- {branch[0]}")
        out += branch[1:]
    return out


def _choice_tree(get: Callable[[bool, str], str | None], indent: int) -> list[str]:
    """Fn::If tree choosing a statement's text (or nothing) for each template choice."""
    by_health = {h: {a: get(h, a) for a in ADMIN_CHOICES} for h in HEALTH_CHOICES}
    depends_on_admins = any(len(set(by_health[h].values())) > 1 for h in HEALTH_CHOICES)
    depends_on_health = by_health[True] != by_health[False]

    def admin_tree(h: bool, ind: int) -> list[str]:
        none, one, many = (by_health[h][a] for a in ADMIN_CHOICES)

        def some(ci: int) -> list[str]:
            if one == many:
                return _fragment(one, ci)
            return _if(COND_ONE_ADMIN, lambda c: [_fragment(one, c), _fragment(many, c)], ci)

        return _if(COND_HAS_ADMINS, lambda c: [some(c), _fragment(none, c)], ind)

    if not depends_on_admins:
        return _if(
            COND_HEALTH,
            lambda c: [_fragment(by_health[h]["none"], c) for h in HEALTH_CHOICES],
            indent,
        )
    if not depends_on_health:
        return admin_tree(True, indent)
    return _if(COND_HEALTH, lambda c: [admin_tree(h, c) for h in HEALTH_CHOICES], indent)


def key_policy_block(purpose: Purpose) -> list[str]:
    """The YAML lines of ``KeyPolicy:`` for one key (relative indentation 0)."""
    variants, header = _variants(purpose)
    order = _merged_order(variants)
    table: dict[str, dict[tuple[bool, str], str | None]] = {sid: {} for sid in order}
    for v in variants:
        present = {_sid(s): s for s in v.statements}
        for sid in order:
            st = present.get(sid)
            table[sid][(v.health, v.admins)] = None if st is None else _statement_text(st, 4)

    body: list[str] = ["{"]
    body += [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in header.items()]
    body.append('  "Statement": [')
    conditional: dict[str, dict[tuple[bool, str], str | None]] = {}
    first = True
    for sid in order:
        texts = set(table[sid].values())
        if len(texts) == 1 and None not in texts:
            if not first:
                body[-1] += ","
            body.append(texts.pop())
            first = False
        else:
            if first:
                raise GenerationError(f"the first statement ({sid}) must be unconditional")
            body[-1] += "${" + sid + "}"
            conditional[sid] = table[sid]
    body += ["  ]", "}"]

    lines = ["KeyPolicy: !Sub", "  - |"]
    lines += [f"    {line}".rstrip() for line in "\n".join(body).splitlines()]
    for i, (sid, options) in enumerate(conditional.items()):
        node = _choice_tree(lambda h, a, o=options: o[(h, a)], 6)
        lines.append(f"{'  - ' if i == 0 else '    '}{sid}: {node[0]}")
        lines += node[1:]
    return lines


def inline_code_block(source: Path) -> list[str]:
    """``ZipFile:`` with a customer function's source inlined (checked against the limit)."""
    code = source.read_text()
    if len(code) > ZIPFILE_LIMIT:
        raise GenerationError(
            f"{source.name}: {len(code)} characters, inline code allows {ZIPFILE_LIMIT}"
        )
    return ["ZipFile: |"] + [f"  {line}".rstrip() for line in code.splitlines()]


def guard_code_block() -> list[str]:
    """``ZipFile:`` with customer/deletion_guard.py inlined."""
    return inline_code_block(GUARD_SOURCE)


def blocks() -> dict[str, list[str]]:
    out = {f"key-policy {p.value}": key_policy_block(p) for p in Purpose}
    out["deletion-guard-code"] = guard_code_block()
    out["policy-reporter-code"] = inline_code_block(REPORTER_SOURCE)
    return out


def render_template(text: str) -> str:
    """The template text with every generated block rewritten."""
    wanted = blocks()
    found: set[str] = set()

    def replace(m: re.Match[str]) -> str:
        name, indent = m.group("name"), m.group("indent")
        if name not in wanted:
            raise GenerationError(f"unknown generated block {name!r}")
        found.add(name)
        inner = [indent + line if line else "" for line in wanted[name]]
        return "\n".join(
            [f"{indent}# >>> generated: {name}", *inner, f"{indent}# <<< generated: {name}", ""]
        )

    out = MARKER_RE.sub(replace, text)
    missing = set(wanted) - found
    if missing:
        raise GenerationError(f"template lacks generated block(s): {sorted(missing)}")
    return with_parameter_patterns(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m customer.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the template has drifted")
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    args = parser.parse_args(argv)
    current = args.template.read_text()
    fresh = render_template(current)
    if args.check:
        if fresh != current:
            print(f"{args.template}: generated blocks are stale; run python -m customer.generate",
                  file=sys.stderr)  # fmt: skip
            return 1
        print(f"{args.template}: up to date")
        return 0
    if fresh != current:
        args.template.write_text(fresh)
        print(f"{args.template}: rewritten")
    else:
        print(f"{args.template}: already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
