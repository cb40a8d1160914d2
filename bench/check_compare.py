"""Full ``check`` time on ``bench/corpus/``: this tree against another checkout, in one run.

    .venv/bin/python bench/check_compare.py --before /tmp/byok-before [--runs 1000]

``--before`` is a checkout of an older commit (``git worktree add --detach DIR COMMIT``). Each
side runs in its own interpreter (``PYTHONPATH`` points at that tree's ``layers/byok``); the
two are run in turns, policy by policy, so that machine load hits both alike. Printed: per side
the median over the corpus of the per-policy medians, and the slowest policy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMER = r"""
import json, sys, time, statistics
from byok.contract import check_policy
case = json.load(open(sys.argv[1])); runs = int(sys.argv[2])
args = (case["purpose"], case["key_arn"], case["platform_role_arn"])
for _ in range(20):
    check_policy(case["policy"], *args)
times = []
for _ in range(runs):
    t = time.perf_counter()
    check_policy(case["policy"], *args)
    times.append(time.perf_counter() - t)
print(json.dumps({"median_us": statistics.median(times) * 1e6}))
"""


def timed(tree: Path, case: Path, runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree / "layers" / "byok")}
    done = subprocess.run([sys.executable, "-c", TIMER, str(case), str(runs)], env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return float(json.loads(done.stdout)["median_us"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=1000)
    args = parser.parse_args()
    corpus = sorted((ROOT / "bench" / "corpus").glob("*.json"))
    before: list[float] = []
    after: list[float] = []
    for case in corpus:
        before.append(timed(args.before, case, args.runs))
        after.append(timed(ROOT, case, args.runs))
        print(f"  {case.stem:<40} before {before[-1]:7.1f} us  after {after[-1]:7.1f} us")
    for name, values in (("before", before), ("after", after)):
        print(f"{name}: median {statistics.median(values):.1f} us, slowest {max(values):.1f} us "
              f"({len(values)} policies, {args.runs} timed runs each)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
