"""The KMS rate limiter: each container paces itself at quota * share / workers."""

from __future__ import annotations

import threading

import pytest

from byok.aws.kms_limit import DEFAULT_QUOTAS, KmsRateLimiter, TokenBucket
from byok.errors import InputError


class FakeTime:
    """A clock that only moves when the limiter sleeps (so waits are exact, and instant)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def clock(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_bucket_paces_calls_at_its_rate_after_the_burst() -> None:
    t = FakeTime()
    bucket = TokenBucket(10.0, clock=t.clock, sleep=t.sleep)
    for _ in range(10):  # one second of burst: no wait
        assert bucket.take() == 0.0
    for _ in range(20):
        bucket.take()
    assert t.now == pytest.approx(2.0)  # 20 more calls at 10/s


def test_rate_is_quota_times_share_divided_by_workers() -> None:
    limiter = KmsRateLimiter(share=0.5, workers=5)
    assert limiter.rate("DescribeKey") == pytest.approx(DEFAULT_QUOTAS["DescribeKey"] * 0.5 / 5)
    assert limiter.rate("GetKeyRotationStatus") == pytest.approx(100.0)
    assert limiter.rate("Decrypt") is None  # not limited here (made by S3 for the canary)


def test_workers_together_stay_under_the_share_of_the_quota() -> None:
    """N containers, each with its own limiter, in one simulated second: <= share * quota."""
    t = FakeTime()
    workers = 4
    limiters = [
        KmsRateLimiter(
            share=0.25, workers=workers, quotas={"DescribeKey": 400.0}, clock=t.clock, sleep=t.sleep
        )
        for _ in range(workers)
    ]
    calls_in_first_second = 0
    # round robin, as concurrent workers would interleave; the clock moves only when one waits
    for _ in range(200):
        for limiter in limiters:
            limiter.acquire("DescribeKey", "444455556666", "eu-west-1")
            if t.now < 1.0:
                calls_in_first_second += 1
    # burst (one second's worth, 25 per worker) plus one second of refill (25 per worker)
    assert calls_in_first_second <= 2 * 0.25 * 400.0
    assert t.now >= (200 * workers) / (0.25 * 400.0) - 2.0  # paced at the share overall


def test_buckets_are_per_account_region_and_operation() -> None:
    t = FakeTime()
    limiter = KmsRateLimiter(
        share=1.0, workers=1, quotas={"DescribeKey": 1.0}, clock=t.clock, sleep=t.sleep
    )
    assert limiter.acquire("DescribeKey", "444455556666", "eu-west-1") == 0.0
    assert limiter.acquire("DescribeKey", "444455556666", "us-east-1") == 0.0
    assert limiter.acquire("DescribeKey", "111122223333", "eu-west-1") == 0.0
    assert limiter.acquire("DescribeKey", "444455556666", "eu-west-1") == pytest.approx(1.0)
    assert limiter.waited == pytest.approx(1.0)


def test_concurrent_threads_share_one_bucket() -> None:
    t = FakeTime()
    limiter = KmsRateLimiter(
        share=1.0, workers=1, quotas={"DescribeKey": 50.0}, clock=t.clock, sleep=t.sleep
    )

    def work() -> None:
        for _ in range(25):
            limiter.acquire("DescribeKey", "444455556666", "eu-west-1")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # 200 calls at 50/s after a 50-call burst: at least 3 s of waiting in total, spread
    assert limiter.waited >= 3.0 - 1e-6


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"KMS_QUOTA_SHARE": "0"}, "KMS_QUOTA_SHARE"),
        ({"KMS_QUOTA_SHARE": "1.5"}, "KMS_QUOTA_SHARE"),
        ({"KMS_QUOTA_SHARE": "half"}, "KMS_QUOTA_SHARE"),
        ({"KMS_LIMIT_WORKERS": "0"}, "KMS_LIMIT_WORKERS"),
        ({"KMS_LIMIT_WORKERS": "-3"}, "KMS_LIMIT_WORKERS"),
        ({"KMS_QUOTAS": "DescribeKey"}, "KMS_QUOTAS"),
        ({"KMS_QUOTAS": "DescribeKey=-1"}, "KMS_QUOTAS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], field: str) -> None:
    with pytest.raises(InputError, match=field):
        KmsRateLimiter.from_env(env)


def test_settings_from_the_environment() -> None:
    limiter = KmsRateLimiter.from_env(
        {"KMS_QUOTA_SHARE": "0.2", "KMS_LIMIT_WORKERS": "10", "KMS_QUOTAS": "DescribeKey=10000"}
    )
    assert limiter.rate("DescribeKey") == pytest.approx(200.0)
    assert limiter.rate("GetKeyRotationStatus") == pytest.approx(20.0)
