from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from byok.models import Environment

S3_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-1111-4111-8111-111111111111"
AURORA_KEY = "arn:aws:kms:eu-west-1:111122223333:key/2222bbbb-2222-4222-8222-222222222222"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def make_env() -> Environment:
    return Environment.create(
        environment_id="acme-prod",
        customer_account="111122223333",
        region="eu-west-1",
        s3_key_arn=S3_KEY,
        aurora_key_arn=AURORA_KEY,
        bucket="byok-acme-prod-data",
        cluster_id="byok-demo-aurora",
    )


def detail(status: str, previous: str | None, *problems: dict[str, Any], **kw: Any) -> dict:
    return {
        "environment_id": "acme-prod",
        "status": status,
        "previous_status": previous,
        "reasons": [p["reason"] for p in problems],
        "fixes": [p["fix"] for p in problems if p.get("fix")],
        "errors": [p["error"] for p in problems if p.get("error")],
        "since": kw.get("since", "2026-11-25T12:00:00+00:00"),
        "checked_at": kw.get("checked_at", "2026-11-25T12:00:00+00:00"),
        "details": list(problems),
    }


def disabled(purpose: str = "s3") -> dict[str, Any]:
    key = S3_KEY if purpose == "s3" else AURORA_KEY
    return {
        "id": "key-state",
        "status": "fail",
        "reason": "KEY_DISABLED",
        "purpose": purpose,
        "message": "key is disabled",
        "fix": f"aws kms enable-key --key-id {key}",
        "error": f"DisabledException: {key} is disabled.",
        "evidence": {"key_arn": key, "key_state": "Disabled"},
    }


def pending_deletion(purpose: str = "aurora", deletion: str = "2026-12-25T12:00:00+00:00"):
    key = S3_KEY if purpose == "s3" else AURORA_KEY
    return {
        "id": "key-state",
        "status": "fail",
        "reason": "KEY_PENDING_DELETION",
        "purpose": purpose,
        "message": "key is pending deletion",
        "fix": f"aws kms cancel-key-deletion --key-id {key}\naws kms enable-key --key-id {key}",
        "error": f"KMSInvalidStateException: {key} is pending deletion.",
        "evidence": {"key_arn": key, "key_state": "PendingDeletion", "deletion_date": deletion},
    }
