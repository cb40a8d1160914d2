"""How the sweep and the validations scale with the number of environments (counted requests).

    .venv/bin/python bench/sweep_scale.py --environments 1000 --format json
    .venv/bin/python bench/sweep_scale.py --environments 100000 --mode stub --format json

Two ways to answer AWS, and the JSON says which produced each figure:

- ``emulator`` (default up to 2,000 environments): in-process moto with ``byok_emulator``, N
  registered environments (2N customer keys, N Aurora cluster records, N buckets). The
  sweep's time includes moto's own cost, which grows faster than linearly with N (its SQS scans
  every queued message on each send, its DynamoDB Scan sorts per page): beyond a few thousand
  environments moto, not byok-guard, dominates.
- ``stub`` (default above 2,000): the Lambda side alone. The sweep's DynamoDB and SQS clients are
  answered by botocore's ``Stubber`` (``bench/aws_calls.ResponderStubber``: responses validated
  against the service models' output shapes, nothing leaves the process) from N synthetic
  environment items shaped like the ones the emulator run stores, paged the way DynamoDB pages
  (1 MB of items read per page, sized with DynamoDB's item-size rules from the emulator's real
  items). ``sweep_s`` then measures byok-guard plus botocore, no network.

The validation figures (requests per warm validation of an unchanged environment, validations per
second per worker) always come from the emulator, on a sample of environments: they do not
depend on N. Every request figure is counted with botocore event hooks (``bench/aws_calls``).
The KMS requests S3 makes for the canary (GenerateDataKey on put, Decrypt on get) are not client
calls of byok-guard: they are reported apart (``kms_requests_via_s3_canary``), from the canary
runs counted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bench_env import use_tree

ROOT = use_tree()

import boto3  # noqa: E402
from aws_calls import CallCounter, ResponderStubber, dynamodb_item_size  # noqa: E402

PAGE_BYTES = 1024 * 1024  # a Scan / Query page reads at most 1 MB
EMULATOR_LIMIT = 2000


# ---- the emulated world with N environments ---------------------------------------------------


def _add_environment(world: Any, index: int) -> Any:
    import byok_world as bw

    from byok.contract import render_policy
    from byok.models import Environment, Purpose
    from byok_emulator.platform_side import create_encrypted_bucket, create_encrypted_cluster

    kms = world.customer_kms
    env_id = f"env-{index:06d}"
    arns = {}
    for purpose in (Purpose.S3, Purpose.AURORA):
        arn = kms.create_key(
            Description=f"{env_id} {purpose.value}",
            KeySpec="SYMMETRIC_DEFAULT",
            KeyUsage="ENCRYPT_DECRYPT",
        )["KeyMetadata"]["Arn"]
        policy = render_policy(purpose, arn, bw.ROLE_ARN, full=True)
        kms.put_key_policy(KeyId=arn, PolicyName="default", Policy=json.dumps(policy))
        kms.enable_key_rotation(KeyId=arn)
        arns[purpose] = arn
    cluster = f"{env_id}-db"
    create_encrypted_cluster(world.platform, cluster, arns[Purpose.AURORA])
    bucket = f"{env_id}-data"  # a bucket belongs to one environment (registration claims it)
    create_encrypted_bucket(world.platform, bucket, bw.REGION, arns[Purpose.S3])
    env = Environment.create(
        environment_id=env_id,
        customer_account=bw.CUSTOMER,
        region=bw.REGION,
        s3_key_arn=arns[Purpose.S3],
        aurora_key_arn=arns[Purpose.AURORA],
        bucket=bucket,
        cluster_id=cluster,
    )
    world.store.register(env)
    return env


@contextmanager
def _no_transaction_backup() -> Iterator[None]:
    """Set-up only, two moto costs that are not byok-guard's. moto deep-copies the whole table
    before each transaction (its rollback), so registering N environments costs O(N^2) in moto;
    registrations here never fail, so the copy is skipped while the world is built. Every
    measured call runs on unpatched moto."""
    import copy

    import moto.dynamodb.models as models

    class _KeepTables:
        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            if isinstance(value, models.Table):
                return value
            return copy.deepcopy(value, memo)

    import moto.kms.models as kms_models

    # moto also makes an RSA key pair for every key, even a symmetric one (80 ms each): one
    # pair per key spec serves every key built here (unused by symmetric keys)
    make_pair = kms_models.generate_private_key
    pairs: dict[Any, Any] = {}

    def one_pair(spec: Any) -> Any:
        if spec not in pairs:
            pairs[spec] = make_pair(spec)
        return pairs[spec]

    models.copy = _KeepTables  # type: ignore[assignment]
    kms_models.generate_private_key = one_pair
    try:
        yield
    finally:
        models.copy = copy  # type: ignore[assignment]
        kms_models.generate_private_key = make_pair


def _build(n: int) -> tuple[Any, list[str]]:
    from byok_world import build_world

    world = build_world()
    ids = [world.env.environment_id]
    with _no_transaction_backup():
        for i in range(1, n):
            ids.append(_add_environment(world, i).environment_id)
    return world, ids


def _sweep(deps: Any) -> int:
    """One whole sweep: every invocation it takes (continuations run here, in order)."""
    from byok import service

    return int(service.run_sweep(deps))


def _drain(world: Any) -> None:
    sqs = world.platform.client("sqs")
    sqs.purge_queue(QueueUrl=world.validate_queue_url)


def _env_items_size(world: Any, env_id: str) -> tuple[int, int, dict[str, Any]]:
    """(bytes, items) of everything the registry holds for one environment, and its META item."""
    import byok_world as bw

    client = world.platform.client("dynamodb")
    env = world.store.get_environment(env_id)
    partitions = [
        f"ENV#{env_id}",
        f"KEY#{env.s3_key_arn}",
        f"KEY#{env.aurora_key_arn}",
        f"CLUSTER#{env.region}#{env.cluster_id}",
    ]
    size = count = 0
    meta: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    for pk in partitions:
        items = client.query(
            TableName=bw.ENVIRONMENTS_TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
        )["Items"]
        for item in items:
            size += dynamodb_item_size(item)
            count += 1
            if item["sk"]["S"] == "META":
                meta = item
            if pk.startswith("ENV#"):
                sizes["state_query_bytes"] = sizes.get("state_query_bytes", 0) + (
                    dynamodb_item_size(item)
                )
                if item["sk"]["S"] == "HEALTH":
                    sizes["flag_item_bytes"] = dynamodb_item_size(item)
    _SIZES.update(sizes)
    return size, count, meta


#: item sizes of the last environment measured (read into the JSON: the cost model prices them)
_SIZES: dict[str, int] = {}


def _warm(world: Any, deps: Any, chosen: list[str], counter: CallCounter) -> dict[str, Any]:
    """Warm validations of ``chosen`` as the sweep runs them: counted and timed."""
    from byok.service import process_validate_message, schedule_trigger

    before = counter.snapshot()
    times: list[float] = []
    for env_id in chosen:  # same container, environment unchanged
        world.clock.advance(seconds=1)
        body = {"environment_id": env_id, "trigger": schedule_trigger(world.clock()).to_dict()}
        start = time.perf_counter()
        outcome = process_validate_message(body, deps)
        times.append(time.perf_counter() - start)
        if outcome.changed:
            raise SystemExit(f"{env_id}: a warm validation changed the flag: {outcome}")
    warm = counter.snapshot() - before
    n = len(chosen)
    by_service = CallCounter.by_service(warm)
    return {
        "dynamodb_requests_per_validation": by_service.get("dynamodb", 0) / n,
        "assume_role_per_validation": warm.get(("sts", "AssumeRole"), 0) / n,
        # per key: the client calls on each of the environment's two keys
        "kms_requests_per_key": by_service.get("kms", 0) / n / 2,
        # the canary's PutObject makes S3 call GenerateDataKey, its GetObject Decrypt
        "kms_requests_via_s3_canary": 2 * warm.get(("s3", "PutObject"), 0) / n,
        "s3_requests_per_validation": by_service.get("s3", 0) / n,
        "requests_per_validation": {f"{s}.{o}": v / n for (s, o), v in sorted(warm.items())},
        "validation_ms_median": round(statistics.median(times) * 1000, 2),
        "validations_per_s_per_worker": round(n / sum(times), 2),
    }


def _validations(world: Any, ids: list[str], sample: int) -> dict[str, Any]:
    """Cold, then warm validations of ``sample`` environments (one container): the sweep's
    usual validation (adaptive probing: whatever it decides), then one with the canary due."""
    from byok.service import process_validate_message, schedule_trigger

    chosen = ids[: max(1, min(sample, len(ids)))]
    counter = CallCounter()
    with counter.active():
        deps = world.deps()
        counter.watch(deps.store.client)  # created before the counter
        trigger = schedule_trigger(world.clock()).to_dict()
        for env_id in chosen:  # cold: first flag, first health change, first canary
            process_validate_message({"environment_id": env_id, "trigger": trigger}, deps)
        usual = _warm(world, deps, chosen, counter)
        full: dict[str, Any] = {}
        if hasattr(deps, "probe"):  # adaptive probing: the validation with the canary due
            from datetime import timedelta

            from byok.probing import ProbeSettings

            deps.probe = ProbeSettings(max_age=timedelta(0))
            full = _warm(world, deps, chosen, counter)
    return {"validation_sample": len(chosen), **usual, "full_validation": full or usual}


def run_emulator(n: int, sample: int) -> dict[str, Any]:
    from moto import mock_aws

    import byok_emulator

    with mock_aws(), byok_emulator.behaviour():
        world, ids = _build(n)
        figures = _validations(world, ids, sample)
        size, count, _ = _env_items_size(world, ids[0])
        counter = CallCounter()
        with counter.active():
            deps = world.deps()  # clients created under the counter
            counter.watch(deps.store.client)
            start = time.perf_counter()
            sent = _sweep(deps)
            sweep_s = time.perf_counter() - start
        calls = counter.snapshot()
    return {
        "environments": n,
        "mode": "emulator",
        "sweep_s": round(sweep_s, 4),
        "enqueued": sent,
        **_sweep_figures(calls, n),
        "registry_bytes_per_environment": size,
        "registry_items_per_environment": count,
        **_SIZES,
        **figures,
    }


def _sweep_figures(calls: Mapping[tuple[str, str], int], n: int) -> dict[str, Any]:
    listing = sum(v for (s, o), v in calls.items() if s == "dynamodb" and o in ("Scan", "Query"))
    return {
        "scan_pages": listing,
        "send_batches": calls.get(("sqs", "SendMessageBatch"), 0),
        "send_batches_max": math.ceil(n / 10),
        # one conditional UpdateItem per environment that has a flag: the sweep's marker (at
        # most one queued sweep validation per environment)
        "marker_writes": calls.get(("dynamodb", "UpdateItem"), 0),
        "sweep_requests": {f"{s}.{o}": v for (s, o), v in sorted(calls.items())},
    }


# ---- the Lambda side alone: Stubber answers -------------------------------------------------


class _Registry:
    """N synthetic environment items answered page by page as DynamoDB would page them."""

    def __init__(self, n: int, meta: Mapping[str, Any], bytes_per_env: int, items_per_env: int):
        self.n = n
        self.meta = meta
        self.per_page = max(1, PAGE_BYTES // bytes_per_env)
        self.items_per_env = items_per_env

    def meta_item(self, i: int) -> dict[str, Any]:
        env_id = f"env-{i:06d}"
        item = dict(self.meta)
        s3_key, aurora_key = uuid.UUID(int=2 * i), uuid.UUID(int=2 * i + 1)
        item.update(
            pk={"S": f"ENV#{env_id}"},
            environment_id={"S": env_id},
            s3_key_arn={"S": f"arn:aws:kms:eu-west-1:111122223333:key/{s3_key}"},
            aurora_key_arn={"S": f"arn:aws:kms:eu-west-1:111122223333:key/{aurora_key}"},
            cluster_id={"S": f"{env_id}-db"},
        )
        return item

    def page(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A table Scan reads every item of each environment (1 MB per page, filtered); the
        sparse index holds one keys-only entry per environment."""
        start = 0
        if params.get("ExclusiveStartKey"):
            start = int(params["ExclusiveStartKey"]["pk"]["S"].split("-")[-1]) + 1
        index = params.get("IndexName")
        items = []
        per_page = self.per_page
        if index:
            keys = ("pk", "sk", "customer_account", "environment_id")
            per_page = max(1, PAGE_BYTES // dynamodb_item_size(self.index_item(0, keys)))
        stop = min(self.n, start + per_page)
        if params.get("Limit"):
            stop = min(stop, start + int(params["Limit"]))
        if index:
            items = [self.index_item(i, keys) for i in range(start, stop)]
        else:
            items = [self.meta_item(i) for i in range(start, stop)]
        answer: dict[str, Any] = {
            "Items": items,
            "Count": len(items),
            "ScannedCount": len(items) * (1 if index else self.items_per_env),
        }
        if stop < self.n:
            last = items[-1]
            names = keys if index else ("pk", "sk")
            answer["LastEvaluatedKey"] = {k: last[k] for k in names}
        return answer

    def index_item(self, i: int, keys: tuple[str, ...]) -> dict[str, Any]:
        item = self.meta_item(i)
        return {k: item[k] for k in keys}


def _sqs_answer(operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    if operation != "SendMessageBatch":
        raise AssertionError(f"sqs.{operation}: not expected from the sweep")
    return {
        "Successful": [
            {
                "Id": e["Id"],
                "MessageId": str(uuid.uuid4()),
                "MD5OfMessageBody": hashlib.md5(e["MessageBody"].encode()).hexdigest(),
            }
            for e in params["Entries"]
        ],
        "Failed": [],
    }


def run_stub(n: int, sample: int, repeat: int = 3) -> dict[str, Any]:
    from moto import mock_aws

    import byok_emulator

    # the item shapes and the validation figures come from a small emulated world
    with mock_aws(), byok_emulator.behaviour():
        world, ids = _build(max(1, min(sample, 20)))
        figures = _validations(world, ids, sample)
        size, count, meta = _env_items_size(world, ids[0])
    registry = _Registry(n, meta, size, count)

    from byok.store import Store

    session = boto3.session.Session(region_name="eu-west-1")
    counter = CallCounter()
    with counter.active():
        ddb = session.client("dynamodb")
        sqs = session.client("sqs")

    def ddb_answer(operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if operation in ("Scan", "Query"):
            return registry.page(params)
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            return {}
        raise AssertionError(f"dynamodb.{operation}: not expected from the sweep")

    ResponderStubber(ddb, ddb_answer).activate()
    ResponderStubber(sqs, _sqs_answer).activate()
    import byok_world as bw
    from byok_world import Clock

    from byok.service import Deps, ServiceSettings

    deps = Deps(
        store=Store(bw.ENVIRONMENTS_TABLE, bw.AUDIT_TABLE, client=ddb),
        session_factory=lambda: session,
        settings=ServiceSettings(
            platform_role_arn=bw.ROLE_ARN,
            validate_queue_url="https://sqs.eu-west-1.amazonaws.com/444455556666/byok-validate",
        ),
        clock=Clock(),
        sqs=sqs,
    )
    # With nothing but CPU work left (no network), the sweep's time is this process's CPU
    # time: immune to the other work on a shared machine, unlike the wall clock (also given).
    # The fastest of a few sweeps.
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeat):
        before = counter.snapshot()
        start, start_cpu = time.perf_counter(), time.process_time()
        sent = _sweep(deps)
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        calls = counter.snapshot() - before
    return {
        "environments": n,
        "mode": "stub",
        "sweep_s": round(min(cpu), 4),
        "sweep_s_measure": "process CPU seconds (Lambda side alone), fastest of the runs",
        "sweep_s_runs": [round(t, 4) for t in cpu],
        "sweep_wall_s_runs": [round(t, 4) for t in wall],
        "enqueued": sent,
        **_sweep_figures(calls, n),
        "registry_bytes_per_environment": size,
        "registry_items_per_environment": count,
        **_SIZES,
        "validation_mode": "emulator",
        **figures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--environments", type=int, required=True)
    parser.add_argument("--mode", choices=("auto", "emulator", "stub"), default="auto")
    parser.add_argument("--sample", type=int, default=50, help="environments validated")
    parser.add_argument("--format", choices=("json", "text"), default="text")
    args = parser.parse_args(argv)
    if args.environments < 1:
        parser.error("--environments: expected a positive number")
    mode = args.mode
    if mode == "auto":
        mode = "emulator" if args.environments <= EMULATOR_LIMIT else "stub"
    run = run_emulator if mode == "emulator" else run_stub
    result = run(args.environments, args.sample)
    if args.format == "json":
        print(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            print(f"{key:40} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
