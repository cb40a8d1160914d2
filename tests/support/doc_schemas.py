"""The JSON Schemas of every ``--format json`` output (docs/schemas/), and one way to check."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from doc_snippets import ROOT
from jsonschema import Draft202012Validator

SCHEMAS = ROOT / "docs" / "schemas"


@cache
def schema_for(command: str) -> dict[str, Any]:
    """``"env register"`` -> docs/schemas/env-register.json (checked to be a valid schema)."""
    schema = json.loads((SCHEMAS / f"{command.replace(' ', '-')}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return schema


def assert_valid(instance: Any, schema: dict[str, Any], where: str = "") -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{where}: output does not match {schema.get('$id')}:\n" + "\n".join(
        f"  at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors[:5]
    )
