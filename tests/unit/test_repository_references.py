"""The design lives in the repository: no file points to the starting brief a clone lacks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the starting brief's files (spelled in pieces so this test does not name them itself)
_OUTSIDE = re.compile(
    "|".join(re.escape(n + ".md") for n in ("DES" + "IGN", "STY" + "LE")) + "|AWS-" + "FACTS"
)
_FOLDERS = (
    "layers",
    "functions",
    "emulator",
    "customer",
    "platform",
    "tests",
    "docs",
    "events",
    "bench",
)


def test_no_file_cites_the_starting_brief() -> None:
    cited = []
    paths = [ROOT / "README.md", ROOT / "template.yaml"]
    for folder in _FOLDERS:
        paths += [p for p in (ROOT / folder).rglob("*") if p.is_file()]
    for path in paths:
        text_file = path.suffix in {".py", ".md", ".yaml", ".yml", ".json", ".txt", ".toml"}
        if text_file and _OUTSIDE.search(path.read_text(errors="replace")):
            cited.append(str(path.relative_to(ROOT)))
    assert cited == []


def test_the_docs_the_code_points_to_exist() -> None:
    assert (ROOT / "docs" / "architecture.md").read_text().startswith("# Architecture")
    notes = (ROOT / "docs" / "aws-notes.md").read_text()
    facts = [
        line for line in notes.splitlines() if line.startswith("- **") or line.startswith("- ")
    ]
    assert facts and notes.count("Source:") >= 20  # each fact names the AWS page it rests on
