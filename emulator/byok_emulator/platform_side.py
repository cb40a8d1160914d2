"""Platform-account resources and a Lambda context, as the demo, harness and tests build them.

One builder for each so the demo and the test worlds cannot drift apart: the platform role the
customers' key policies name, the environment's bucket with default SSE-KMS under the S3 key, the
encrypted Aurora cluster record, and the attributes Powertools reads from a Lambda context.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any


def create_platform_role(session: Any, role_name: str, platform_account: str) -> str:
    """The role customers' key policies name; principals of the platform account may assume it."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{platform_account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = session.client("iam").create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust)
    )
    return str(role["Role"]["Arn"])


def create_encrypted_bucket(session: Any, bucket: str, region: str, s3_key_arn: str) -> None:
    """A bucket whose default encryption is SSE-KMS under the customer's S3 key."""
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": s3_key_arn,
                    }
                }
            ]
        },
    )


def create_encrypted_cluster(session: Any, cluster_id: str, aurora_key_arn: str) -> None:
    """An aurora-postgresql cluster record with storage encrypted under the Aurora key."""
    session.client("rds").create_db_cluster(
        DBClusterIdentifier=cluster_id,
        Engine="aurora-postgresql",
        MasterUsername="platform",
        MasterUserPassword="emulator-only-not-a-secret-1",
        StorageEncrypted=True,
        KmsKeyId=aurora_key_arn,
    )


@dataclass
class LambdaContext:
    """The attributes Powertools reads from a Lambda context object."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    timeout_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms
