"""Helpers for the customer template tests (imported by name: conftest puts this folder on
sys.path, since test folders are not packages under --import-mode=importlib)."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "customer" / "byok-keys.yaml"
REGION = "eu-west-1"
CUSTOMER_ACCOUNT = "123456789012"  # moto's default account
PLATFORM_ACCOUNT = "444455556666"
PLATFORM_ROLE = "byok-platform"
PLATFORM_BUS = f"arn:aws:events:{REGION}:{PLATFORM_ACCOUNT}:event-bus/byok-guard"

_SHORT_TAGS = (
    "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join", "Not",
    "Or", "And", "Select", "Split", "Sub", "Transform",
)  # fmt: skip


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation YAML short-form tags (``!Sub``...) into their long JSON form."""


def _construct(name: str) -> Callable[[yaml.Loader, yaml.Node], dict[str, Any]]:
    def build(loader: yaml.Loader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        if name == "Ref":
            return {"Ref": value}
        if name == "Condition":
            return {"Condition": value}
        if name == "GetAtt" and isinstance(value, str):
            return {"Fn::GetAtt": value.split(".", 1)}
        return {f"Fn::{name}": value}

    return build


for _tag in (*_SHORT_TAGS, "Ref", "Condition", "GetAtt"):
    CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def load_template(text: str | None = None) -> dict[str, Any]:
    return yaml.load(text if text is not None else TEMPLATE_PATH.read_text(), Loader=CfnLoader)


def load_module(name: str, path: Path) -> types.ModuleType:
    """Import a file as a module (test folders and customer/ are not on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def guard_source_from_template(tpl: Mapping[str, Any]) -> str:
    """The deletion guard exactly as CloudFormation would deploy it (the inline ZipFile)."""
    return tpl["Resources"]["DeletionGuardFunction"]["Properties"]["Code"]["ZipFile"]


@dataclass
class Stack:
    """A deployed moto stack: its outputs, parameters and the clients to inspect it."""

    name: str
    outputs: dict[str, str]
    parameters: dict[str, str]
    resources: dict[str, dict[str, str]]

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def key_policy(self, output: str) -> dict[str, Any]:
        text = self.client("kms").get_key_policy(KeyId=self.outputs[output], PolicyName="default")
        return json.loads(text["Policy"])

    @property
    def platform_role_arn(self) -> str:
        return (
            f"arn:aws:iam::{self.parameters['PlatformAccountId']}:role/"
            f"{self.parameters['PlatformRoleName']}"
        )


BASE_PARAMETERS = {
    "EnvironmentId": "acme-prod",
    "PlatformAccountId": PLATFORM_ACCOUNT,
    "PlatformRoleName": PLATFORM_ROLE,
    "PlatformRegion": REGION,
}


def policy_document(raw: Any) -> dict[str, Any]:
    """An IAM policy document as returned by moto: a dict, JSON text, or (for inline role
    policies created by moto's CloudFormation) the Python repr of the dict."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return ast.literal_eval(raw)
