"""What a definitive AWS error says about a key: the ONE mapping from error code to reason.

Why one place: the same ``DisabledException`` can reach us from DescribeKey-less probes (S3
PutObject answers ``KMS.DisabledException``), from a platform service's error report, or from a
future Aurora probe; every path must name the same reason code.
"""

from __future__ import annotations

from typing import Final

from byok.reasons import ReasonCode
from byok.validation.facts import FactError

__all__ = ["KEY_STATE_REASONS", "expected_error", "reason_for_error"]

#: DescribeKey ``KeyState`` -> reason code (Enabled has none)
KEY_STATE_REASONS: Final = {
    "Disabled": ReasonCode.KEY_DISABLED,
    "PendingDeletion": ReasonCode.KEY_PENDING_DELETION,
    "PendingReplicaDeletion": ReasonCode.KEY_PENDING_DELETION,
    "PendingImport": ReasonCode.KEY_PENDING_IMPORT,
    "Unavailable": ReasonCode.KEY_UNAVAILABLE,
    "Creating": ReasonCode.KEY_STATE_TRANSITIONAL,
    "Updating": ReasonCode.KEY_STATE_TRANSITIONAL,
}


def reason_for_error(error: FactError) -> str | None:
    """The reason code a definitive error proves, or None when it proves nothing about the key."""
    if error.transient:
        return None
    code = error.code.removeprefix("KMS.")
    message = error.message.lower()
    if code == "DisabledException":
        return ReasonCode.KEY_DISABLED
    if code == "KMSInvalidStateException":
        if "pending deletion" in message or "pendingdeletion" in message:
            return ReasonCode.KEY_PENDING_DELETION
        if "pending import" in message or "pendingimport" in message:
            return ReasonCode.KEY_PENDING_IMPORT
        if "unavailable" in message:
            return ReasonCode.KEY_UNAVAILABLE
        return ReasonCode.KEY_INVALID_STATE
    if code in {"NotFoundException", "InvalidArnException"}:
        return ReasonCode.KEY_NOT_FOUND
    if code in {"KeyUnavailableException", "CustomKeyStoreInvalidStateException"}:
        return ReasonCode.KEY_UNAVAILABLE
    if code == "ExpiredImportTokenException":
        return None
    if code in {"AccessDenied", "AccessDeniedException"} and "identity-based policy" in message:
        # "because no identity-based policy allows ..." / "... explicit deny in an identity-based
        # policy": the platform role's own IAM policy refused, not the customer's key policy
        return ReasonCode.PLATFORM_ROLE_DENIES
    if code in {"AccessDenied", "AccessDeniedException"} and "kms:" in message:
        return ReasonCode.POLICY_DENIES_PLATFORM
    return None


def expected_error(key_state: str, key_arn: str) -> str | None:
    """The error a cryptographic call would get in this state (docs/aws-notes.md), as error
    context."""
    if key_state == "Disabled":
        return f"DisabledException: {key_arn} is disabled."
    if key_state in {"PendingDeletion", "PendingReplicaDeletion"}:
        return f"KMSInvalidStateException: {key_arn} is pending deletion."
    if key_state == "PendingImport":
        return f"KMSInvalidStateException: {key_arn} is pending import."
    if key_state == "Unavailable":
        return f"KMSInvalidStateException: {key_arn} is unavailable."
    return None
