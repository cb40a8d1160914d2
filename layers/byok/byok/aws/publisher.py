"""Publish "BYOK Environment Health Changed" events (EventBridge ``put_events``).

Why retries here: the flag is already written when the event goes out, so a retry of the whole
validation would find "no change" and never publish. A failed entry (EventBridge answers 200 with
``FailedEntryCount``) or a throttled call is retried a few times in place; if it still fails, a
``TransientError`` tells the caller (the audit trail already has the change).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.errors import ByokError, TransientError
from byok.permissions import Resource, declare

__all__ = ["EventPublisher"]

#: health-changed events go to the default bus (template.yaml HEALTH_EVENT_BUS)
PERMISSIONS = declare(("events:PutEvents",), Resource.DEFAULT_BUS)


class EventPublisher:
    """Publishes one entry at a time to ``event_bus`` (None: the entry's own / default bus)."""

    def __init__(
        self,
        events_client: Any,
        event_bus: str | None,
        *,
        attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = events_client
        self.event_bus = event_bus
        self.attempts = attempts
        self.sleep = sleep

    def publish(self, entry: Mapping[str, Any]) -> None:
        last = "no attempt"
        for attempt in range(self.attempts):
            if attempt:
                self.sleep(0.2 * 2**attempt)
            try:
                answer = self.client.put_events(Entries=[dict(entry)])
            except (ClientError, BotoCoreError) as exc:
                error = classify(exc, "PutEvents")
                if not error.transient:
                    raise ByokError(f"put_events: {error.context}", code="PUBLISH_FAILED") from exc
                last = error.context
                continue
            if not answer.get("FailedEntryCount"):
                return
            failed = answer["Entries"][0]
            last = f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
        raise TransientError(f"put_events: {last} (after {self.attempts} attempts)")
