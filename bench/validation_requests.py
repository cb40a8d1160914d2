"""AWS requests per warm sweep validation of an unchanged environment, on any checkout.

    git archive <commit> | tar -x -C /tmp/before
    .venv/bin/python bench/validation_requests.py --tree /tmp/before > before.json
    .venv/bin/python bench/cost_model.py --after after.json --before before.json

Why a separate script: ``sweep_scale.py`` uses the current code's sweep and probing API, so it
cannot measure the code before them; this one uses only what every version has
(``byok_world.build_world``, ``byok.service.validate_environment`` with a schedule trigger). It
counts every botocore API call in the process (``BaseClient._make_api_call``, so every client of
every session is seen) over ``--runs`` validations after a warm-up, and prints the JSON fields
``bench/cost_model.py`` reads: ``requests_per_validation`` (``service.Operation`` -> calls),
``kms_requests_via_s3_canary`` (S3 makes one KMS request per SSE-KMS PutObject and GetObject of
the canary, not a client call of byok-guard), and the item sizes of the environment's partition.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    from bench_env import use_tree

    tree = use_tree(args.tree.resolve())
    from botocore.client import BaseClient
    from byok_world import build_world
    from moto import mock_aws

    import byok_emulator
    from byok.service import schedule_trigger, validate_environment

    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: Any, operation: str, params: Any) -> Any:
        calls[f"{self.meta.service_model.service_name}.{operation}"] += 1
        return original(self, operation, params)

    with mock_aws(), byok_emulator.behaviour():
        world = build_world()
        deps = world.deps()
        env_id = world.env.environment_id
        for _ in range(2):  # warm: the first validation changes the flag, the second settles
            validate_environment(env_id, schedule_trigger(world.clock()), deps)
            world.clock.advance(minutes=5)
        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        try:
            for _ in range(args.runs):
                outcome = validate_environment(env_id, schedule_trigger(world.clock()), deps)
                assert not outcome.changed, outcome.to_dict()
                world.clock.advance(minutes=5)
        finally:
            BaseClient._make_api_call = original  # type: ignore[method-assign]
        items = world.store.client.query(
            TableName=world.store.environments_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"ENV#{env_id}"}},
        )["Items"]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from aws_calls import dynamodb_item_size

    sizes = {i["sk"]["S"]: dynamodb_item_size(i) for i in items}
    per = {k: v / args.runs for k, v in sorted(calls.items())}
    canary = per.get("s3.PutObject", 0.0) + per.get("s3.GetObject", 0.0)
    print(
        json.dumps(
            {
                "tree": str(tree),
                "runs": args.runs,
                "requests_per_validation": per,
                "kms_requests_via_s3_canary": canary,
                "state_query_bytes": sum(sizes.values()),
                "flag_item_bytes": sizes.get("HEALTH", 1024),
                "registry_bytes_per_environment": sum(sizes.values()),
            },
            sort_keys=True,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
