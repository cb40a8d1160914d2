"""KMS events as EventBridge delivers them (shapes from the KMS / CloudTrail developer guides:
see docs/aws-notes.md), for one key. Used by the event-pattern and deletion-guard tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from customer_support import CUSTOMER_ACCOUNT, REGION

ADMIN_USER = f"arn:aws:iam::{CUSTOMER_ACCOUNT}:user/alice"


def _envelope(detail_type: str, detail: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.kms",
        "account": CUSTOMER_ACCOUNT,
        "time": "2026-11-25T04:00:00Z",
        "region": REGION,
        "resources": resources,
        "detail": detail,
    }


def _cloudtrail_detail(event_name: str, key_arn: str, event_type: str) -> dict[str, Any]:
    """Fields every KMS CloudTrail record has; the key is named in detail.resources."""
    return {
        "eventVersion": "1.08",
        "eventTime": "2026-11-25T04:00:00Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": event_name,
        "awsRegion": REGION,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "resources": [{"accountId": CUSTOMER_ACCOUNT, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": event_type,
        "managementEvent": True,
        "recipientAccountId": CUSTOMER_ACCOUNT,
    }


def api_call(
    event_name: str,
    key_arn: str,
    *,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """'AWS API Call via CloudTrail': top-level resources empty, key in detail.resources."""
    detail = _cloudtrail_detail(event_name, key_arn, "AwsApiCall")
    detail["userIdentity"] = {"type": "IAMUser", "arn": ADMIN_USER, "accountId": CUSTOMER_ACCOUNT}
    # requestParameters.keyId is whatever the caller typed: here the key id
    detail["requestParameters"] = {"keyId": key_arn.rsplit("/", 1)[1], **(request or {})}
    detail["responseElements"] = response
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "denied"
    return _envelope("AWS API Call via CloudTrail", detail, [])


def disable_key(key_arn: str) -> dict[str, Any]:
    return api_call("DisableKey", key_arn)


def put_key_policy(key_arn: str, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    text = json.dumps(policy or {"Version": "2012-10-17", "Statement": []})
    return api_call(
        "PutKeyPolicy",
        key_arn,
        request={"policyName": "default", "policy": text, "bypassPolicyLockoutSafetyCheck": False},
    )


def schedule_key_deletion(key_arn: str, days: int = 7) -> dict[str, Any]:
    return api_call(
        "ScheduleKeyDeletion",
        key_arn,
        request={"pendingWindowInDays": days},
        response={
            "keyId": key_arn,
            "keyState": "PendingDeletion",
            "deletionDate": "Dec 2, 2026, 4:00:00 AM",
        },
    )


def rotate_key_service_event(key_arn: str) -> dict[str, Any]:
    """'AWS Service Event via CloudTrail' for an automatic rotation (KMS emits it itself)."""
    detail = _cloudtrail_detail("RotateKey", key_arn, "AwsServiceEvent")
    detail["userIdentity"] = {"accountId": CUSTOMER_ACCOUNT, "invokedBy": "AWS Internal"}
    detail["requestParameters"] = None
    detail["responseElements"] = None
    detail["serviceEventDetails"] = {
        "rotationType": "AUTOMATIC",
        "keyId": key_arn.rsplit("/", 1)[1],
    }
    return _envelope("AWS Service Event via CloudTrail", detail, [])


def native_deletion(key_arn: str) -> dict[str, Any]:
    """KMS's own 'KMS CMK Deletion' event: key ARN in the top-level resources only."""
    return _envelope("KMS CMK Deletion", {"key-id": key_arn.rsplit("/", 1)[1]}, [key_arn])


def native_rotation(key_arn: str) -> dict[str, Any]:
    return _envelope("KMS CMK Rotation", {"key-id": key_arn.rsplit("/", 1)[1]}, [key_arn])


def only_resources_identify_the_key(event: dict[str, Any]) -> dict[str, Any]:
    """The same CloudTrail event with the fallbacks removed, so that only detail.resources
    names the key (what AWS guarantees for every KMS record)."""
    detail = dict(event["detail"])
    detail["requestParameters"] = None
    detail["responseElements"] = None
    detail.pop("serviceEventDetails", None)
    return {**event, "detail": detail}
