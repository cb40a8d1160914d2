"""Fuzz: every policy the parser accepts yields a verdict (issue 9, item 5).

Hypothesis builds key policies from every element, principal kind, operator family (with the
set prefixes and ``IfExists``), value shape (JSON numbers and booleans, wildcards, policy
variables, dates, CIDRs, base64) and keeps those ``parse_policy`` accepts. For each: ``check``
returns a report with a verdict, its fix applied gives a policy the parser accepts and
``check`` passes, the rendered full policy round-trips, and ``byok policy explain`` answers for
several callers, never with another exception.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from soak import examples

from byok.cli import main
from byok.contract import apply_fix, check_policy, render_policy
from byok.errors import PolicyError
from byok.policy import Request, evaluate, parse_policy
from byok.policy.conditions import OPERATORS

C, P, X = "111122223333", "444455556666", "555566667777"
KEY = f"arn:aws:kms:eu-west-1:{C}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = f"arn:aws:iam::{P}:role/byok-platform"
AWS_NAMES = [
    "*", C, P, X, f"arn:aws:iam::{C}:root", f"arn:aws:iam::{P}:root", ROLE,
    f"arn:aws:iam::{X}:role/byok-platform", f"arn:aws:iam::{X}:user/u",
    f"arn:aws:sts::{P}:assumed-role/byok-platform/s1", f"arn:aws:sts::{X}:federated-user/f",
    "AROAEXAMPLEEXAMPLE12",
]  # fmt: skip
SERVICES = ["*", "s3.amazonaws.com", "logs.eu-west-1.amazonaws.com"]
OTHERS = ["cognito-identity.amazonaws.com", f"arn:aws:iam::{X}:saml-provider/idp", "abc123"]
ACTIONS = ["*", "kms:*", "kms:Decrypt", "kms:Gen*", "kms:?escribeKey", "kms:CreateGrant", "s3:*"]
RESOURCES = ["*", KEY, "arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:eu-west-1:1:key/x",
             "arn:aws:kms:eu-west-1:111122223333:key/${aws:PrincipalTag/key}"]  # fmt: skip
KEYS = [
    "aws:PrincipalAccount", "kms:CallerAccount", "aws:PrincipalArn", "aws:SourceAccount",
    "aws:SourceArn", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName", "kms:ViaService",
    "kms:GrantIsForAWSResource", "aws:SecureTransport", "aws:PrincipalOrgID",
    "aws:PrincipalTag/team", "aws:SourceIp", "aws:CurrentTime", "aws:MultiFactorAuthAge",
    "kms:GrantOperations", "kms:EncryptionContext:app", "aws:SourceVpce", "aws:userid",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from([C, P, X, "4444*", "*", "?", "true", "false", "x", "${aws:username}",
                     "${aws:PrincipalTag/team, 'd'}", "${*}", ROLE, "arn:aws:iam::*:role/*",
                     "s3.eu-west-1.amazonaws.com", "203.0.113.0/24", "2001:db8::/32",
                     "2024-01-01T00:00:00Z", "1700000000", "3600", "YWJj", "o-abc"]),
    st.booleans(),
    st.integers(-(10**13), 10**13),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=6),
)  # fmt: skip
OPERATOR_NAMES = [*sorted(OPERATORS), "Null"]


@st.composite
def operator(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(OPERATOR_NAMES))
    if name != "Null":
        if draw(st.booleans()):
            name += "IfExists"
        prefix = draw(st.sampled_from(["", "", "ForAnyValue:", "ForAllValues:"]))
        name = prefix + name
    return name


def principal(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 6)) == 0:
        return "*"
    kinds: dict[str, Any] = {}
    for kind, names in (("AWS", AWS_NAMES), ("Service", SERVICES), ("Federated", OTHERS)):
        if draw(st.booleans()):
            picked = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
            kinds[kind] = picked[0] if len(picked) == 1 else picked
    return kinds or {"AWS": draw(st.sampled_from(AWS_NAMES))}


@st.composite
def statement(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"Effect": draw(st.sampled_from(["Allow", "Deny"]))}
    if draw(st.booleans()):
        s["Sid"] = draw(st.sampled_from(["A", "BYOKPlatformS3ViaService", "x1"]))
    s["NotPrincipal" if draw(st.integers(0, 4)) == 0 else "Principal"] = principal(draw)
    s["NotAction" if draw(st.integers(0, 4)) == 0 else "Action"] = draw(
        st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3, unique=True)
    )
    s["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(
        st.sampled_from(RESOURCES)
    )
    condition: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(0, 3))):
        values = draw(st.lists(VALUES, min_size=1, max_size=3))
        block = condition.setdefault(draw(operator()), {})
        block[draw(st.sampled_from(KEYS))] = values[0] if len(values) == 1 else values
    if condition:
        s["Condition"] = condition
    return s


@st.composite
def accepted(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    purpose = draw(st.sampled_from(["s3", "aurora"]))
    listed: list[dict[str, Any]] = []
    if draw(st.booleans()):
        listed += render_policy(purpose, KEY, ROLE, full=draw(st.booleans()))["Statement"]
    listed += draw(st.lists(statement(), min_size=1, max_size=3))
    document = {"Version": draw(st.sampled_from(["2012-10-17", "2008-10-17"])), "Statement": listed}
    try:
        parse_policy(document)
    except PolicyError:
        assume(False)
    return purpose, document


CALLERS = [ROLE, f"arn:aws:sts::{P}:assumed-role/byok-platform/s9", f"arn:aws:iam::{X}:root",
           "s3.amazonaws.com", C]  # fmt: skip


@pytest.mark.property
@settings(
    max_examples=examples(300, 20000),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(drawn=accepted())
def test_every_accepted_policy_gets_a_verdict_a_fix_and_explanations(
    drawn: tuple[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    purpose, document = drawn
    report = check_policy(document, purpose, KEY, ROLE)
    assert report.verdict in ("pass", "warn", "fail")
    json.dumps(report.to_dict())
    report.to_text()
    # one round: the fix is planned to a fixed point (a Deny it removes can unmask an Allow)
    fixed = apply_fix(document, report.fix)
    assert check_policy(fixed, purpose, KEY, ROLE).verdict == "pass", report.to_text()
    policy = parse_policy(document)
    for caller in CALLERS:
        evaluate(policy, Request(caller, "kms:Decrypt", KEY, {"kms:ViaService": "x"}))
    path = Path(tmp_path_factory.mktemp("fuzz")) / "policy.json"
    path.write_text(json.dumps(document))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["policy", "explain", "--policy", str(path), "--principal", CALLERS[1],
                     "--action", "kms:Decrypt", "--resource", KEY, "--format", "json"])  # fmt: skip
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["decision"] in ("allow", "explicit_deny", "implicit_deny")


@pytest.mark.parametrize("purpose", ["s3", "aurora"])
@pytest.mark.parametrize("full", [True, False])
def test_render_round_trips(purpose: str, full: bool) -> None:
    """``render --full`` (and the statements alone) parse back, pass, and print the same."""
    rendered = render_policy(purpose, KEY, ROLE, full=full)
    again = json.loads(json.dumps(rendered))
    assert again == rendered
    assert check_policy(again, purpose, KEY, ROLE).verdict == "pass"
    assert parse_policy(again).raw == rendered
