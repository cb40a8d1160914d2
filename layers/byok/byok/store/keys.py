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
        ENV#<id>                     RECOVERY     a change to HEALTHY from an incident, until the
                                                  scheduled remediation replayed its plan
        ENV#<id>                     POLICY#<key arn>  the newest key policy a PutKeyPolicy event
                                                  carried for a key the environment uses (read
                                                  with the rest of the partition: one Query)
        KEY#<key arn>                CLAIM        which environment (and purpose) owns a key
        KEY#<key arn>                POLICY       the same, for a key no environment named
        CLUSTER#<region>#<cluster>   CLAIM        which environment owns an Aurora cluster
        BUCKET#<partition>#<bucket>  CLAIM        which environment owns an S3 bucket (bucket
                                                  names are unique within a partition)
    audit         pk = ENV#<id> (S, HASH), sk = <fixed-width UTC time>#<uuid> (S, RANGE)
    idempotency   id (S, HASH), TTL on ``expiration`` (Powertools defaults)

Sparse index ``attention`` (environments table, hash key ``attention`` = the environment id,
keys only): only the items of environments the scheduled remediation must look at carry the
attribute, the ``HEALTH`` flag while it is not HEALTHY (an open incident, reminders due), the
``RECOVERY`` marker of a recovery until its plan (resume writes, the all-clear notice, the
cluster start) has been replayed, and a ``ONCE#<incident>:start_cluster`` marker until the
cluster is available again. A Scan of the
index reads those items only, however many healthy environments there are.

Sparse index ``environments`` (hash ``customer_account``, range ``environment_id``, keys only):
only ``META`` items have a ``customer_account``, so a Scan of it lists the environments and
nothing else (about 100 bytes each instead of every item of the table): the sweep's listing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from byok.times import sort_key

__all__ = [
    "ATTENTION",
    "ATTENTION_INDEX",
    "CLAIM",
    "ENVIRONMENTS_INDEX",
    "ENVIRONMENTS_INDEX_KEYS",
    "ENV_PREFIX",
    "HEALTH",
    "META",
    "ONCE_PREFIX",
    "OUTBOX",
    "POLICY",
    "RECOVERY",
    "REMEMBERED_POLICY_PREFIX",
    "audit_sk",
    "bucket_pk",
    "cluster_pk",
    "env_pk",
    "key_pk",
    "once_sk",
    "policy_sk",
    "time_key",
]

ENV_PREFIX: Final = "ENV#"
META: Final = "META"
HEALTH: Final = "HEALTH"
OUTBOX: Final = "OUTBOX"
CLAIM: Final = "CLAIM"
POLICY: Final = "POLICY"
ONCE_PREFIX: Final = "ONCE#"
RECOVERY: Final = "RECOVERY"
REMEMBERED_POLICY_PREFIX: Final = "POLICY#"
#: the sparse index of environments needing the scheduled remediation, and its key attribute
ATTENTION_INDEX: Final = "attention"
ATTENTION: Final = "attention"
#: the sparse index of environment items (the sweep lists it), and its key attributes
ENVIRONMENTS_INDEX: Final = "environments"
ENVIRONMENTS_INDEX_KEYS: Final = ("customer_account", "environment_id")


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


def policy_sk(key_arn: str) -> str:
    return f"{REMEMBERED_POLICY_PREFIX}{key_arn}"


def time_key(value: datetime | str) -> str:
    """A fixed-width UTC form of a time (``times.sort_key``), so string order is time order in
    DynamoDB: ``...:24Z`` and ``...:24.5Z`` would compare the wrong way as given; both become
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` here.
    """
    return sort_key(value)


def audit_sk(recorded_at: datetime | str) -> str:
    """``<time_key>#<uuid>``: time order, and two records in the same microsecond never collide."""
    return f"{time_key(recorded_at)}#{uuid.uuid4()}"
