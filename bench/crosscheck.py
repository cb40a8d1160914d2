"""Cross-check byok's evaluator against a second, independent IAM simulator.

``make crosscheck`` runs this: generated key policies and requests, plus every policy of
``bench/corpus/`` with requests around it, are decided by ``byok.policy.evaluate`` and by
``@cloud-copilot/iam-simulate`` (``tools/iam-simulate``, its own npm environment with a lock
file, installed by ``make tools-iam-simulate``), both by the key policy alone. Both get the
whole request context spelled out (the other simulator derives no key from the principal).

Every disagreement is put in a class (``CLASSES``: a predicate on the case and the verdict of
docs/policy-crosscheck.md, where each class is adjudicated with the AWS rule). The run prints
agreement figures and exits 1 if any disagreement falls in no class ("unadjudicated").

    .venv/bin/python bench/crosscheck.py [--policies 400] [--requests 30] [--seed 9]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "layers" / "byok"))

from byok.policy import Request, evaluate, parse_policy  # noqa: E402

TOOL = ROOT / "tools" / "iam-simulate"
C, P, X, Y = "111122223333", "444455556666", "555566667777", "777788889999"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{C}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE_NAME = "byok-platform"
VIA_S3 = f"s3.{REGION}.amazonaws.com"
VIA_RDS = f"rds.{REGION}.amazonaws.com"
ACTIONS = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:CreateGrant",
    "kms:ListGrants",
    "kms:DescribeKey",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
]
ACTION_PATTERNS = ["kms:*", "*", "kms:Decrypt", "kms:GenerateDataKey*", "kms:*Grant*",
                   "kms:Describe*", "kms:Put*", "kms:Encrypt*"]  # fmt: skip
PRINCIPAL_NAMES = [
    f"arn:aws:iam::{C}:root",
    f"arn:aws:iam::{P}:root",
    f"arn:aws:iam::{P}:role/{ROLE_NAME}",
    f"arn:aws:iam::{X}:role/{ROLE_NAME}",
    f"arn:aws:iam::{X}:user/u",
    f"arn:aws:sts::{P}:assumed-role/{ROLE_NAME}/s1",
    P,
    X,
]
SERVICES = ["s3.amazonaws.com", "cloudtrail.amazonaws.com"]
#: key -> (operators, values the generator writes, values requests carry)
KEYS: dict[str, tuple[list[str], list[Any], list[str]]] = {
    "aws:PrincipalTag/team": (
        ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike",
         "StringEqualsIgnoreCase", "StringEqualsIfExists", "StringNotEqualsIfExists", "Null",
         "ForAnyValue:StringEquals", "ForAllValues:StringEquals"],
        ["blue", "bl*", "${aws:PrincipalTag/dept}", "${aws:username}"],
        ["blue", "BLUE", "blux", "red"],
    ),
    "aws:PrincipalTag/dept": (["StringEquals"], ["blue"], ["blue", "red"]),
    "kms:ViaService": (
        ["StringEquals", "StringNotEquals", "StringLike", "StringEqualsIfExists", "Null"],
        [VIA_S3, VIA_RDS, "s3.*.amazonaws.com"],
        [VIA_S3, VIA_RDS, "ec2.eu-west-1.amazonaws.com"],
    ),
    "kms:GrantIsForAWSResource": (["Bool", "BoolIfExists", "Null"], [True, "false"],
                                  ["true", "false"]),
    "aws:SecureTransport": (["Bool", "BoolIfExists"], [True, False], ["true", "false"]),
    "aws:MultiFactorAuthAge": (
        ["NumericLessThan", "NumericGreaterThanEquals", "NumericLessThanIfExists",
         "NumericNotEquals"],
        [3600, "60"],
        ["0", "60", "100", "3600", "7200"],
    ),
    "aws:CurrentTime": (
        ["DateGreaterThan", "DateLessThan"],
        ["2024-01-01T00:00:00Z"],
        ["2023-06-01T00:00:00Z", "2025-06-01T00:00:00Z"],
    ),
    "aws:SourceIp": (["IpAddress", "NotIpAddress"], ["203.0.113.0/24"],
                     ["203.0.113.7", "198.51.100.1"]),
    "kms:EncryptionContext:app": (["StringEquals", "StringLike"], ["x", "x*"], ["x", "xy", "z"]),
    "kms:GrantOperations": (
        ["ForAnyValue:StringEquals", "ForAllValues:StringEquals"],
        ["Decrypt", "Encrypt"],
        ["Decrypt", "Encrypt", "CreateGrant"],
    ),
    "aws:SourceAccount": (["StringEquals", "StringNotEquals", "StringEqualsIfExists"],
                          [C, int(C), X], []),
    "aws:PrincipalAccount": (["StringEquals", "StringNotEquals", "StringLike",
                              "StringEqualsIfExists"], [C, P, int(P), "4444*"], []),
    "kms:CallerAccount": (["StringEquals", "StringNotEquals"], [C, P, int(X)], []),
    "aws:PrincipalArn": (["ArnLike", "ArnNotLike", "ArnEquals", "StringLike"],
                         [f"arn:aws:iam::{P}:role/{ROLE_NAME}", f"arn:aws:iam::*:role/{ROLE_NAME}",
                          f"arn:aws:iam::{P}:*"], []),
    "aws:PrincipalIsAWSService": (["Bool", "BoolIfExists"], [True, "false"], []),
    "aws:PrincipalServiceName": (["StringEquals", "StringLike"], [*SERVICES, "*.amazonaws.com"],
                                 []),
}  # fmt: skip
MULTI = {"kms:GrantOperations"}


def _caller_list() -> list[tuple[str, dict[str, str]]]:
    """Callers with the context keys IAM derives from them, spelled out."""
    out: list[tuple[str, dict[str, str]]] = []
    for account in (C, P, X, Y, "444400000000"):
        root = f"arn:aws:iam::{account}:root"
        user = f"arn:aws:iam::{account}:user/u"
        ident = {"aws:PrincipalAccount": account, "kms:CallerAccount": account,
                 "aws:PrincipalIsAWSService": "false"}  # fmt: skip
        out.append((root, {**ident, "aws:PrincipalArn": root}))
        out.append((user, {**ident, "aws:PrincipalArn": user, "aws:username": "u"}))
        for role in (ROLE_NAME, "other"):
            for name in ("s1", "s2"):
                out.append(
                    (
                        f"arn:aws:sts::{account}:assumed-role/{role}/{name}",
                        {**ident, "aws:PrincipalArn": f"arn:aws:iam::{account}:role/{role}"},
                    )
                )
    for service in (*SERVICES, "other.amazonaws.com"):
        for source in (None, C, X):
            ident = {"aws:PrincipalIsAWSService": "true", "aws:PrincipalServiceName": service}
            if source:
                ident["aws:SourceAccount"] = source
            out.append((service, ident))
    return out


CALLERS = _caller_list()


def _statement(rng: random.Random) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": rng.choice(["Allow", "Allow", "Deny"])}
    kind = rng.choice(["star", "aws", "aws", "service", "not"])
    if kind == "star":
        s["Principal"] = "*"
    elif kind == "service":
        s["Principal"] = {"Service": rng.choice(SERVICES)}
    else:
        names = rng.sample(PRINCIPAL_NAMES, rng.randint(1, 3))
        s["NotPrincipal" if kind == "not" else "Principal"] = {"AWS": names}
    actions = rng.sample(ACTION_PATTERNS, rng.randint(1, 2))
    s["NotAction" if rng.random() < 0.15 else "Action"] = actions
    resource = rng.choice(["*", "*", "*", KEY, f"arn:aws:kms:{REGION}:{C}:key/other", "not"])
    if resource == "not":
        s["NotResource"] = f"arn:aws:kms:{REGION}:{C}:key/other"
    else:
        s["Resource"] = resource
    condition: dict[str, dict[str, Any]] = {}
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        key = rng.choice(sorted(KEYS))
        operators, values, _ = KEYS[key]
        operator = rng.choice(operators)
        if operator == "Null":
            condition.setdefault(operator, {})[key] = rng.choice([True, "false"])
            continue
        picked = rng.sample(values, rng.randint(1, min(2, len(values))))
        condition.setdefault(operator, {})[key] = picked[0] if len(picked) == 1 else picked
    if condition:
        s["Condition"] = condition
    return s


def generated(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [
        {"Version": "2012-10-17", "Statement": [_statement(rng) for _ in range(rng.randint(1, 3))]}
        for _ in range(n)
    ]


def _keys_of(policy: dict[str, Any]) -> list[str]:
    keys: set[str] = set()
    statements = policy["Statement"]
    for s in statements if isinstance(statements, list) else [statements]:
        for block in s.get("Condition", {}).values():
            keys |= set(block)
    return sorted(keys)


def requests_for(policy: dict[str, Any], rng: random.Random, n: int) -> list[dict[str, Any]]:
    keys = [k for k in _keys_of(policy) if KEYS.get(k, ([], [], []))[2]]
    out = []
    for _ in range(n):
        principal, identity = rng.choice(CALLERS)
        context: dict[str, Any] = dict(identity)
        for key in keys:
            if rng.random() < 0.25:
                continue  # absent
            pool = KEYS[key][2]
            if key in MULTI:
                context[key] = rng.sample(pool, rng.randint(1, len(pool)))
            else:
                context[key] = rng.choice(pool)
        if "aws:PrincipalTag/team" in keys and rng.random() < 0.5:
            context.setdefault("aws:PrincipalTag/dept", rng.choice(["blue", "red"]))
        out.append({"policy": policy, "principal": principal, "action": rng.choice(ACTIONS),
                    "resource": KEY, "account": C, "context": context})  # fmt: skip
    return out


def byok_decision(case: dict[str, Any]) -> str:
    policy = parse_policy(case["policy"])
    ev = evaluate(
        policy, Request(case["principal"], case["action"], case["resource"], case["context"])
    )
    if ev.decision.value == "allow":
        return "AllowedForAccount" if ev.delegated else "Allowed"
    return "ExplicitlyDenied" if ev.decision.value == "explicit_deny" else "ImplicitlyDenied"


def other_decisions(cases: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(cases), 2000):
        batch = cases[start : start + 2000]
        done = subprocess.run(
            [node, str(TOOL / "decide.mjs")],
            input=json.dumps(batch),
            capture_output=True,
            text=True,
            cwd=TOOL,
            check=True,
            timeout=900,
        )
        out += json.loads(done.stdout)
    return out


def _normal(result: str) -> str:
    return {"NotApplicable": "ImplicitlyDenied", "DeniedForAccount": "ExplicitlyDenied"}.get(
        result, result
    )


# --- disagreement classes (adjudicated in docs/policy-crosscheck.md) ---------------------------


def _statements(case: dict[str, Any]) -> list[dict[str, Any]]:
    s = case["policy"]["Statement"]
    return s if isinstance(s, list) else [s]


def _values(case: dict[str, Any]) -> list[Any]:
    return [
        v
        for s in _statements(case)
        for block in s.get("Condition", {}).values()
        for value in block.values()
        for v in (value if isinstance(value, list) else [value])
    ]


def _operators(case: dict[str, Any]) -> set[str]:
    return {op for s in _statements(case) for op in s.get("Condition", {})}


@dataclass(frozen=True)
class Class:
    name: str
    wrong: str  # "byok" | "iam-simulate"
    test: Callable[[dict[str, Any], str, str], bool]


def _chain(principal: str) -> list[str]:
    from byok.policy.matching import parse_caller

    return list(parse_caller(principal).identities)


def _not_principal(case: dict[str, Any], effect: str) -> list[Any]:
    """The parsed NotPrincipal specs of the policy's statements with this effect."""
    policy = parse_policy(case["policy"])
    return [s.not_principal for s in policy.statements
            if s.not_principal is not None and s.effect.value == effect]  # fmt: skip


