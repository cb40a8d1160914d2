"""Adaptive probing: when a validation runs the S3 canary and reads rotation, and when it does not.

Why: at a 5-minute sweep the canary (PutObject + GetObject + DeleteObject, and the KMS
GenerateDataKey + Decrypt S3 makes for them) and GetKeyRotationStatus were most of the cost of
watching an environment, and they rarely learn anything the key's metadata has not already said.
So a scheduled validation of a HEALTHY environment reads the key metadata (DescribeKey, both
keys) and the cluster, and runs the full set (canary + rotation) only when something calls for
it:

- any trigger other than the schedule (a key event, an RDS event, a platform error report, a
  manual validation): full, at once, as before;
- the previous flag is missing or not HEALTHY: full (a light validation could never prove a
  recovery, and must never drop a finding only the canary makes);
- the last full validation is older than ``max_age`` (default 1 h) or unknown: full;
- the metadata just read differs from the metadata of the last validation (its fingerprint), or
  could not be read: full, in the same validation.

What it changes in detection time is in ``docs/validation.md`` ("Adaptive probing"). Pure Python.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from byok.errors import InputError
from byok.health import HealthFlag, parse_time
from byok.models import HealthStatus, Purpose, Trigger, TriggerKind
from byok.times import to_wire_optional
from byok.validation.facts import FactError, KeyMetadata

__all__ = [
    "DEFAULT_MAX_AGE",
    "ProbeReason",
    "ProbeSettings",
    "key_fingerprint",
    "needs_full",
    "needs_full_after_metadata",
]

DEFAULT_MAX_AGE: Final = timedelta(hours=1)


class ProbeReason(StrEnum):
    """Why a validation ran the full set of probes (or, LIGHT, why it did not)."""

    TRIGGER = "trigger"  # an event or a manual validation
    NO_FLAG = "no_flag"
    NOT_HEALTHY = "not_healthy"
    NEVER_PROBED = "never_probed"
    MAX_AGE = "max_age"
    METADATA_CHANGED = "metadata_changed"
    METADATA_UNREADABLE = "metadata_unreadable"
    LIGHT = "light"  # metadata and cluster only: nothing called for the canary


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """``max_age``: the longest a HEALTHY environment goes without a canary (``CANARY_MAX_AGE_
    MINUTES``, default 60; 0 runs the canary on every validation, the behaviour before)."""

    max_age: timedelta = DEFAULT_MAX_AGE

    @property
    def always(self) -> bool:
        return self.max_age <= timedelta(0)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ProbeSettings:
        env = os.environ if env is None else env
        raw = (env.get("CANARY_MAX_AGE_MINUTES") or "").strip()
        if not raw:
            return cls()
        if not raw.isdigit() or int(raw) > 7 * 24 * 60:
            raise InputError(
                f"CANARY_MAX_AGE_MINUTES: expected whole minutes from 0 to 10080, got {raw!r}"
            )
        return cls(max_age=timedelta(minutes=int(raw)))


def needs_full(
    trigger: Trigger | None,
    previous: HealthFlag | None,
    now: datetime,
    settings: ProbeSettings,
) -> ProbeReason | None:
    """Why this validation must run everything at once, or None (decide after the metadata)."""
    if settings.always or trigger is None or trigger.kind is not TriggerKind.SCHEDULE:
        return ProbeReason.TRIGGER
    if previous is None:
        return ProbeReason.NO_FLAG
    if previous.status is not HealthStatus.HEALTHY:
        return ProbeReason.NOT_HEALTHY
    if not previous.probed_at or not previous.key_fingerprint:
        return ProbeReason.NEVER_PROBED
    if now - parse_time(previous.probed_at, "probed_at") >= settings.max_age:
        return ProbeReason.MAX_AGE
    return None


def needs_full_after_metadata(
    previous: HealthFlag | None, metadata: Mapping[Purpose, KeyMetadata | FactError]
) -> ProbeReason:
    """After a light read: run the rest now if the metadata moved or could not be read."""
    if any(isinstance(m, FactError) for m in metadata.values()):
        return ProbeReason.METADATA_UNREADABLE
    fingerprint = key_fingerprint(metadata)  # type: ignore[arg-type]
    if previous is None or fingerprint != previous.key_fingerprint:
        return ProbeReason.METADATA_CHANGED
    return ProbeReason.LIGHT


def key_fingerprint(metadata: Mapping[Purpose, KeyMetadata | FactError | None]) -> str | None:
    """A short digest of both keys' metadata (None when a key's metadata is not known)."""
    parts: dict[str, object] = {}
    for purpose in Purpose:
        meta = metadata.get(purpose)
        if not isinstance(meta, KeyMetadata):
            return None
        parts[purpose.value] = [
            meta.arn,
            meta.key_state,
            meta.key_spec,
            meta.key_usage,
            meta.key_manager,
            meta.origin,
            to_wire_optional(meta.deletion_date),
            to_wire_optional(meta.valid_to),
            meta.expiration_model,
            meta.multi_region,
        ]
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return digest[:32]
