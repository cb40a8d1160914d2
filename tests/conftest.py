"""Test-wide settings (fake credentials so no test can ever reach a real AWS account) and the
one fixture that starts the emulator's server for a module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from byok_emulator.server import EmulatorServer

os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "eu-west-1"
os.environ.pop("AWS_PROFILE", None)
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "byok-guard-test")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "byok-guard")


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[EmulatorServer]:
    """moto's ThreadedMotoServer with byok_emulator on 127.0.0.1, one per module (a test that
    wants a fresh world calls ``reset()``); real threads and real HTTP reach it."""
    import logging

    import byok_emulator.server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = byok_emulator.server.start()
    try:
        yield server
    finally:
        server.stop()
