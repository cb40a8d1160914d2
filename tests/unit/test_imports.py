"""Import rules of the package, checked on its source: who may import boto3, what the handlers
may hold, and that the layer never needs the test emulator."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "byok" / "byok"
#: where boto3 / botocore may be imported (anywhere in the file: top level, lazily, TYPE_CHECKING)
AWS_ROOMS = ("aws/", "store/dynamodb.py")
MAX_HANDLER_LINES = 40


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, at module level?) for every import statement of ``path``."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def _modules() -> list[tuple[str, Path]]:
    return [(str(p.relative_to(PACKAGE)), p) for p in sorted(PACKAGE.rglob("*.py"))]


def test_boto3_only_in_the_aws_adapters_and_the_dynamodb_store() -> None:
    offenders = [
        f"{name}: {module}"
        for name, path in _modules()
        if not name.startswith(AWS_ROOMS)
        for module, _ in _imports(path)
        if module.split(".")[0] in {"boto3", "botocore"}
    ]
    assert offenders == []


def test_the_layer_never_imports_the_emulator_at_import_time() -> None:
    """Only ``byok demo`` and ``byok emulator`` use it, imported when they run, with a clear
    error when it is missing."""
    lazy = []
    for name, path in _modules():
        for module, at_top in _imports(path):
            if module.split(".")[0] == "byok_emulator":
                assert not at_top, f"{name} imports byok_emulator at import time"
                lazy.append(name)
    assert set(lazy) <= {"cli/demo.py", "cli/emulator.py"}
    for name in set(lazy):
        assert "not installed" in (PACKAGE / name).read_text(), name


def test_importing_the_core_loads_neither_boto3_nor_the_emulator() -> None:
    """Cold start and layer size: the core, the store package and the CLI import without them."""
    code = (
        "import sys\n"
        "import byok.service, byok.intake, byok.store, byok.health, byok.validation, byok.events\n"
        "import byok.remediation.runner, byok.cli, byok.cli.demo, byok.cli.emulator\n"
        "import byok.lambda_support\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'byok_emulator', 'moto') "
        "if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def _code_lines(path: Path) -> int:
    """Lines that are not blank, comments or docstrings."""
    tree = ast.parse(path.read_text())
    docs: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docs |= set(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return sum(
        1
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and n not in docs
    )


HANDLERS = sorted((ROOT / "functions").glob("*/app.py"))


@pytest.mark.parametrize("path", HANDLERS, ids=[p.parent.name for p in HANDLERS])
def test_handlers_are_thin(path: Path) -> None:
    """Parse the envelope, call one core function, map the result: at most 40 code lines."""
    assert _code_lines(path) <= MAX_HANDLER_LINES
    assert not [m for m, _ in _imports(path) if m.split(".")[0] in {"boto3", "botocore"}]


#: how a key of the tables starts (partition keys) or what it is (sort keys): byok/store/keys.py
_KEY_PREFIXES = ("ENV#", "KEY#", "CLUSTER#", "BUCKET#", "ONCE#", "POLICY#")
_SORT_KEYS = {"META", "HEALTH", "OUTBOX", "CLAIM", "POLICY"}


def _key_spellings(path: Path) -> list[str]:
    """String constants (f-string pieces included, docstrings not) that spell a table key."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(getattr(node, "body", None), list)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docs
        and (node.value.startswith(_KEY_PREFIXES) or node.value in _SORT_KEYS)
    ]


def test_only_the_store_spells_a_key_of_the_tables() -> None:
    """The key scheme is written once (``byok.store.keys``): no other module of the layer, no
    handler and no part of the emulator builds a partition or sort key by hand."""
    paths = [p for name, p in _modules() if not name.startswith("store/")]
    paths += HANDLERS + sorted((ROOT / "emulator" / "byok_emulator").rglob("*.py"))
    assert [hit for path in paths for hit in _key_spellings(path)] == []
    assert _key_spellings(PACKAGE / "store" / "keys.py")  # the scan sees a spelling
