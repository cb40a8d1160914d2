"""Bad parameter values are rejected by the template itself.

cfn-lint is run on the template (clean) and with a bad PendingWindowInDays, which it reports.
cfn-lint does not apply a parameter's AllowedPattern to values given on its command line, nor
evaluate Rules, and moto's CloudFormation enforces neither; so those constraints are read from the
template and applied here exactly as CloudFormation does (the whole value must match
AllowedPattern, each entry of a CommaDelimitedList too; Min/MaxValue for numbers), and the
Rules assertions are evaluated with the rule functions they use.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from customer_support import TEMPLATE_PATH

from byok.identifiers import ACCOUNT_RE, ENV_ID_RE, REGION_RE

CFN_LINT = Path(sys.executable).parent / "cfn-lint"


def accepts(parameter: Mapping[str, Any], value: str) -> bool:
    """Would CloudFormation accept ``value`` for this parameter declaration?"""
    kind = parameter["Type"]
    values = value.split(",") if kind == "CommaDelimitedList" else [value]
    for item in values:
        if "AllowedValues" in parameter and item not in parameter["AllowedValues"]:
            return False
        if kind == "Number":
            try:
                number = float(item)
            except ValueError:
                return False
            if number < parameter.get("MinValue", float("-inf")):
                return False
            if number > parameter.get("MaxValue", float("inf")):
                return False
            continue
        if not parameter.get("MinLength", 0) <= len(item) <= parameter.get("MaxLength", 4096):
            return False
        pattern = parameter.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, item):
            return False
    return True


def rule_value(node: Any, values: Mapping[str, str]) -> Any:
    """Evaluate a Rules condition/assertion (the rule functions this template uses)."""
    if isinstance(node, dict):
        ((fn, arg),) = node.items()
        if fn == "Ref":
            return values[arg]
        if fn == "Fn::Equals":
            left, right = (rule_value(a, values) for a in arg)
            return left == right
        if fn == "Fn::Not":
            return not rule_value(arg[0], values)
        if fn == "Fn::And":
            return all(rule_value(a, values) for a in arg)
        if fn == "Fn::Or":
            return any(rule_value(a, values) for a in arg)
        if fn == "Fn::Contains":
            return rule_value(arg[1], values) in [rule_value(a, values) for a in arg[0]]
        raise AssertionError(f"rule function {fn} not evaluated by this test")
    return node


def rules_pass(template: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    for rule in template["Rules"].values():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], values):
            continue
        if not all(rule_value(a["Assert"], values) for a in rule["Assertions"]):
            return False
    return True


BAD = [
    ("PlatformAccountId", "12345678901"),  # 11 digits
    ("PlatformAccountId", "1234567890123"),
    ("PlatformAccountId", "12345678901a"),
    ("PendingWindowInDays", "5"),
    ("PendingWindowInDays", "6"),
    ("PendingWindowInDays", "31"),
    ("RotationPeriodInDays", "89"),
    ("RotationPeriodInDays", "2561"),
    ("EnvironmentId", "Acme"),
    ("EnvironmentId", "-acme"),
    ("EnvironmentId", "acme-"),
    ("EnvironmentId", "a" * 64),
    ("EnvironmentId", ""),
    ("PlatformRegion", "EU-WEST-1"),
    ("PlatformRegion", "eu-west"),
    ("PlatformRoleName", "role name"),
    ("PlatformRoleName", "a" * 65),
    ("PlatformEventBusArn", "arn:aws:sqs:eu-west-1:444455556666:queue"),
    ("PlatformEventBusArn", "arn:aws:events:eu-west-1:44445555666:event-bus/byok"),
    ("KeyAdministratorArns", "*"),
    ("KeyAdministratorArns", "arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:root"),
    ("NotificationEmail", "not-an-email"),
    ("AllowHealthChecks", "yes"),
    ("EnableKeyRotation", "True"),
]
GOOD = [
    ("PlatformAccountId", "444455556666"),
    ("PendingWindowInDays", "7"),
    ("PendingWindowInDays", "30"),
    ("RotationPeriodInDays", "90"),
    ("RotationPeriodInDays", "2560"),
    ("EnvironmentId", "acme-prod"),
    ("EnvironmentId", "a" * 63),
    ("PlatformRegion", "eu-west-1"),
    ("PlatformRegion", "us-gov-west-1"),
    ("PlatformRoleName", "byok-platform"),
    ("PlatformRoleName", "service/byok-platform"),
    ("PlatformEventBusArn", ""),
    ("PlatformEventBusArn", "arn:aws:events:eu-west-1:444455556666:event-bus/byok-guard"),
    ("KeyAdministratorArns", ""),
    ("KeyAdministratorArns", "arn:aws:iam::123456789012:role/a,arn:aws:iam::123456789012:user/b"),
    ("NotificationEmail", ""),
    ("NotificationEmail", "security@example.com"),
    ("CreateTrail", "true"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_values_are_rejected(template: dict[str, Any], name: str, value: str) -> None:
    assert not accepts(template["Parameters"][name], value)


@pytest.mark.parametrize(("name", "value"), GOOD)
def test_good_values_are_accepted(template: dict[str, Any], name: str, value: str) -> None:
    assert accepts(template["Parameters"][name], value)


def test_defaults_satisfy_their_own_constraints(template: dict[str, Any]) -> None:
    for name, parameter in template["Parameters"].items():
        if "Default" in parameter:
            assert accepts(parameter, str(parameter["Default"])), name


def test_patterns_agree_with_the_byok_validators(template: dict[str, Any]) -> None:
    """The stack accepts exactly the environment ids and regions the platform accepts."""
    samples = ["acme", "acme-prod", "a", "-a", "a-", "Acme", "a_b", "a" * 63, "a" * 64, "9x"]
    samples += ["acme\n", "\u0661x"]
    regions = ["eu-west-1", "us-gov-west-1", "cn-north-1", "eu-west", "EU-WEST-1", "euwest1"]
    regions += ["eu-west-1\n", "eu-west-\u0661", "eusc-de-east-1"]
    accounts = ["111122223333", "11112222333", "\uff11" * 12, "111122223333\n"]
    params = template["Parameters"]
    env, region = params["EnvironmentId"], params["PlatformRegion"]
    for value in samples:
        assert accepts(env, value) == bool(ENV_ID_RE.fullmatch(value)), value
    for value in regions:
        assert accepts(region, value) == bool(REGION_RE.fullmatch(value)), value
    for value in accounts:
        assert accepts(params["PlatformAccountId"], value) == bool(ACCOUNT_RE.fullmatch(value))


def test_region_rule_rejects_a_platform_region_other_than_the_stacks(
    template: dict[str, Any],
) -> None:
    assert rules_pass(template, {"PlatformRegion": "eu-west-1", "AWS::Region": "eu-west-1"})
    assert not rules_pass(template, {"PlatformRegion": "us-east-1", "AWS::Region": "eu-west-1"})


def _cfn_lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CFN_LINT), str(TEMPLATE_PATH), "--regions", "eu-west-1", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_cfn_lint_is_clean() -> None:
    result = _cfn_lint()
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint_reports_a_five_day_deletion_window() -> None:
    result = _cfn_lint(
        "--parameters",
        "EnvironmentId=acme",
        "PlatformAccountId=444455556666",
        "PlatformRoleName=byok-platform",
        "PlatformRegion=eu-west-1",
        "PendingWindowInDays=5",
    )
    assert result.returncode != 0
    assert "less than the minimum of 7" in result.stdout
