"""One run of the scale figures: the sweep at 1k / 10k / 100k, its growth exponents, the latency.

    .venv/bin/python bench/scale_report.py [--sizes 1000,10000,100000] [--emulator 1000]

Runs ``bench/sweep_scale.py`` once per size on the Lambda side alone (``--mode stub``), once on
the emulator at ``--emulator`` environments, and ``bench/validation_latency.py``, each in its own
process, and prints one JSON object: every run's output, the sweep's growth exponent between
consecutive sizes (log(t2/t1) / log(n2/n1): 1.0 is linear) and the event-to-flag latency.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _run(script: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(HERE / script), *args, "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--emulator", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--latency-runs", type=int, default=100)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    sample = str(args.sample)
    stub = [
        _run("sweep_scale.py", "--environments", str(n), "--mode", "stub", "--sample", sample)
        for n in sizes
    ]
    exponents = {
        f"{a['environments']}->{b['environments']}": round(
            math.log(b["sweep_s"] / a["sweep_s"]) / math.log(b["environments"] / a["environments"]),
            3,
        )
        for a, b in itertools.pairwise(stub)
    }
    report = {
        "stub": stub,
        "sweep_exponents": exponents,
        "emulator": _run(
            "sweep_scale.py",
            "--environments",
            str(args.emulator),
            "--mode",
            "emulator",
            "--sample",
            sample,
        ),
        "latency": _run("validation_latency.py", "--runs", str(args.latency_runs)),
    }
    print(json.dumps(report, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
