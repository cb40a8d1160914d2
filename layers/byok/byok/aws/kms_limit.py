"""Keep the platform's KMS reads under a share of each KMS request quota (token buckets).

Why: KMS quotas are per account and Region, and a cross-account call counts against the
**caller's** quota: every DescribeKey the platform role makes on a customer's key spends the
platform account's 2,000/s, shared with everything else the platform runs there. At 100,000
environments a sweep alone would take two thirds of GetKeyRotationStatus' 1,000/s. So each
container paces its calls: one token bucket per (platform account, Region, operation) refilled at
``quota * share / workers`` requests per second, where ``workers`` is the most containers that
run at once (the validate function's maximum concurrency). The sum over all workers then stays
under ``share`` of the quota whatever they do; a container never needs to talk to another one.
A call waits for its token (the sweep has minutes, the quota is per second); it is never dropped.

Pure Python (a clock and a sleep are injected): no boto3 here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from byok.errors import InputError

__all__ = ["DEFAULT_QUOTAS", "KmsRateLimiter", "TokenBucket"]

#: KMS request quotas (requests per second per account and Region) of the calls validation makes
#: (AWS KMS developer guide, "Request quotas"; all adjustable: set KMS_QUOTAS to what yours are)
DEFAULT_QUOTAS: Final[Mapping[str, float]] = MappingProxyType(
    {"DescribeKey": 2000.0, "GetKeyRotationStatus": 1000.0, "GetKeyPolicy": 1000.0}
)
DEFAULT_SHARE: Final = 0.5


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved; ``take`` reserves one and waits.

    Reservations may drive the balance negative: each caller then sleeps for its own place in
    the line, outside the lock, so concurrent threads are paced without busy waiting.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise InputError(f"rate: expected a positive number of requests per second, got {rate}")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._tokens = self.burst
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take one token, waiting as long as needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self.rate
        if wait > 0:
            self._sleep(wait)
        return wait


@dataclass
class KmsRateLimiter:
    """One ``TokenBucket`` per (account, Region, operation), each at quota * share / workers."""

    share: float = DEFAULT_SHARE
    workers: int = 1
    quotas: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_QUOTAS))
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _buckets: dict[tuple[str, str, str], TokenBucket] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: seconds waited in total (a metric for the sweep: is the share too small?)
    waited: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.share <= 1:
            raise InputError(f"KMS_QUOTA_SHARE: expected a fraction in (0, 1], got {self.share}")
        if self.workers < 1:
            raise InputError(f"KMS_LIMIT_WORKERS: expected a whole number >= 1, got {self.workers}")

    def rate(self, operation: str) -> float | None:
        """Requests per second this container may make (None: not a limited operation)."""
        quota = self.quotas.get(operation)
        return None if quota is None else quota * self.share / self.workers

    def acquire(self, operation: str, account: str, region: str) -> float:
        """Wait for a token for ``operation`` against ``account``'s quota in ``region``."""
        rate = self.rate(operation)
        if rate is None:
            return 0.0
        key = (account, region, operation)
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = TokenBucket(rate, clock=self.clock, sleep=self.sleep)
                self._buckets[key] = bucket
        waited = bucket.take()
        if waited:
            with self._lock:
                self.waited += waited
        return waited

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> KmsRateLimiter:
        """``KMS_QUOTA_SHARE`` (default 0.5), ``KMS_LIMIT_WORKERS`` (default 1: set it to the
        validate function's maximum concurrency), ``KMS_QUOTAS`` (``Op=rps,...`` overrides)."""
        share = _number(env.get("KMS_QUOTA_SHARE") or str(DEFAULT_SHARE), "KMS_QUOTA_SHARE")
        raw_workers = env.get("KMS_LIMIT_WORKERS") or "1"
        if not raw_workers.isdigit():
            raise InputError(
                f"KMS_LIMIT_WORKERS: expected a whole number >= 1, got {raw_workers!r}"
            )
        quotas = dict(DEFAULT_QUOTAS)
        for part in (env.get("KMS_QUOTAS") or "").split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition("=")
            if not sep or not name.strip():
                raise InputError(
                    f"KMS_QUOTAS: expected Operation=requests_per_second, got {part!r}"
                )
            quotas[name.strip()] = _number(value, f"KMS_QUOTAS {name.strip()}")
        return cls(share=share, workers=int(raw_workers), quotas=quotas)


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}: expected a number, got {raw!r}") from None
    if value <= 0:
        raise InputError(f"{name}: expected a positive number, got {raw!r}")
    return value
