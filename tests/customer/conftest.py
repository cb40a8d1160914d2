"""Fixtures for the customer template tests: the parsed template, the generator module, the
inline deletion-guard code imported as a module, and a moto CloudFormation deployment helper."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
import pytest
from customer_support import (
    BASE_PARAMETERS,
    REGION,
    ROOT,
    TEMPLATE_PATH,
    Stack,
    guard_source_from_template,
    load_module,
    load_template,
)
from moto import mock_aws


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return load_template()


@pytest.fixture(scope="session")
def generator() -> types.ModuleType:
    return load_module("byok_customer_generate", ROOT / "customer" / "generate.py")


@pytest.fixture
def guard(template: dict[str, Any], tmp_path: Path) -> types.ModuleType:
    """The inline guard code imported as a module (fresh per test: it reads env at call)."""
    path = tmp_path / "index.py"
    path.write_text(guard_source_from_template(template))
    return load_module("byok_inline_deletion_guard", path)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def deploy(aws: None) -> Callable[..., Stack]:
    """Deploy customer/byok-keys.yaml into moto's CloudFormation with the given parameters."""
    counter = iter(range(1000))

    def _deploy(**overrides: str) -> Stack:
        params = {**BASE_PARAMETERS, **overrides}
        name = f"byok-keys-{next(counter)}"
        cf = boto3.client("cloudformation", region_name=REGION)
        cf.create_stack(
            StackName=name,
            TemplateBody=TEMPLATE_PATH.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cf.describe_stacks(StackName=name)["Stacks"][0]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        resources = {
            r["LogicalResourceId"]: r
            for r in cf.list_stack_resources(StackName=name)["StackResourceSummaries"]
        }
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        return Stack(name, outputs, params, resources)

    return _deploy
