"""Example counts for property and fuzz tests: fast for `make test`, long for `make soak`.

`make soak` sets ``BYOK_SOAK=1`` and runs only the tests marked ``property``; each such test asks
``examples(fast, soak)`` for its hypothesis ``max_examples`` so both counts live beside the test.

``BYOK_SOAK_SPLIT=n`` (with ``BYOK_SOAK=1``) gives each test ``ceil(soak / n)`` examples, for a
soak split over ``n`` processes, each started with its own ``--hypothesis-seed``: on a shared
machine where a niced process gets a small share of a core, ``n`` of them together get ``n``
shares, and each one reports its own count (together at least ``soak``).
"""

from __future__ import annotations

import math
import os

SOAK: bool = os.environ.get("BYOK_SOAK") == "1"
SPLIT: int = max(1, int(os.environ.get("BYOK_SOAK_SPLIT", "1") or "1"))


def examples(fast: int, soak: int) -> int:
    """The ``max_examples`` for this run: ``soak`` (its share) under `make soak`, else ``fast``."""
    return math.ceil(soak / SPLIT) if SOAK else fast
