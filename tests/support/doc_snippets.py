"""Fenced code blocks of README.md and docs/*.md, and how the snippet tests treat each.

The rule (docs/operations.md, "Documentation snippets"):

- a block labelled ``text``, ``json``, ``yaml`` or ``python`` is not a shell snippet (``python``
  blocks have their imports checked);
- a shell block (labelled ``sh``, ``bash``, ``console`` or not labelled) is a transcript when its
  commands start with ``$ ``: each command runs and its output must match the lines after it;
  ``# exit N`` at the end of a command is its expected exit code (0 otherwise);
- a marker comment right above a block says more: ``<!-- snippet: not run: WHY -->`` (a shell
  block that cannot run offline, and why), ``<!-- snippet: file NAME -->`` (the block's text is
  written to NAME for the transcripts after it), ``<!-- snippet: emulator -->`` (a transcript
  run against ``byok emulator start``);
- any other shell block fails the test: label it ``text`` or mark it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOT_SHELL = frozenset({"text", "json", "yaml", "python"})
SHELL = frozenset({"", "sh", "bash", "console", "shell"})
_MARKER = re.compile(r"^<!--\s*snippet:\s*(.*?)\s*-->$")
_EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Command:
    line: int
    text: str
    exit_code: int
    output: str


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the opening fence, 1-based
    info: str
    text: str
    marker: str | None = None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.info in SHELL

    @property
    def is_transcript(self) -> bool:
        return self.is_shell and any(line.startswith("$ ") for line in self.text.splitlines())

    def commands(self) -> list[Command]:
        """The ``$ `` commands (continuation lines joined) with their expected output."""
        found: list[Command] = []
        lines = self.text.splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                i += 1
                continue
            start = i
            parts = [lines[i][2:]]
            while parts[-1].endswith("\\") and i + 1 < len(lines):
                i += 1
                parts.append(lines[i].strip())
            text = "\n".join(parts)
            exit_code = 0
            if match := _EXIT.search(text):
                exit_code = int(match[1])
                text = text[: match.start()]
            i += 1
            output: list[str] = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            while output and not output[-1].strip():
                output.pop()
            found.append(
                Command(
                    self.line + 1 + start, text, exit_code, "\n".join(output) + "\n" * bool(output)
                )
            )
        return found


@dataclass
class Document:
    path: Path
    blocks: list[Block] = field(default_factory=list)


def parse(path: Path) -> Document:
    doc = Document(path)
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = lines[i]
        if not opening.startswith("```"):
            i += 1
            continue
        info = opening[3:].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            body.append(lines[j])
            j += 1
        marker = None
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        if k >= 0 and (match := _MARKER.match(lines[k].strip())):
            marker = match[1]
        doc.blocks.append(Block(path, i + 1, info, "\n".join(body) + "\n", marker))
        i = j + 1
    return doc


#: what changes from run to run (times, key ids, ports, durations, emulator credentials)
_VOLATILE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?"), "<TIME>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<UUID>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<PORT>"),
    (re.compile(r"\b(?:\d+d )?(?:\d+h )?\d+m(?: \d+s)?\b"), "<DURATION>"),
    (re.compile(r"(AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN))=\S+"), r"\1=<SECRET>"),
]


def normalise(text: str) -> str:
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text
