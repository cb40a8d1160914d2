"""Shared values for the contract tests: a customer key, the platform role, both purposes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

CUSTOMER = "111122223333"
PLATFORM = "444455556666"


@pytest.fixture
def ids() -> SimpleNamespace:
    """Customer / platform accounts, the key ARN and the platform role ARN used by most tests."""
    return SimpleNamespace(
        customer=CUSTOMER,
        platform=PLATFORM,
        key=f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        role=f"arn:aws:iam::{PLATFORM}:role/byok-platform",
        region="eu-west-1",
    )


@pytest.fixture(params=("s3", "aurora"))
def purpose(request: pytest.FixtureRequest) -> str:
    return request.param
