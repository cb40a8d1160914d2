"""Example counts for property and fuzz tests: fast for `make test`, long for `make soak`.

`make soak` sets ``BYOK_SOAK=1`` and runs only the tests marked ``property``; each such test asks
``examples(fast, soak)`` for its hypothesis ``max_examples`` so both counts live beside the test.
"""

from __future__ import annotations

import os

SOAK: bool = os.environ.get("BYOK_SOAK") == "1"


def examples(fast: int, soak: int) -> int:
    """The ``max_examples`` for this run: ``soak`` under `make soak`, else ``fast``."""
    return soak if SOAK else fast
