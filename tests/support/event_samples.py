"""Paths and fixtures of the sample events in ``events/`` (shared by the events tests)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
S3_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-1111-4111-8111-111111111111"
AURORA_KEY = "arn:aws:kms:eu-west-1:111122223333:key/2222bbbb-2222-4222-8222-222222222222"


#: the functions whose samples are events ``byok.events.normalise`` accepts (``validate`` gets SQS
#: batches, ``remediate`` gets byok.guard health events parsed by ``byok.remediation``)
NORMALISED_DIRS = ("key_events", "sweep")


def trigger_sample_names() -> list[str]:
    """``key_events/disable_key``-style names of every sample ``normalise`` accepts."""
    return sorted(
        p.relative_to(EVENTS_DIR).with_suffix("").as_posix()
        for d in NORMALISED_DIRS
        for p in (EVENTS_DIR / d).glob("*.json")
    )


def load(name: str) -> dict[str, Any]:
    """``load("disable_key")`` -> a fresh copy of events/key_events/disable_key.json;
    ``load("sweep/scheduled_event")`` for another function's directory."""
    path = name if "/" in name else f"key_events/{name}"
    return copy.deepcopy(json.loads((EVENTS_DIR / f"{path}.json").read_text()))
