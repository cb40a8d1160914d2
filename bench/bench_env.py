"""Where a benchmark's code comes from, and the AWS settings that keep every call in process.

Why one module: the emulator benchmarks import byok-guard, the emulator and the test world from
one checkout (this one, or an older one for a before/after run: ``--tree``, ``--before``) and
run with dummy credentials and a single botocore attempt, so moto answers and no retry back-off
is timed. ``latency_compare.py`` copies this file next to the measuring script it copies.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
SETTINGS: Final = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_MAX_ATTEMPTS": "1",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def use_tree(tree: Path = ROOT, *extra: str) -> Path:
    """Import from ``tree`` (its layer, emulator and test support, then ``extra`` folders) and
    set the in-process AWS settings unless the caller's environment already has them."""
    for sub in ("layers/byok", "emulator", "tests/support", *extra):
        sys.path.insert(0, str(tree / sub))
    for var, value in SETTINGS.items():
        os.environ.setdefault(var, value)
    return tree
