"""Shared helpers for the policy engine tests: one-statement policies around a condition."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from byok.policy import Request, evaluate, parse_policy

PLATFORM = "444455556666"
CUSTOMER = "111122223333"
SESSION = f"arn:aws:sts::{PLATFORM}:assumed-role/platform/s1"

ConditionCheck = Callable[..., bool]


def condition_holds(
    condition: Mapping[str, Any],
    context: Mapping[str, Any] | None = None,
    *,
    principal: str = SESSION,
    version: str = "2012-10-17",
) -> bool:
    """Whether an Allow statement guarded only by ``condition`` allows the request."""
    policy = parse_policy(
        {
            "Version": version,
            "Statement": {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": condition,
            },
        }
    )
    return evaluate(policy, Request(principal, "kms:Decrypt", context=context or {})).allowed


@pytest.fixture
def holds() -> ConditionCheck:
    return condition_holds
