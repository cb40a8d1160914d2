"""Fixtures for the events tests."""

from __future__ import annotations

import pytest
from event_samples import load


@pytest.fixture
def sample():
    """``sample("disable_key")`` -> a fresh, mutable copy of a sample event."""
    return load
