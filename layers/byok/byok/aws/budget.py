"""The worst-case time of one validation, from which validate's Lambda timeout, SQS batch size and
visibility timeout are derived (docs/platform.md "Validate: batch size and timeouts").

Why a formula: a record's validation is a chain of AWS calls, each bounded by the client config
(``byok.aws.errors.client_config``: attempts, connect and read timeouts, standard-mode backoff).
A batch that runs past the Lambda timeout is killed whole and redelivered, so the template's
values must follow from these numbers, and ``functions/validate`` stops starting records once
less than one worst-case record of time is left (those records fail alone and come back).
``tests/template/test_validate_budget.py`` checks the template against this module.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "SEQUENTIAL_CALLS",
    "call_seconds",
    "record_seconds",
]

#: botocore standard mode: the n-th retry waits rand(0, 1) * 2**n seconds, capped at 20 s
BACKOFF_CAP_SECONDS: Final = 20.0

#: the longest chain of AWS calls one validation makes one after the other (the gather's
#: parallel reads count once, by their longest branch):
#:   environment (1) + other users of each key: claim and environment per key (4)
#:   + policy memory: remember the event's text, recall both keys (3)
#:   + AssumeRole (1) + S3 canary put, get, delete (3)
#:   + flag read (1) + the change transaction (1)
#:   + put_events, up to the publisher's 3 attempts (3) + outbox published mark (1)
SEQUENTIAL_CALLS: Final = 19
#: the publisher's own sleeps between its attempts (byok.aws.publisher: 0.4 s, 0.8 s)
PUBLISH_SLEEPS_SECONDS: Final = 1.2


def call_seconds(attempts: int, connect_timeout: float, read_timeout: float) -> float:
    """One call at worst: every attempt times out on connect + read, with the longest backoff."""
    backoff = sum(min(BACKOFF_CAP_SECONDS, 2.0**n) for n in range(attempts - 1))
    return attempts * (connect_timeout + read_timeout) + backoff


def record_seconds(
    attempts: int = 3, connect_timeout: float = 3.0, read_timeout: float = 5.0
) -> int:
    """One SQS record's validation at worst, in whole seconds (defaults: ``client_config()``)."""
    call = call_seconds(attempts, connect_timeout, read_timeout)
    return math.ceil(SEQUENTIAL_CALLS * call + PUBLISH_SLEEPS_SECONDS)
