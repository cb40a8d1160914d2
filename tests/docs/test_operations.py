"""docs/operations.md, run as written: ``byok emulator start`` in its own process, the
documented session beside it (``byok`` commands through ``byok.cli.main`` in the test's process,
one interpreter for all; a command with shell syntax through bash), every output compared with
the document (times, key ids, ports, durations and the emulator's credentials aside), every
``--format json`` output validated against its schema, then Ctrl-C and a clean stop."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from doc_schemas import assert_valid, schema_for
from doc_snippets import ROOT, Block, Command, normalise, parse

from byok.cli import main

DOC = ROOT / "docs" / "operations.md"
BIN = Path(sys.executable).parent


def _blocks(marker: str) -> list[Block]:
    return [b for b in parse(DOC).blocks if b.marker == marker]


@dataclass
class Emulator:
    process: subprocess.Popen[str]
    cwd: Path
    command: Command

    def output(self) -> str:
        self.process.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = self.process.communicate(timeout=60)
        return out + err


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BYOK_"))}
    env.pop("ENVIRONMENTS_TABLE", None)
    env.pop("AUDIT_TABLE", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return env


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    (block,) = _blocks("emulator start")
    (command,) = block.commands()
    cwd = tmp_path_factory.mktemp("operations")
    argv = [*shlex.split(command.text), "--port", "0"]  # the documented command, any free port
    process = subprocess.Popen(
        argv, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    env_file = cwd / "byok-emulator.env"
    deadline = time.monotonic() + 120
    while not env_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            out, err = process.communicate()
            pytest.fail(f"byok emulator start did not get ready:\n{out}\n{err}")
        time.sleep(0.1)
    emulator = Emulator(process, cwd, command)
    try:
        yield emulator
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


_SHELL = ("|", ">", "<", ";", "&&", "$(")


def _run_in_bash(command: str, emulator: Emulator, sourced: list[str]) -> tuple[int, str]:
    done = subprocess.run(
        ["bash", "-c", "\n".join([*sourced, command])],
        cwd=emulator.cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def _run_byok(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    """``byok ...`` in this process (``byok.cli.main``, as the ``byok`` script calls it), with
    the shell's variables expanded: one interpreter for the whole session."""
    argv = shlex.split(os.path.expandvars(command.replace("\\\n", " ")))
    assert argv[0] == "byok", command
    monkeypatch.setattr(sys, "argv", argv)
    try:
        code = main(argv[1:])
    except SystemExit as exit_:  # argparse: usage errors and --help
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out + err


def _source(env_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``. ./byok-emulator.env``: its ``export NAME=VALUE`` lines, into this process."""
    for line in env_file.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        monkeypatch.setenv(name, shlex.split(value)[0] if value else "")


def test_the_documented_session_prints_what_the_document_shows(
    emulator: Emulator, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.startswith(("AWS_", "BYOK_"))] + [
        "ENVIRONMENTS_TABLE", "AUDIT_TABLE", "PLATFORM_ROLE_ARN", "HEALTH_EVENT_BUS",
    ]:  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(emulator.cwd)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    sourced: list[str] = []
    commands = [c for block in _blocks("emulator") for c in block.commands()]
    assert len(commands) >= 10, "the session lost its commands"
    seen = set()
    for command in commands:
        if command.text.startswith(". "):
            _source(emulator.cwd / command.text.split()[1], monkeypatch)
            sourced.append(command.text)
            code, out = 0, ""
        elif any(token in command.text for token in _SHELL):
            code, out = _run_in_bash(command.text, emulator, sourced)
        else:
            code, out = _run_byok(command.text, capsys, monkeypatch)
        where = f"docs/operations.md:{command.line}: $ {command.text}"
        assert code == command.exit_code, (
            f"{where}\nexit {code}, documented {command.exit_code}\n{out}"
        )
        assert normalise(out) == normalise(command.output), where
        if "--format json" in command.text:
            subcommand = " ".join(shlex.split(command.text)[1:3])
            assert_valid(json.loads(out), schema_for(subcommand), where)
            seen.add(subcommand)
    for subcommand in ("env show", "env incidents"):
        assert subcommand in seen, f"the session shows no `byok {subcommand} --format json`"
    for subcommand in ("register", "list", "validate", "incidents", "update", "deregister"):
        assert any(f"byok env {subcommand}" in c.text for c in commands), subcommand


def test_start_prints_what_the_document_shows_and_stops_on_ctrl_c(emulator: Emulator) -> None:
    out = emulator.output()
    assert emulator.process.returncode == 0, out
    assert normalise(out) == normalise(emulator.command.output + "byok emulator: stopped\n")
    assert not (emulator.cwd / "byok-emulator.env").exists()  # removed on stop
