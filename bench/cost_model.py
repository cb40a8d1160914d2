"""Cost per 10,000 environments per day, priced from the requests ``sweep_scale.py`` counted.

    .venv/bin/python bench/sweep_scale.py --environments 1000 --format json > after.json
    .venv/bin/python bench/cost_model.py --after after.json [--before before.json]

Every request figure comes from the JSON (counted with botocore event hooks); what cannot be
counted on the emulator is an explicit, printed assumption: Lambda billed milliseconds per
validation, log bytes, X-Ray sampling. Prices: AWS list prices for us-east-1 (``PRICES``, with
the date they were taken). The model of a day, per environment:

- one sweep per period (``--period-minutes``, the template's SweepSchedule, default 5): one
  validate message (SendMessageBatch / 10, ReceiveMessage / 10, DeleteMessageBatch / 10), one
  validation; the listing's read units from ``registry_bytes_per_environment`` (a consistent
  Scan of the whole table) or ``index_bytes_per_environment`` (a sparse index);
- with adaptive probing (``full_validation`` in the JSON) the canary and rotation reads run once
  per ``--canary-max-age-minutes`` (default 60), the other validations are light; without it
  every validation is full;
- the sweep's marker (at most one queued sweep validation per environment): ``marker_writes``
  conditional UpdateItems of the flag item per sweep, one write unit per KB of the flag each;
- DynamoDB units from the item sizes measured on the emulator (strongly consistent reads: one
  unit per 4 KB of a request's items; writes: one unit per 1 KB of the item).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping
from typing import Any

#: AWS list prices, us-east-1, as published on the AWS pricing pages (taken 2026-12-01):
#: KMS https://aws.amazon.com/kms/pricing/, S3 https://aws.amazon.com/s3/pricing/ (Standard),
#: DynamoDB https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the November 2024
#: reduction), SQS https://aws.amazon.com/sqs/pricing/ (standard queue), Lambda
#: https://aws.amazon.com/lambda/pricing/ (Arm), CloudWatch https://aws.amazon.com/cloudwatch/
#: pricing/ (Logs standard ingestion), X-Ray https://aws.amazon.com/xray/pricing/.
PRICES_DATE = "2026-12-01"
PRICES: Mapping[str, float] = {
    "kms_request": 0.03 / 10_000,
    "s3_put": 0.005 / 1_000,
    "s3_get": 0.0004 / 1_000,
    "s3_delete": 0.0,
    "dynamodb_rru": 0.125 / 1_000_000,
    "dynamodb_wru": 0.625 / 1_000_000,
    "sqs_request": 0.40 / 1_000_000,
    "lambda_request": 0.20 / 1_000_000,
    "lambda_gb_s_arm": 0.0000133334,
    "logs_gb": 0.50,
    "xray_trace": 5.0 / 1_000_000,
}

ENVIRONMENTS = 10_000
BATCH = 10  # SQS messages per batch and records per validate invocation


def _ops(figures: Mapping[str, Any]) -> dict[str, float]:
    return dict(figures.get("requests_per_validation") or {})


def _validation_cost(
    ops: Mapping[str, float],
    *,
    kms_via_s3: float,
    state_bytes: int,
    flag_bytes: int,
    lambda_ms: float,
    memory_gb: float,
    log_bytes: float,
) -> dict[str, float]:
    """Dollars of one validation, by service."""
    get = ops.get("dynamodb.GetItem", 0.0)
    query = ops.get("dynamodb.Query", 0.0)
    puts = ops.get("dynamodb.PutItem", 0.0) + ops.get("dynamodb.UpdateItem", 0.0)
    # a transactional write costs two write units per KB (DynamoDB pricing, "transactional")
    puts += 2 * ops.get("dynamodb.TransactWriteItems", 0.0)
    # GetItem: one 4 KB unit each (every item is < 4 KB); Query: the partition's bytes
    rru = get + query * max(1, math.ceil(state_bytes / 4096))
    wru = puts * max(1, math.ceil(flag_bytes / 1024))
    kms = sum(v for k, v in ops.items() if k.startswith("kms.")) + kms_via_s3
    return {
        "KMS": kms * PRICES["kms_request"],
        "S3": ops.get("s3.PutObject", 0.0) * PRICES["s3_put"]
        + ops.get("s3.GetObject", 0.0) * PRICES["s3_get"],
        "DynamoDB": rru * PRICES["dynamodb_rru"] + wru * PRICES["dynamodb_wru"],
        "Lambda": lambda_ms / 1000 * memory_gb * PRICES["lambda_gb_s_arm"],
        "Logs": log_bytes / 1e9 * PRICES["logs_gb"],
    }


def day_cost(figures: Mapping[str, Any], args: argparse.Namespace, *, adaptive: bool) -> dict:
    """Dollars per day for ``ENVIRONMENTS`` environments, by service."""
    per_day = 24 * 60 / args.period_minutes  # validations per environment per day
    full_per_day = min(per_day, 24 * 60 / args.canary_max_age_minutes) if adaptive else per_day
    light_per_day = per_day - full_per_day
    full = figures.get("full_validation") or figures
    common = {
        "state_bytes": figures.get("state_query_bytes", 2048),
        "flag_bytes": figures.get("flag_item_bytes", 1024),
        "memory_gb": args.memory_mb / 1024,
    }
    light_cost = _validation_cost(
        _ops(figures),
        kms_via_s3=figures.get("kms_requests_via_s3_canary", 0.0),
        lambda_ms=args.light_ms if adaptive else args.full_ms,
        log_bytes=args.log_bytes,
        **common,
    )
    full_cost = _validation_cost(
        _ops(full),
        kms_via_s3=full.get("kms_requests_via_s3_canary", 0.0),
        lambda_ms=args.full_ms,
        log_bytes=args.log_bytes,
        **common,
    )
    out = {
        k: ENVIRONMENTS * (light_per_day * light_cost[k] + full_per_day * full_cost[k])
        for k in full_cost
    }
    # the sweep: listing read units, one message per environment, Lambda requests
    listing_bytes = figures.get("index_bytes_per_environment") or figures.get(
        "registry_bytes_per_environment", 2048
    )
    out["DynamoDB"] += ENVIRONMENTS * per_day * listing_bytes / 4096 * PRICES["dynamodb_rru"]
    # the sweep's marker: one conditional UpdateItem of the flag item per environment per sweep
    # (charged by the item's size whether or not its condition holds)
    markers = figures.get("marker_writes", 0) / max(1, figures.get("environments", 1))
    flag_wru = max(1, math.ceil(common["flag_bytes"] / 1024))
    out["DynamoDB"] += ENVIRONMENTS * per_day * markers * flag_wru * PRICES["dynamodb_wru"]
    sqs_requests = ENVIRONMENTS * per_day * 3 / BATCH  # send, receive, delete in batches of 10
    out["SQS"] = sqs_requests * PRICES["sqs_request"]
    invocations = ENVIRONMENTS * per_day / BATCH
    out["Lambda"] += invocations * PRICES["lambda_request"]
    # X-Ray (Tracing: Active): default sampling, 1 trace/s plus 5% of the rest
    rate = invocations / 86_400
    out["X-Ray"] = (min(rate, 1) + 0.05 * max(0.0, rate - 1)) * 86_400 * PRICES["xray_trace"]
    return out


def _table(rows: Mapping[str, Mapping[str, float]]) -> str:
    services = list(next(iter(rows.values())))
    head = "| service | " + " | ".join(rows) + " |"
    sep = "|---|" + "---:|" * len(rows)
    lines = [head, sep]
    for s in services:
        lines.append(f"| {s} | " + " | ".join(f"${r[s]:.2f}" for r in rows.values()) + " |")
    lines.append(
        "| **total per day** | "
        + " | ".join(f"**${sum(r.values()):.2f}**" for r in rows.values())
        + " |"
    )
    lines.append(
        "| per environment per month | "
        + " | ".join(f"${sum(r.values()) * 30 / ENVIRONMENTS:.4f}" for r in rows.values())
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--after", required=True, help="sweep_scale.py JSON of the current code")
    parser.add_argument("--before", help="sweep_scale.py JSON of the code before")
    parser.add_argument("--period-minutes", type=float, default=5.0)
    parser.add_argument("--canary-max-age-minutes", type=float, default=60.0)
    parser.add_argument("--memory-mb", type=float, default=512.0)
    parser.add_argument("--light-ms", type=float, default=60.0, help="assumed, see docs/cost.md")
    parser.add_argument("--full-ms", type=float, default=150.0, help="assumed, see docs/cost.md")
    parser.add_argument("--before-ms", type=float, default=300.0, help="assumed, see docs/cost.md")
    parser.add_argument("--log-bytes", type=float, default=100.0, help="per validation, assumed")
    parser.add_argument("--before-log-bytes", type=float, default=1000.0)
    args = parser.parse_args(argv)
    with open(args.after) as fh:
        after = json.load(fh)
    rows: dict[str, dict[str, float]] = {}
    if args.before:
        with open(args.before) as fh:
            before = json.load(fh)
        old = argparse.Namespace(
            **{**vars(args), "full_ms": args.before_ms, "log_bytes": args.before_log_bytes}
        )
        rows["before"] = day_cost(before, old, adaptive=False)
    rows[f"after ({args.period_minutes:g} min sweep)"] = day_cost(after, args, adaptive=True)
    slow = argparse.Namespace(**{**vars(args), "period_minutes": 15.0})
    rows["after, 15 min sweep"] = day_cost(after, slow, adaptive=True)
    print(
        f"Per {ENVIRONMENTS:,} environments per day (prices {PRICES_DATE}, us-east-1; "
        f"canary max age {args.canary_max_age_minutes:g} min; Lambda {args.light_ms:g} / "
        f"{args.full_ms:g} ms per light / full validation (before: {args.before_ms:g} ms), "
        f"{args.memory_mb:g} MB; logs {args.log_bytes:g} B per validation (before: "
        f"{args.before_log_bytes:g} B)):\n"
    )
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
