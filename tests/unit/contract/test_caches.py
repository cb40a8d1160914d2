"""The check's caches never leak state between checks (docs/benchmarks.md, "Full `check` after
the evaluator caching"): what a report hands out is the caller's to change, a changed document
is checked as it now reads, and a clause's values are never confused by type."""

from __future__ import annotations

import copy
import json
from typing import Any

from byok.contract import check_policy, render_policy
from byok.policy import Request, evaluate, parse_policy
from byok.policy.conditions import compile_clause, parse_operator


def _open(ids: Any, purpose: str) -> dict[str, Any]:
    """The rendered policy with its platform statements widened (no conditions: their fix
    replaces them by the rendered ones) and an Allow for anyone (its fix removes it)."""
    policy = render_policy(purpose, ids.key, ids.role, full=True)
    for statement in policy["Statement"]:
        if statement["Sid"].startswith("BYOKPlatform"):
            statement.pop("Condition", None)
    policy["Statement"].append(
        {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    )
    return policy


def test_changing_a_reports_fix_does_not_change_the_next_report(ids: Any, purpose: str) -> None:
    policy = _open(ids, purpose)
    first = check_policy(policy, purpose, ids.key, ids.role)
    expected = json.dumps(first.to_dict(), sort_keys=True)
    assert first.verdict == "fail"
    assert any(op["op"] == "replace" for check in first.checks for op in check.fix)
    for check in first.checks:
        for op in check.fix:  # the caller owns these: scribble over every statement in them
            for name in ("statement", "with"):
                if name in op:
                    op[name]["Sid"] = "Scribbled"
                    op[name]["Principal"] = {"AWS": "*"}
    again = check_policy(policy, purpose, ids.key, ids.role)
    assert json.dumps(again.to_dict(), sort_keys=True) == expected
    # and the rendered statements the fixes copy from are intact
    assert check_policy(render_policy(purpose, ids.key, ids.role, full=True), purpose, ids.key,
                        ids.role).verdict == "pass"  # fmt: skip


def test_a_document_changed_after_a_check_is_checked_as_it_now_reads(
    ids: Any, purpose: str
) -> None:
    policy = render_policy(purpose, ids.key, ids.role, full=True)
    assert check_policy(policy, purpose, ids.key, ids.role).verdict == "pass"
    before = copy.deepcopy(policy)
    policy["Statement"].append(
        {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}
    )
    assert check_policy(policy, purpose, ids.key, ids.role).verdict == "fail"
    policy["Statement"].pop()
    assert policy == before
    assert check_policy(policy, purpose, ids.key, ids.role).verdict == "pass"


def test_clause_values_of_other_types_are_not_confused_by_the_clause_cache() -> None:
    op = parse_operator("StringEquals", "Condition.StringEquals")
    path = "Condition.StringEquals.aws:PrincipalTag/team"
    # True == 1 == 1.0 in Python; IAM compares "true", "1" and "1.0"
    as_true = compile_clause(op, "aws:PrincipalTag/team", (True,), path)
    as_one = compile_clause(op, "aws:PrincipalTag/team", (1,), path)
    as_text = compile_clause(op, "aws:PrincipalTag/team", ("1",), path)
    context = {"aws:principaltag/team": ("1",)}
    assert as_true.test(context) is False
    assert as_one.test(context) is True
    assert as_text.test(context) is True
    assert as_true.test({"aws:principaltag/team": ("true",)}) is True


def _one(effect: str, condition: dict[str, Any]) -> dict[str, Any]:
    statement = {"Effect": effect, "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    return {"Statement": [{**statement, "Condition": condition}]}


def test_the_same_clause_text_in_two_policies_decides_each_alike(ids: Any) -> None:
    clause = {"StringEquals": {"aws:PrincipalAccount": ids.platform}}
    request = Request(ids.role, "kms:Decrypt")
    assert evaluate(parse_policy(_one("Allow", clause)), request).allowed
    denied = evaluate(parse_policy(_one("Deny", clause)), request)
    assert denied.decision.value == "explicit_deny"
