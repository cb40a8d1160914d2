"""Aurora recovery after key loss: StartDBCluster from the "recoverable" state.

AWS (Aurora User Guide, "Encrypting Amazon Aurora resources"; docs/aws-notes.md): when a cluster's
key is disabled the cluster goes to ``inaccessible-encryption-credentials-recoverable``; once the
key is usable again (enable it, or cancel deletion and enable) ``StartDBCluster`` brings it back.
moto 5.2 starts only ``stopped`` clusters, although its own error message lists the recoverable
state as accepted.

Patched: ``RDSBackend.start_db_cluster`` accepts a recoverable cluster when its key (by the
cluster's ``KmsKeyId``, in the key owner's account) is Enabled, and answers
``KMSKeyNotAccessibleFault`` otherwise. The terminal ``inaccessible-encryption-credentials``
state still refuses (moto's ``InvalidDBClusterStateFault``). The key policy is not evaluated:
Aurora uses the grant it took at creation.

Not modelled: the transition itself (disabling a key does not stop clusters here; tests set the
status on the moto backend), the 7-day move to the terminal state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.kms.models import Key, kms_backends
from moto.rds.exceptions import KMSKeyNotAccessibleFault
from moto.rds.models import RDSBackend

from ._patching import Patch

RECOVERABLE = "inaccessible-encryption-credentials-recoverable"


def _cluster_key(key_ref: str | None, account: str, region: str) -> Key | None:
    if not key_ref:
        return None
    if key_ref.startswith("arn:"):
        parts = key_ref.split(":", 5)
        if len(parts) != 6:
            return None
        account, region = parts[4], parts[3]
    backend = kms_backends[account][region]
    try:
        return backend.keys.get(backend.any_id_to_key_id(key_ref))
    except (KeyError, TypeError, AttributeError):
        return None


def _start_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def start_db_cluster(self: RDSBackend, cluster_identifier: str) -> Any:
        cluster = self.clusters.get(cluster_identifier)
        if cluster is None or cluster.status != RECOVERABLE:
            return original(self, cluster_identifier)
        key = _cluster_key(cluster.kms_key_id, self.account_id, self.region_name)
        if key is None or key.key_state != "Enabled":
            raise KMSKeyNotAccessibleFault(cluster.kms_key_id)
        cluster.status = "stopped"
        try:
            return original(self, cluster_identifier)
        except Exception:
            cluster.status = RECOVERABLE
            raise

    start_db_cluster.__wrapped__ = original  # type: ignore[attr-defined]
    return start_db_cluster


PATCHES: list[Patch] = [
    Patch(RDSBackend, "start_db_cluster", _start_db_cluster, why="recover after key enabled"),
]