def _allow_not_principal(case: dict[str, Any], mine: str, theirs: str) -> bool:
    """NotPrincipal with Allow, the caller not listed itself but its account or role is."""
    chain = _chain(case["principal"])
    return any(
        not spec.names_identity(chain[0]) and any(spec.names_identity(i) for i in chain[1:])
        for spec in _not_principal(case, "Allow")
    )


def _deny_not_principal(case: dict[str, Any], mine: str, theirs: str) -> bool:
    """NotPrincipal with Deny that lists some but not all of the caller's identities."""
    chain = _chain(case["principal"])
    return mine == "ExplicitlyDenied" and any(
        any(spec.names_identity(i) for i in chain)
        and not all(spec.names_identity(i) for i in chain)
        for spec in _not_principal(case, "Deny")
    )


def _unset_variable(case: dict[str, Any], mine: str, theirs: str) -> bool:
    """A policy variable whose key the request does not carry (no value)."""
    present = {k.lower() for k in case["context"]}
    for value in _values(case):
        for key in re.findall(r"\$\{([^},]+)", str(value)):
            if key.strip().lower() not in present:
                return True
    return False


CLASSES: list[Class] = [
    Class("variable-with-no-value", "iam-simulate", _unset_variable),
    Class("deny-notprincipal-needs-every-identity", "iam-simulate", _deny_not_principal),
    Class("allow-notprincipal-unsupported", "neither (AWS does not support it)",
          _allow_not_principal),
]  # fmt: skip


