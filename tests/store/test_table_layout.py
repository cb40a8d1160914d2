"""``create_tables`` (tests, demo) and ``template.yaml`` (deployed) must declare the same layout:
a drift between them would only show up in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import yaml
from moto import mock_aws

from byok.store import create_tables

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _any_tag)


def _layout(props: dict[str, Any]) -> dict[str, Any]:
    ttl = props.get("TimeToLiveSpecification") or {}
    return {
        "keys": [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]],
        "attributes": sorted(
            (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
        ),
        "billing": props.get("BillingMode"),
        "ttl": ttl.get("AttributeName") if ttl.get("Enabled") else None,
        "indexes": _indexes(props.get("GlobalSecondaryIndexes") or []),
    }


def _indexes(indexes: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (
            i["IndexName"],
            tuple((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]),
            i["Projection"]["ProjectionType"],
        )
        for i in indexes
    )


def test_create_tables_matches_template() -> None:
    resources = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Resources"]
    declared = {
        name: _layout(res["Properties"])
        for name, res in resources.items()
        if res["Type"] == "AWS::DynamoDB::Table"
    }
    names = {
        "EnvironmentsTable": "envs",
        "AuditTable": "audit",
        "IdempotencyTable": "idem",
    }
    assert set(declared) == set(names)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_tables(client, "envs", "audit", "idem")
        for logical_id, table_name in names.items():
            table = client.describe_table(TableName=table_name)["Table"]
            ttl = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
            created = {
                "keys": [(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]],
                "attributes": sorted(
                    (a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]
                ),
                "billing": table["BillingModeSummary"]["BillingMode"],
                "ttl": ttl.get("AttributeName") if ttl["TimeToLiveStatus"] == "ENABLED" else None,
                "indexes": _indexes(table.get("GlobalSecondaryIndexes") or []),
            }
            assert created == declared[logical_id], logical_id
