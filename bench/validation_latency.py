"""Event-to-flag latency of one validation on the emulated two-account world (in-process moto).

    .venv/bin/python bench/validation_latency.py [--runs 30] [--format json]

Times ``byok.service.handle_trigger`` for a DisableKey / EnableKey event pair (the platform
role's session cached per container, DescribeKey x2, rotation x2, S3 canary put/get/delete,
DescribeDBClusters, then decide, conditional write, audit, publish) and the pure ``validate``
alone. moto answers in microseconds where AWS takes milliseconds, so the numbers measure
byok-guard's own overhead
(botocore serialisation, thread pool, state machine), not AWS's latency.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench_env import use_tree

use_tree(Path(__file__).resolve().parent.parent)

from byok_world import build_world, cloudtrail_event  # noqa: E402
from moto import mock_aws  # noqa: E402

import byok_emulator  # noqa: E402
from byok.events import normalise  # noqa: E402
from byok.service import handle_trigger  # noqa: E402
from byok.validation import validate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    with mock_aws(), byok_emulator.behaviour():
        world = build_world()
        deps = world.deps()
        arn = world.env.s3_key_arn
        kms = world.customer_kms
        handle_trigger(normalise(cloudtrail_event("EnableKey", arn)), deps)  # warm up
        end_to_end: list[float] = []
        statuses: set[str] = set()
        for i in range(args.runs):
            name = "DisableKey" if i % 2 == 0 else "EnableKey"
            (kms.disable_key if name == "DisableKey" else kms.enable_key)(KeyId=arn)
            world.clock.advance(seconds=1)
            trigger = normalise(cloudtrail_event(name, arn))
            start = time.perf_counter()
            (outcome,) = handle_trigger(trigger, deps)
            end_to_end.append(time.perf_counter() - start)
            statuses.add(outcome.status.value)
        facts_report = outcome.report
        from byok.aws.gather import gather_facts

        facts = gather_facts(
            world.env, world.platform, platform_role_arn=deps.settings.platform_role_arn
        )
        pure: list[float] = []
        for _ in range(args.runs * 10):
            start = time.perf_counter()
            validate(
                world.env,
                facts,
                platform_role_arn=deps.settings.platform_role_arn,
                now=world.clock.now,
            )
            pure.append(time.perf_counter() - start)
    median_ms = statistics.median(end_to_end) * 1000
    p95_ms = statistics.quantiles(end_to_end, n=20)[-1] * 1000
    pure_us = statistics.median(pure) * 1e6
    if args.format == "json":
        print(
            json.dumps(
                {
                    "event_to_flag_ms_median": round(median_ms, 2),
                    "event_to_flag_ms_p95": round(p95_ms, 2),
                    "events": args.runs,
                    "statuses": sorted(statuses),
                    "validate_pure_us_median": round(pure_us, 1),
                },
                sort_keys=True,
            )
        )
        return 0
    print(
        f"handle_trigger (gather+validate+decide+write+publish): median {median_ms:.1f} ms, "
        f"p95 {p95_ms:.1f} ms over {args.runs} events (statuses seen: {sorted(statuses)})"
    )
    print(
        f"validate (pure, {len(facts_report.checks)} results): median "
        f"{pure_us:.0f} us over {len(pure)} runs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