def _classify(case: dict[str, Any], mine: str, theirs: str) -> str | None:
    for cls in CLASSES:
        if cls.test(case, mine, theirs):
            return cls.name
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", type=int, default=400)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--node", default="node")
    parser.add_argument("--show", type=int, default=3, help="examples printed per class")
    args = parser.parse_args(argv)
    if not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        print("crosscheck: run `make tools-iam-simulate` first", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    policies = [("generated", p) for p in generated(rng, args.policies)]
    for path in sorted((ROOT / "bench" / "corpus").glob("*.json")):
        policies.append((path.stem, json.loads(path.read_text())["policy"]))
    cases: list[dict[str, Any]] = []
    for origin, policy in policies:
        for case in requests_for(policy, rng, args.requests):
            case["origin"] = origin
            cases.append(case)
    started = time.perf_counter()
    theirs = other_decisions([{k: v for k, v in c.items() if k != "origin"} for c in cases],
                             args.node)  # fmt: skip
    agree = 0
    errors = 0
    classes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    unadjudicated: list[str] = []
    dropped = 0
    for case, other in zip(cases, theirs, strict=True):
        ignored = {k.lower() for k in other.get("ignored", [])}
        if ignored:
            # the other simulator dropped keys this action never carries: both decide the
            # request without them (the request as AWS would build it)
            dropped += 1
            case["context"] = {k: v for k, v in case["context"].items() if k.lower() not in ignored}
        mine = byok_decision(case)
        if "error" in other:
            errors += 1
            name = _classify(case, mine, "error:" + other["error"])
            if name is None:
                unadjudicated.append(f"error {other['error']}: {json.dumps(case)[:400]}")
            else:
                classes[name] += 1
            continue
        result = _normal(other["result"])
        if result == mine:
            agree += 1
            continue
        name = _classify(case, mine, result)
        line = f"byok {mine} / iam-simulate {result}: {json.dumps(case)}"
        if name is None:
            unadjudicated.append(line)
            continue
        classes[name] += 1
        examples.setdefault(name, []).append(line)
    total = len(cases)
    print(f"crosscheck: {total} requests over {len(policies)} policies "
          f"({args.policies} generated, {len(policies) - args.policies} from bench/corpus), "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"  requests whose context had keys the action never carries (dropped for both): "
          f"{dropped}")  # fmt: skip
    print(f"  agree: {agree} ({100 * agree / total:.2f}%)")
    print(f"  disagree, adjudicated: {sum(classes.values())} "
          f"(errors of the other simulator: {errors})")  # fmt: skip
    for cls in CLASSES:
        if classes[cls.name]:
            print(f"    {cls.name} ({cls.wrong} wrong): {classes[cls.name]}")
            for line in examples.get(cls.name, [])[: args.show]:
                print(f"      e.g. {line[:600]}")
    print(f"  disagree, unadjudicated: {len(unadjudicated)}")
    for line in unadjudicated[:20]:
        print(f"    {line[:900]}")
    return 1 if unadjudicated else 0


if __name__ == "__main__":
    sys.exit(main())
