"""Fixtures of the local-invoke harness: one emulator server per module, a fresh world per test.

The harness modules (``local_invoke``, ``harness_world``) sit next to the tests; pytest runs in
importlib mode, so this folder is put on ``sys.path`` for them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness_world import HarnessWorld

import byok_emulator.server
from byok_emulator import authoriser


@pytest.fixture
def harness(
    emulator_server: byok_emulator.server.EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[HarnessWorld]:
    """A fresh world, then moto's own IAM authoriser on (``POST /moto-api/reset-auth``) until
    the test ends: the functions' calls are decided by their roles' policies."""
    emulator_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.endpoint_url)
    world = HarnessWorld.build(emulator_server.endpoint_url)
    with authoriser.enabled(emulator_server.endpoint_url):
        yield world
