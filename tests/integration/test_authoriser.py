"""The scenario world runs under moto's own IAM authoriser (``conftest.world``): each function's
role is template.yaml's as deployed, and moto, not byok's evaluator, refuses what it does not
grant. These tests show the authoriser is on and reads the deployed policies."""

from __future__ import annotations

import pytest
from byok_world import ENVIRONMENTS_TABLE

from byok.errors import ByokError
from byok.service import validate_environment


def test_a_role_gets_only_what_the_template_grants(world):
    """The sweep role lists environments (Scan of the sparse index, not of the table) but may
    not read a flag (GetItem)."""
    sweep = world.deps("sweep")
    rows, _ = sweep.store.environment_page()
    assert [r["environment_id"] for r in rows] == ["acme"]
    with pytest.raises(ByokError, match="not authorized to perform: dynamodb:GetItem"):
        sweep.store.get_flag(world.env.environment_id)


def test_removing_an_action_from_the_validate_role_breaks_validation(world):
    world.drop_actions("validate", {"dynamodb:PutItem"})
    with pytest.raises(
        ByokError, match=f"dynamodb:PutItem on resource: .*table/{ENVIRONMENTS_TABLE}"
    ):
        validate_environment(world.env.environment_id, None, world.deps("validate"))
