"""Every fenced block of README.md and docs/*.md is either not a command, or run here, or
marked as not runnable with why (the rule: tests/support/doc_snippets.py).

Transcripts (``$ `` commands) run in a scratch directory with this environment's ``byok`` on
PATH and must print what the document shows; a ``python`` block's imports must resolve (a
snippet importing a module that moved fails here). docs/operations.md's emulator session runs in
test_operations.py.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from doc_snippets import NOT_SHELL, ROOT, Block, documents, normalise, parse

DOCS = documents()
EMULATOR = ("emulator", "emulator start")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.mark.parametrize("path", DOCS, ids=_ids(DOCS))
def test_every_block_is_labelled_run_or_marked(path: Path) -> None:
    problems = []
    for block in parse(path).blocks:
        marker = block.marker or ""
        if block.info not in NOT_SHELL and not block.is_shell:
            problems.append(f"{block.where}: unknown label {block.info!r}")
        elif marker.startswith("not run:"):
            if not marker.removeprefix("not run:").strip():
                problems.append(f"{block.where}: `not run:` without the reason")
            if not block.is_shell:
                problems.append(f"{block.where}: `not run` on a block that is not a command")
        elif block.is_shell and not block.is_transcript:
            problems.append(
                f"{block.where}: a shell block that is neither a `$ ` transcript nor marked "
                "`<!-- snippet: not run: WHY -->`; label it `text` if it is not a command"
            )
        elif marker and not marker.startswith(("file ", *EMULATOR)):
            problems.append(f"{block.where}: unknown marker {marker!r}")
    assert problems == []


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


RUNNABLE = [p for p in DOCS if any(
    b.is_transcript and b.marker not in EMULATOR for b in parse(p).blocks
)]  # fmt: skip


@pytest.mark.parametrize("path", RUNNABLE, ids=_ids(RUNNABLE))
def test_transcripts_print_what_the_document_shows(path: Path, tmp_path: Path) -> None:
    last = 0
    ran = 0
    for block in parse(path).blocks:
        if block.marker and block.marker.startswith("file "):
            (tmp_path / block.marker.removeprefix("file ").strip()).write_text(block.text)
            continue
        if not block.is_transcript or block.marker in EMULATOR:
            continue
        commands = block.commands()
        for n, command in enumerate(commands):
            shown_next = n + 1 < len(commands) and commands[n + 1].text == "echo $?"
            done = subprocess.run(
                ["bash", "-c", f"(exit {last}); {command.text}"],  # `echo $?` sees the last
                cwd=tmp_path,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=120,
            )
            last = done.returncode
            where = f"{block.path.relative_to(ROOT)}:{command.line}: $ {command.text}"
            assert done.returncode == command.exit_code or shown_next, (
                f"{where}\nexit {done.returncode}, documented {command.exit_code}\n{done.stderr}"
            )
            assert normalise(done.stdout + done.stderr) == normalise(command.output), where
            ran += 1
    assert ran


def _python_blocks() -> list[Block]:
    return [b for p in DOCS for b in parse(p).blocks if b.info == "python"]


@pytest.mark.parametrize("block", _python_blocks(), ids=lambda b: b.where)
def test_python_snippets_import_what_exists(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = ast.parse(block.text)
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert imports, f"{block.where}: no import to check"
    for folder in ("support", "harness"):  # what the snippets say to put on sys.path
        monkeypatch.syspath_prepend(str(ROOT / "tests" / folder))
    for node in imports:
        try:
            exec(compile(ast.Module([node], []), block.where, "exec"), {})
        except ImportError as exc:
            pytest.fail(f"{block.where}: {ast.unparse(node)}: {type(exc).__name__}: {exc}")
