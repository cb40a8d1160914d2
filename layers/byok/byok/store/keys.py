"""The key scheme of the two tables, spelled once.

Why one module: every item's place in DynamoDB (which partition, which sort key) is part of the
stored contract (``template.yaml`` declares the tables, operators query them, a migration must
find them); no other module in byok-guard may build a key, so the layout can be read, and
changed, here alone. Table layout (``create_tables`` and ``template.yaml`` declare it)::

    environments  pk (S, HASH) + sk (S, RANGE)
        ENV#<id>                     META         the environment (and its writes_paused state)
        ENV#<id>                     HEALTH       its health flag
        ENV#<id>                     OUTBOX       its newest health-changed event, until published
        ENV#<id>                     ONCE#<step>  a remediation step that ran (exactly once)
        KEY#<key arn>                CLAIM        which environment (and purpose) owns a key
        KEY#<key arn>                POLICY       the newest key policy a PutKeyPolicy event carried
        CLUSTER#<region>#<cluster>   CLAIM        which environment owns an Aurora cluster
        BUCKET#<partition>#<bucket>  CLAIM        which environment owns an S3 bucket (bucket
                                                  names are unique within a partition)
    audit         pk = ENV#<id> (S, HASH), sk = <fixed-width UTC time>#<uuid> (S, RANGE)
    idempotency   id (S, HASH), TTL on ``expiration`` (Powertools defaults)
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Final

from byok.times import parse_time

__all__ = [
    "CLAIM",
    "ENV_PREFIX",
    "HEALTH",
    "META",
    "ONCE_PREFIX",
    "OUTBOX",
    "POLICY",
    "audit_sk",
    "bucket_pk",
    "cluster_pk",
    "env_pk",
    "key_pk",
    "once_sk",
    "time_key",
]

ENV_PREFIX: Final = "ENV#"
META: Final = "META"
HEALTH: Final = "HEALTH"
OUTBOX: Final = "OUTBOX"
CLAIM: Final = "CLAIM"
POLICY: Final = "POLICY"
ONCE_PREFIX: Final = "ONCE#"


def env_pk(environment_id: str) -> str:
    return f"{ENV_PREFIX}{environment_id}"


def key_pk(key_arn: str) -> str:
    return f"KEY#{key_arn}"


def cluster_pk(region: str, cluster_id: str) -> str:
    return f"CLUSTER#{region}#{cluster_id}"


def bucket_pk(partition: str, bucket: str) -> str:
    return f"BUCKET#{partition}#{bucket}"


def once_sk(once_key: str) -> str:
    return f"{ONCE_PREFIX}{once_key}"


def time_key(value: str) -> str:
    """A fixed-width UTC form of an ISO time, so string order is time order in DynamoDB.

    ``...:24Z`` and ``...:24.5Z`` would compare the wrong way as given; both become
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` here.
    """
    return parse_time(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def audit_sk(recorded_at: str) -> str:
    """``<time_key>#<uuid>``: time order, and two records in the same microsecond never collide."""
    return f"{time_key(recorded_at)}#{uuid.uuid4()}"
