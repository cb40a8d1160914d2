"""The template's generated blocks never drift from their sources (byok.contract, the guard)."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest
from customer_support import ROOT, TEMPLATE_PATH, guard_source_from_template, load_template


def test_committed_template_is_what_the_generator_writes(generator: types.ModuleType) -> None:
    text = TEMPLATE_PATH.read_text()
    assert generator.render_template(text) == text, "run: python -m customer.generate"


def test_check_mode_passes_on_the_committed_template(generator: types.ModuleType) -> None:
    assert generator.main(["--check"]) == 0


def test_check_mode_fails_on_a_hand_edited_policy(
    generator: types.ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = TEMPLATE_PATH.read_text().replace(
        '"kms:GetKeyPolicy",', '"kms:GetKeyPolicy", "kms:Decrypt",', 1
    )
    copy = tmp_path / "byok-keys.yaml"
    copy.write_text(edited)
    assert generator.main(["--check", "--template", str(copy)]) == 1
    assert "stale" in capsys.readouterr().err
    assert generator.main(["--template", str(copy)]) == 0
    assert copy.read_text() == TEMPLATE_PATH.read_text()


def test_inline_guard_is_the_tested_source_and_fits_zipfile(template: dict[str, Any]) -> None:
    inline = guard_source_from_template(template)
    source = (ROOT / "customer" / "deletion_guard.py").read_text()
    assert inline == source
    assert len(inline) <= 4096


def test_missing_block_marker_is_an_error(generator: types.ModuleType) -> None:
    text = TEMPLATE_PATH.read_text().replace("# >>> generated: key-policy aurora", "# removed", 1)
    with pytest.raises(generator.GenerationError, match="key-policy aurora"):
        generator.render_template(text)


def test_each_key_policy_is_a_json_string_through_sub(template: dict[str, Any]) -> None:
    """moto mishandles an object KeyPolicy; a Fn::Sub string works in moto and AWS alike."""
    for key in ("S3Key", "AuroraKey"):
        props = template["Resources"][key]["Properties"]
        assert set(props["KeyPolicy"]) == {"Fn::Sub"}
        assert "Tags" not in props  # moto's CloudFormation crashes on key Tags


def test_template_parses_with_the_cfn_loader() -> None:
    assert load_template()["Rules"]


def test_policy_naming_the_key_itself_cannot_be_generated(generator: types.ModuleType) -> None:
    """A key cannot reference its own ARN in its CloudFormation policy (circular): refuse."""
    statement = {"Sid": "X", "Resource": f"arn:aws:kms:r:1:key/{generator.S_KEY_ID}"}
    with pytest.raises(generator.GenerationError, match="own id"):
        generator._statement_text(statement, 0)


def test_sentinels_become_fn_sub_variables(generator: types.ModuleType) -> None:
    g = generator
    rendered = {
        "Principal": {"AWS": f"arn:aws:iam::{g.S_PLATFORM}:role/{g.S_ROLE}"},
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{g.S_REGION}.amazonaws.com"}},
        "Root": f"arn:aws:iam::{g.S_CUSTOMER}:root",
        "Literal": "${aws:username}",
    }
    assert g._substitute(rendered) == {
        "Principal": {
            "AWS": "arn:${AWS::Partition}:iam::${PlatformAccountId}:role/${PlatformRoleName}"
        },
        "Condition": {"StringEquals": {"kms:ViaService": "s3.${AWS::Region}.amazonaws.com"}},
        "Root": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
        "Literal": "${!aws:username}",
    }


def test_variants_with_conflicting_statement_order_are_refused(
    generator: types.ModuleType,
) -> None:
    v = generator._Variant
    a, b = {"Sid": "A"}, {"Sid": "B"}
    with pytest.raises(generator.GenerationError, match="order"):
        generator._merged_order([v(True, "none", (a, b)), v(False, "none", (b, a))])
