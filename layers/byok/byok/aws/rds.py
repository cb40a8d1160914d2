"""Aurora cluster status, encryption and key (DescribeDBClusters), in the platform account."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from byok.aws.errors import classify
from byok.permissions import As, Resource, declare
from byok.validation.facts import ClusterFacts

__all__ = ["describe_cluster"]

PERMISSIONS = declare(("rds:DescribeDBClusters",), Resource.ENVIRONMENT_CLUSTER, As.PLATFORM_ROLE)


def describe_cluster(rds: Any, cluster_id: str) -> ClusterFacts:
    try:
        clusters = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"]
    except (ClientError, BotoCoreError) as exc:
        return ClusterFacts(cluster_id, error=classify(exc, "DescribeDBClusters"))
    if not clusters:
        return ClusterFacts(
            cluster_id,
            error=_not_found(cluster_id),
        )
    c = clusters[0]
    return ClusterFacts(
        cluster_id,
        status=c.get("Status"),
        storage_encrypted=bool(c.get("StorageEncrypted", False)),
        kms_key_id=c.get("KmsKeyId"),
    )


def _not_found(cluster_id: str) -> Any:
    from byok.validation.facts import FactError

    return FactError(
        "DBClusterNotFoundFault", f"DBCluster {cluster_id} not found.", False, "DescribeDBClusters"
    )
