"""Events in: every event shape byok-guard hears, normalised into one ``Trigger``.

Use ``is_ignorable(event)`` to skip failed API calls and KMS activity that cannot change key
health, then ``normalise(event)`` for the trigger. Both raise ``byok.errors.EventError`` (and
nothing else) for a malformed or unsupported event. ``trigger_from_dict`` rebuilds a trigger from
a queue message; ``manual_trigger`` makes one for an operator request. Pure Python: no AWS SDK.
"""

from __future__ import annotations

from byok.events.cloudtrail import KEY_HEALTH_API_CALLS, KEY_HEALTH_SERVICE_EVENTS
from byok.events.normalise import SHAPES, EventShape, is_ignorable, normalise
from byok.events.triggers import manual_trigger, trigger_from_dict

__all__ = [
    "KEY_HEALTH_API_CALLS",
    "KEY_HEALTH_SERVICE_EVENTS",
    "SHAPES",
    "EventShape",
    "is_ignorable",
    "manual_trigger",
    "normalise",
    "trigger_from_dict",
]
