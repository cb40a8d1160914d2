"""Event-to-flag latency before and after a change, in one run (``validation_latency.py`` twice).

    git archive <commit before> | tar -x -C /tmp/before
    .venv/bin/python bench/latency_compare.py --before /tmp/before [--rounds 3] [--runs 100]

Runs this checkout's ``bench/validation_latency.py`` against the code of ``--before`` (the
same measuring script, copied there, so only the code measured differs) and against this
checkout, alternating ``--rounds`` times so that a machine busy at one moment weighs on both
sides alike. Prints one JSON object: per side every round's median and p95 (milliseconds), and
the median of the rounds' medians and p95s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "validation_latency.py"


def _measure(tree: Path, runs: int) -> dict[str, float]:
    script = str(tree / "bench" / "validation_latency.py")
    answer = subprocess.run(
        [sys.executable, script, "--runs", str(runs), "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="a checkout of the old code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    before = args.before.resolve()
    if not (before / "layers" / "byok" / "byok").is_dir():
        print(f"--before: {before} is not a byok-guard checkout", file=sys.stderr)
        return 2
    shutil.copyfile(SCRIPT, before / "bench" / "validation_latency.py")
    shutil.copyfile(SCRIPT.with_name("bench_env.py"), before / "bench" / "bench_env.py")
    rounds: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for _ in range(args.rounds):
        rounds["before"].append(_measure(before, args.runs))
        rounds["after"].append(_measure(ROOT, args.runs))
    out: dict[str, object] = {"runs_per_round": args.runs, "rounds": args.rounds}
    for side, results in rounds.items():
        out[side] = {
            "median_ms": statistics.median(r["event_to_flag_ms_median"] for r in results),
            "p95_ms": statistics.median(r["event_to_flag_ms_p95"] for r in results),
            "rounds": [
                {"median_ms": r["event_to_flag_ms_median"], "p95_ms": r["event_to_flag_ms_p95"]}
                for r in results
            ],
        }
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
