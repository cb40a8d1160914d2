"""What an AWS call of byok-guard needs: IAM action, the resource it is on, and as whom.

Cloud Custodian's pattern: every module that calls AWS declares ``PERMISSIONS`` next to the calls
(a tuple of ``Permission``), so the roles of template.yaml and platform/platform-role.yaml can be
checked against the code rather than against a reviewer's memory.
``tests/integration/test_declared_permissions.py`` runs each function's paths under moto's own
IAM authoriser, records every call, and asserts that each call is declared, that each role
grants every call it made, and that no role grants anything no reached module declares.

``resource`` names a kind of resource (``ENVIRONMENTS_TABLE``, ``CUSTOMER_KEY``...), resolved to
ARNs by whoever compares (a deployment knows the names). Pure data: no boto3 here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["As", "Permission", "Resource"]


class As(StrEnum):
    """Whose credentials make the call."""

    FUNCTION = "function"  # the Lambda function's own role (template.yaml)
    PLATFORM_ROLE = "platform_role"  # the assumed platform role (platform/platform-role.yaml)


class Resource(StrEnum):
    ENVIRONMENTS_TABLE = "environments_table"
    #: its sparse indexes (``environments``: the sweep's listing; ``attention``: the scheduled
    #: remediation's); AWS authorises an index Scan on the index ARN
    ENVIRONMENTS_INDEX = "environments_index"
    AUDIT_TABLE = "audit_table"
    IDEMPOTENCY_TABLE = "idempotency_table"
    VALIDATE_QUEUE = "validate_queue"
    DEFAULT_BUS = "default_bus"
    NOTIFICATION_TOPIC = "notification_topic"
    PLATFORM_ROLE = "platform_role"
    MANAGED_POLICY = "managed_policy"
    ENVIRONMENT_CLUSTER = "environment_cluster"
    CUSTOMER_KEY = "customer_key"
    CANARY_OBJECT = "canary_object"


@dataclass(frozen=True, slots=True)
class Permission:
    action: str
    resource: Resource
    principal: As = As.FUNCTION


def declare(
    actions: tuple[str, ...], resource: Resource, principal: As = As.FUNCTION
) -> tuple[Permission, ...]:
    """Several actions on one resource."""
    return tuple(Permission(a, resource, principal) for a in actions)


#: the modules that declare ``PERMISSIONS`` (the test imports each)
DECLARING_MODULES: Final = (
    "byok.aws.kms",
    "byok.aws.s3_probe",
    "byok.aws.rds",
    "byok.aws.sts",
    "byok.aws.iam_policies",
    "byok.aws.publisher",
    "byok.store.dynamodb",
    "byok.notify",
    "byok.service",
    "byok.remediation.executor",
    "byok.lambda_support",
)
