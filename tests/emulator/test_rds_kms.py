"""StartDBCluster recovers a cluster that lost its key, once the key is enabled
(docs/aws-notes.md)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.rds.models import rds_backends

from byok_emulator.rds_kms import RECOVERABLE

from .conftest import PLATFORM, REGION


def _cluster(platform: boto3.Session, key_arn: str) -> str:
    rds = platform.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier="acme-db",
        Engine="aurora-postgresql",
        MasterUsername="admin_user",
        MasterUserPassword="a-long-password-1",
        StorageEncrypted=True,
        KmsKeyId=key_arn,
    )
    return "acme-db"


def _set_status(cluster: str, status: str) -> None:
    rds_backends[PLATFORM][REGION].clusters[cluster].status = status


def _status(platform: boto3.Session, cluster: str) -> str:
    described = platform.client("rds").describe_db_clusters(DBClusterIdentifier=cluster)
    return described["DBClusters"][0]["Status"]


def test_recoverable_cluster_starts_after_the_key_is_enabled(
    customer: boto3.Session, platform: boto3.Session, customer_key: str
) -> None:
    cluster = _cluster(platform, customer_key)
    kms = customer.client("kms")
    kms.disable_key(KeyId=customer_key)
    _set_status(cluster, RECOVERABLE)
    rds = platform.client("rds")

    with pytest.raises(ClientError) as caught:
        rds.start_db_cluster(DBClusterIdentifier=cluster)
    assert caught.value.response["Error"]["Code"] == "KMSKeyNotAccessibleFault"
    assert _status(platform, cluster) == RECOVERABLE

    kms.enable_key(KeyId=customer_key)
    rds.start_db_cluster(DBClusterIdentifier=cluster)
    assert _status(platform, cluster) == "available"


def test_terminal_state_cannot_be_started(platform: boto3.Session, customer_key: str) -> None:
    cluster = _cluster(platform, customer_key)
    _set_status(cluster, "inaccessible-encryption-credentials")
    with pytest.raises(ClientError) as caught:
        platform.client("rds").start_db_cluster(DBClusterIdentifier=cluster)
    assert caught.value.response["Error"]["Code"] == "InvalidDBClusterStateFault"
