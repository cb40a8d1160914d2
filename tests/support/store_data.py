"""An environment and flags for the store tests (both implementations)."""

from __future__ import annotations

from byok.health import HealthFlag
from byok.models import Environment, HealthStatus

ACCOUNT = "111122223333"
REGION = "eu-west-1"
ENV_TABLE, AUDIT_TABLE = "byok-environments", "byok-audit"


def key(n: int) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{n:08d}-1111-2222-3333-444444444444"


def env(
    env_id: str = "acme-prod", s3: int = 1, aurora: int = 2, cluster: str = "", bucket: str = ""
) -> Environment:
    return Environment.create(
        environment_id=env_id,
        customer_account=ACCOUNT,
        region=REGION,
        s3_key_arn=key(s3),
        aurora_key_arn=key(aurora),
        bucket=bucket or f"{env_id}-data",
        cluster_id=cluster or f"{env_id}-db",
    )


def flag(checked_at: str, status: HealthStatus = HealthStatus.HEALTHY, **kw: object) -> HealthFlag:
    return HealthFlag(
        environment_id="acme-prod",
        status=status,
        since="2026-11-25T03:00:00+00:00",
        checked_at=checked_at,
        **kw,  # type: ignore[arg-type]
    )
