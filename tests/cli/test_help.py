"""Every command, subcommand, flag and argument of ``byok`` says what it is for, and
``byok --version`` prints the package version."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata

import pytest

import byok
from byok.cli import build_parser, main


def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*path, name))


def _commands() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    return list(_walk(build_parser([])))


def test_every_group_is_built() -> None:
    groups = {path[0] for path, _ in _commands() if len(path) == 1}
    assert {"policy", "events", "env", "demo", "emulator"} <= groups


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=" ".join)
def test_every_flag_and_subcommand_has_help(path: tuple[str, ...]) -> None:
    parser = dict(_commands())[path]
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helped = {c.dest for c in action._choices_actions if c.help}
            missing += [f"subcommand {n}" for n in action.choices if n not in helped]
        elif not action.help or action.help == argparse.SUPPRESS:
            missing.append("/".join(action.option_strings) or action.dest)
    assert missing == [], f"byok {' '.join(path)}: no help text for {missing}"


def test_env_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["env", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for name in ("register", "list", "show", "validate", "incidents", "update", "deregister"):
        assert f"    {name} " in out or f"    {name}\n" in out, name


def test_version_is_the_package_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "byok.cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout == f"byok {metadata.version('byok-guard')}\n"
    assert metadata.version("byok-guard") == byok.__version__
