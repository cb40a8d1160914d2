from __future__ import annotations

import pytest
from remediation_data import make_env

from byok.models import Environment


@pytest.fixture
def env() -> Environment:
    return make_env()
