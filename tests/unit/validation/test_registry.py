"""Walk the check registry and the reason catalogue: every check declares what it needs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import byok.validation as validation
from byok.errors import InputError
from byok.models import HealthStatus
from byok.reasons import REASONS, get_reason
from byok.validation.registry import INPUTS, REGISTRY, Check, register_check

EXPECTED = {
    "key-state",
    "key-spec",
    "key-manager",
    "key-location",
    "key-material-expiry",
    "key-rotation",
    "key-unique",
    "key-policy",
    "s3-probe",
    "aurora-cluster",
    "platform-role-policy",
}
PERMISSION = re.compile(r"^[a-z0-9]+:[A-Z][A-Za-z]+$")


def test_registry_holds_every_check():
    assert set(REGISTRY) == EXPECTED


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_every_check_is_declared(check_id):
    check = REGISTRY[check_id]
    assert check.id == check_id
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", check.id)
    assert check.permissions, f"{check_id} declares no permissions"
    assert all(PERMISSION.match(p) for p in check.permissions), check.permissions
    assert check.inputs and set(check.inputs) <= INPUTS
    assert check.purposes
    doc = inspect.getdoc(type(check))
    assert doc and len(doc) > 30, f"{check_id} needs a docstring saying why"


def test_duplicate_or_undeclared_registration_is_refused():
    with pytest.raises(InputError, match="already registered"):

        @register_check("key-state", permissions=("kms:DescribeKey",), inputs=("key.metadata",))
        class Again(Check):
            def run(self, ctx, purpose):
                return []

    with pytest.raises(InputError, match="unknown inputs"):

        @register_check("new-check", permissions=("kms:DescribeKey",), inputs=("gossip",))
        class Unknown(Check):
            def run(self, ctx, purpose):
                return []

    assert "new-check" not in REGISTRY


def test_required_permissions_cover_the_probes():
    perms = validation.required_permissions()
    assert {"kms:DescribeKey", "kms:GetKeyPolicy", "s3:PutObject", "rds:DescribeDBClusters"} <= set(
        perms
    )


def test_reason_catalogue_is_stable_upper_snake_with_impact():
    for code, reason in REASONS.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", code)
        assert reason.code == code
        assert reason.summary
        assert reason.impact is None or reason.impact in HealthStatus
    assert get_reason("POLICY_DENIES_PLATFORM").impact_for("s3") is HealthStatus.KEY_UNUSABLE
    assert get_reason("POLICY_DENIES_PLATFORM").impact_for("aurora") is HealthStatus.AT_RISK
    with pytest.raises(InputError, match="unknown reason"):
        get_reason("NOPE")


def test_every_reason_named_in_the_checks_is_catalogued():
    package = Path(validation.__file__).parent
    named = set()
    for path in package.glob("*.py"):
        named |= set(re.findall(r'"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)"', path.read_text()))
    not_reasons = {"AWS_KMS", "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "KEY_STATE_REASONS"}
    unknown = named - set(REASONS) - not_reasons
    assert not unknown, unknown


def test_fix_templates_render_with_the_fields_checks_supply():
    supplied = {"key_arn", "region", "account", "cluster_id", "statements", "valid_to",
                "environment_id", "cluster_key_arn", "platform_role_arn"}  # fmt: skip
    supplied |= {"bucket", "object_arn"}  # the S3 probe's own
    for reason in REASONS.values():
        assert reason.fix_fields() <= supplied, reason.code
    assert get_reason("KEY_DISABLED").fix(key_arn="arn:k") == "aws kms enable-key --key-id arn:k"
    with pytest.raises(InputError, match="fix needs"):
        get_reason("KEY_DISABLED").fix()
