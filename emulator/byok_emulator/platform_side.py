"""Platform-account resources and a Lambda context, as the demo, harness and tests build them.

One builder for each so the demo and the test worlds cannot drift apart: the platform role the
customers' key policies name, the environment's bucket with default SSE-KMS under the S3 key, the
encrypted Aurora cluster record, and the attributes Powertools reads from a Lambda context.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLATFORM_TEMPLATE = Path(__file__).resolve().parents[2] / "platform" / "platform-role.yaml"


def platform_role_documents(
    role_name: str,
    platform_account: str,
    customer_accounts: Sequence[str],
    *,
    region: str = "eu-west-1",
    parameters: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(trust policy, {policy name: identity policy}) of ``platform/platform-role.yaml`` as
    CloudFormation would deploy it for these values (intrinsics resolved)."""
    from . import sam_template

    template = sam_template.load(PLATFORM_TEMPLATE)
    resolver = sam_template.Resolver(
        template,
        {
            "RoleName": role_name,
            "CustomerAccountIds": ",".join(customer_accounts),
            **(parameters or {}),
        },
        region=region,
        account=platform_account,
    )
    props = resolver.resolve(template["Resources"]["PlatformRole"]["Properties"])
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in props.get("Policies", [])}
    return props["AssumeRolePolicyDocument"], policies


def create_platform_role(
    session: Any,
    role_name: str,
    platform_account: str,
    customer_accounts: Sequence[str],
    *,
    parameters: Mapping[str, str] | None = None,
    omit_actions: Sequence[str] = (),
) -> str:
    """The role customers' key policies name, deployed from ``platform/platform-role.yaml``
    (trust: the byok-guard probe roles; identity policy: the BYOK contract's side of the
    platform). ``omit_actions`` drops actions from its identity policy (a broken deployment)."""
    trust, policies = platform_role_documents(
        role_name,
        platform_account,
        customer_accounts,
        region=session.region_name or "eu-west-1",
        parameters=parameters,
    )
    iam = session.client("iam")
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    for name, document in policies.items():
        document = _without_actions(document, set(omit_actions))
        iam.put_role_policy(
            RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(document)
        )
    return str(role["Role"]["Arn"])


def _without_actions(document: Mapping[str, Any], omit: set[str]) -> dict[str, Any]:
    if not omit:
        return dict(document)
    statements = []
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        kept = [a for a in actions if a not in omit]
        if kept:
            statements.append({**statement, "Action": kept})
    return {**document, "Statement": statements}


def create_encrypted_bucket(
    session: Any, bucket: str, region: str, s3_key_arn: str, canary_prefix: str | None = None
) -> None:
    """A bucket whose default encryption is SSE-KMS under the customer's S3 key, with the canary
    prefix's lifecycle rule (docs/platform.md "Environment buckets")."""
    from byok.aws.s3_probe import DEFAULT_CANARY_PREFIX, canary_lifecycle_rule

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
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [canary_lifecycle_rule(canary_prefix or DEFAULT_CANARY_PREFIX)]
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
