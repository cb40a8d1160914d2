"""Micro-benchmark of the policy engine alone: one ``parse_policy`` and one ``evaluate``.

    .venv/bin/python bench/policy_micro.py [--runs 2000]

The contract check evaluates ~30-60 requests per policy and must stay under 1 ms median, so one
``evaluate`` has to cost ~10-20 microseconds. This prints medians over many runs for:
parsing each ``bench/corpus`` policy, evaluating a mix of ~40 BYOK-shaped requests against each
(allowed, denied, delegated, multi-valued keys, conditions that fail late), and constructing a
``Request`` (which normalises its context and derives the principal keys once).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "byok"))

from byok.errors import PolicyError  # noqa: E402
from byok.policy import Request, evaluate, parse_policy  # noqa: E402

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
OTHER = "999999999999"
SESSION = f"arn:aws:sts::{PLATFORM}:assumed-role/byok-platform/validate"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ACTIONS = (
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "kms:Encrypt",
    "kms:ReEncryptFrom",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:ScheduleKeyDeletion",
    "kms:PutKeyPolicy",
)
CONTEXTS: tuple[dict[str, object], ...] = (
    {},
    {"kms:ViaService": "s3.eu-west-1.amazonaws.com"},
    {"kms:ViaService": "rds.eu-west-1.amazonaws.com", "kms:GrantIsForAWSResource": True},
    {
        "kms:ViaService": "rds.eu-west-1.amazonaws.com",
        "kms:GrantIsForAWSResource": "true",
        "kms:GrantOperations": ["Decrypt", "Encrypt", "GenerateDataKey", "CreateGrant"],
    },
)
PRINCIPALS = (SESSION, f"arn:aws:sts::{OTHER}:assumed-role/byok-platform/x", CUSTOMER)


def requests() -> list[Request]:
    out = []
    for i, action in enumerate(ACTIONS):
        for j, context in enumerate(CONTEXTS):
            principal = PRINCIPALS[(i + j) % len(PRINCIPALS)]
            out.append(Request(principal, action, resource=KEY, context=context))
    return out


def timed(fn: Callable[[], object], runs: int, inner: int = 1) -> tuple[float, float]:
    """(median, p90) microseconds per call over ``runs`` batches of ``inner`` calls."""
    samples = []
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter_ns()
            for _ in range(inner):
                fn()
            samples.append((time.perf_counter_ns() - start) / inner / 1000)
    finally:
        gc.enable()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    reqs = requests()
    print(
        f"{'policy':<44} {'parse us':>9} {'eval us (median/max)':>22} {f'all {len(reqs)} us':>10}"
    )
    per_eval: list[float] = []
    for path in sorted((ROOT / "bench" / "corpus").glob("*.json")):
        document = json.loads(path.read_text())["policy"]
        try:
            policy = parse_policy(document)
        except PolicyError as exc:
            print(f"{path.stem:<44} rejected: {exc}")
            continue
        parse_med, _ = timed(lambda d=document: parse_policy(d), max(args.runs // 10, 50))
        medians = [
            timed(lambda r=r, p=policy: evaluate(p, r), args.runs // 20, 20)[0] for r in reqs
        ]
        whole, _ = timed(lambda p=policy: [evaluate(p, r) for r in reqs], max(args.runs // 10, 50))
        med = statistics.median(medians)
        per_eval.extend(medians)
        print(
            f"{path.stem:<44} {parse_med:>9.1f} {med:>12.2f} / {max(medians):>7.2f} {whole:>10.1f}"
        )
    request_med, _ = timed(lambda: Request(SESSION, "kms:Decrypt", KEY, CONTEXTS[3]), args.runs, 10)
    print()
    print(
        f"one evaluate, median over all policies and requests: {statistics.median(per_eval):.2f} us"
    )
    print(f"one Request(...) with a 3-key context:               {request_med:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
