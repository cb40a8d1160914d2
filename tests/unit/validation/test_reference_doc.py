"""docs/validation.md carries the generated registry/catalogue reference, up to date."""

from __future__ import annotations

from pathlib import Path

from byok.reasons import REASONS
from byok.validation.reference import BEGIN, render_reference
from byok.validation.registry import REGISTRY

DOC = Path(__file__).resolve().parents[3] / "docs" / "validation.md"


def test_reference_section_is_generated_from_the_code():
    text = DOC.read_text()
    assert BEGIN in text
    generated = text[text.index(BEGIN) :]
    assert generated == render_reference(), (
        "docs/validation.md is stale: regenerate the section below BEGIN with "
        "byok.validation.reference.render_reference()"
    )
    for check_id in REGISTRY:
        assert f"`{check_id}`" in generated
    for code in REASONS:
        assert f"`{code}`" in generated
