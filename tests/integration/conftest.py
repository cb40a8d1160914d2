"""Shared fixtures of the scenario tests: the two-account ``world`` on moto + byok_emulator.

Other test folders may reuse the builder directly: ``from byok_world import build_world``
(``tests/support`` is on pytest's pythonpath).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from byok_world import World, build_world
from moto import mock_aws

import byok_emulator
from byok_emulator import authoriser


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # one attempt per call: injected throttling then costs no retry back-off (the adapters'
    # retry bound is tested in tests/unit/validation/test_aws_errors.py)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with mock_aws(), byok_emulator.behaviour():
        built = build_world(function_roles=True)
        # moto's own IAM authoriser decides every call from here on: the service runs with the
        # roles of template.yaml as deployed, setup and observations as each account's admin
        with authoriser.enabled():
            yield built


@pytest.fixture
def server_world(emulator_server: Any, monkeypatch: pytest.MonkeyPatch) -> World:
    """A fresh world on the module's emulator server (``emulator_server``), for tests that run
    real threads against it; no IAM authoriser."""
    emulator_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator_server.endpoint_url)
    return build_world()
