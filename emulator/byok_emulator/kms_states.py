"""KMS key states, enforced as AWS documents them (moto 5.2 ignores them).

Source: AWS KMS Developer Guide, "Key states of AWS KMS keys" (key-state.html): a key that is
Disabled, PendingDeletion, PendingImport or Unavailable cannot be used in cryptographic
operations; DescribeKey, GetKeyPolicy, ListGrants and RevokeGrant work in every state. The API
reference lists the errors: ``DisabledException`` ("The request was rejected because the
specified KMS key is not enabled", HTTP 400) and ``KMSInvalidStateException`` ("the state of the
specified resource is not valid for this request", HTTP 400). The messages AWS returns name the
key ARN: ``arn:aws:kms:...:key/... is disabled.`` / ``... is pending deletion.``.

Patched (``KmsBackend``, so the in-process mock, ``ThreadedMotoServer`` and the S3 SSE-KMS path
all see it):

- ``encrypt`` (and through it GenerateDataKey, GenerateDataKeyWithoutPlaintext and the
  encrypting half of ReEncrypt), ``decrypt`` (and the decrypting half of ReEncrypt),
  ``create_grant``, ``sign``, ``verify``, ``get_public_key``, ``generate_mac`` (and VerifyMac):
  refuse a key that is not ``Enabled``.
- ``schedule_key_deletion``: a waiting period outside 7..30 days is a ``ValidationException``
  (moto silently did nothing); a key already pending deletion is ``KMSInvalidStateException``.
- ``enable_key`` / ``disable_key`` on a key pending deletion: ``KMSInvalidStateException``
  (CancelKeyDeletion first; it leaves the key Disabled, as moto already does).
- ``cancel_key_deletion`` on a key that is not pending deletion: ``KMSInvalidStateException``.
- The four state-changing methods above are called with the raw key id: moto 5.2 raises a bare
  ``KeyError`` (HTTP 500) when they get a key ARN, which AWS accepts.
- ``Key.to_dict`` (DescribeKey): shows ``ValidTo`` / ``ExpirationModel`` set by
  ``set_imported_key_material``.

Helpers for tests and the demo (moto has no way to reach these states): ``set_key_state``
(PendingImport, Unavailable, ...) and ``set_imported_key_material`` (expiring imported material).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.kms.models import Key, KmsBackend, kms_backends
from moto.kms.utils import _deserialize_ciphertext_blob

from ._patching import Patch

#: key states a cryptographic operation accepts
USABLE = "Enabled"

_STATE_WORDS = {
    "PendingDeletion": "pending deletion",
    "PendingImport": "pending import",
    "Unavailable": "unavailable",
    "PendingReplicaDeletion": "pending replica deletion",
    "Creating": "being created",
    "Updating": "being updated",
}


class DisabledException(JsonRESTError):
    """HTTP 400 ``DisabledException``: ``<key arn> is disabled.``"""

    code = 400

    def __init__(self, key_arn: str) -> None:
        super().__init__("DisabledException", f"{key_arn} is disabled.")


class KMSInvalidStateException(JsonRESTError):
    """HTTP 400 ``KMSInvalidStateException``: ``<key arn> is pending deletion.`` etc."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("KMSInvalidStateException", message)


class ValidationException(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def state_error(key: Key) -> JsonRESTError | None:
    """The error AWS returns for a cryptographic call on ``key``, or ``None`` if it is usable."""
    if key.key_state == USABLE:
        return None
    if key.key_state == "Disabled":
        return DisabledException(key.arn)
    words = _STATE_WORDS.get(key.key_state, f"in state {key.key_state}")
    return KMSInvalidStateException(f"{key.arn} is {words}.")


def require_usable(key: Key) -> None:
    """Raise the AWS error for a cryptographic call on a key that is not Enabled."""
    error = state_error(key)
    if error is not None:
        raise error


def _find(backend: KmsBackend, key_id: str | None) -> Key | None:
    """The key named by any identifier (id, ARN, alias, alias ARN), or None (moto then errs)."""
    if not key_id:
        return None
    try:
        return backend.keys.get(backend.any_id_to_key_id(key_id))
    except (KeyError, TypeError, AttributeError):
        return None


def _key_of_ciphertext(backend: KmsBackend, blob: bytes) -> Key | None:
    try:
        key_id = _deserialize_ciphertext_blob(blob).key_id
    except Exception:  # moto raises its own error for a malformed blob
        return None
    return backend.keys.get(key_id)


def _guard_key_arg(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a backend method whose first argument (or ``key_id=``) names the key."""

    def guarded(self: KmsBackend, *args: Any, **kwargs: Any) -> Any:
        key_id = kwargs.get("key_id", args[0] if args else None)
        key = _find(self, key_id)
        if key is not None:
            require_usable(key)
        return original(self, *args, **kwargs)

    guarded.__wrapped__ = original  # type: ignore[attr-defined]
    return guarded


def _guard_decrypt(original: Callable[..., Any]) -> Callable[..., Any]:
    def decrypt(self: KmsBackend, *args: Any, **kwargs: Any) -> Any:
        blob = kwargs.get("ciphertext_blob", args[0] if args else b"")
        key = _key_of_ciphertext(self, blob)
        if key is not None:
            require_usable(key)
        return original(self, *args, **kwargs)

    decrypt.__wrapped__ = original  # type: ignore[attr-defined]
    return decrypt


def _guard_schedule(original: Callable[..., Any]) -> Callable[..., Any]:
    def schedule_key_deletion(self: KmsBackend, key_id: str, pending_window_in_days: int) -> Any:
        days = int(pending_window_in_days)
        # Coral-style validation message (same wording as moto's other range checks).
        if days < 7:
            raise ValidationException(
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed "
                "to satisfy constraint: Member must have value greater than or equal to 7"
            )
        if days > 30:
            raise ValidationException(
                f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed "
                "to satisfy constraint: Member must have value less than or equal to 30"
            )
        key = _find(self, key_id)
        if key is not None and key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        return original(self, key.id if key is not None else key_id, days)

    return schedule_key_deletion


def _refuse_when_pending_deletion(original: Callable[..., Any]) -> Callable[..., Any]:
    """EnableKey / DisableKey: AWS's key-state table marks both as failing on PendingDeletion."""

    def guarded(self: KmsBackend, key_id: str) -> Any:
        key = _find(self, key_id)
        if key is not None and key.key_state == "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is pending deletion.")
        return original(self, key.id if key is not None else key_id)

    return guarded


def _guard_cancel(original: Callable[..., Any]) -> Callable[..., Any]:
    def cancel_key_deletion(self: KmsBackend, key_id: str) -> Any:
        key = _find(self, key_id)
        if key is not None and key.key_state != "PendingDeletion":
            raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")
        return original(self, key.id if key is not None else key_id)

    return cancel_key_deletion


def _describe_imported(original: Callable[..., Any]) -> Callable[..., Any]:
    def to_dict(self: Key) -> dict[str, Any]:
        result: dict[str, Any] = original(self)
        valid_to = getattr(self, "byok_valid_to", None)
        if valid_to is not None:
            result["KeyMetadata"]["ValidTo"] = unix_time(valid_to)
            result["KeyMetadata"]["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
        elif self.origin == "EXTERNAL":
            result["KeyMetadata"].setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        return result

    return to_dict


_GUARDED_BY_KEY_ID = (
    "encrypt",
    "create_grant",
    "sign",
    "verify",
    "get_public_key",
    "generate_mac",
)

PATCHES: list[Patch] = [
    *(
        Patch(KmsBackend, name, _guard_key_arg, why="cryptographic call needs an Enabled key")
        for name in _GUARDED_BY_KEY_ID
    ),
    Patch(KmsBackend, "decrypt", _guard_decrypt, why="Decrypt needs an Enabled key"),
    Patch(KmsBackend, "schedule_key_deletion", _guard_schedule, why="7..30 days, once"),
    Patch(KmsBackend, "enable_key", _refuse_when_pending_deletion, why="cancel deletion first"),
    Patch(KmsBackend, "disable_key", _refuse_when_pending_deletion, why="cancel deletion first"),
    Patch(KmsBackend, "cancel_key_deletion", _guard_cancel, why="only a pending deletion"),
    Patch(Key, "to_dict", _describe_imported, why="DescribeKey shows ValidTo"),
]


# --- helpers for tests and the demo -------------------------------------------------------------


def find_key(key_arn: str) -> Key:
    """The moto ``Key`` behind a key ARN (any account, any region); ``KeyError`` if none."""
    parts = key_arn.split(":")
    if len(parts) != 6 or not parts[5].startswith("key/"):
        raise KeyError(f"not a key ARN: {key_arn!r}")
    region, account, key_id = parts[3], parts[4], parts[5][len("key/") :]
    return kms_backends[account][region].keys[key_id]


def set_key_state(key_arn: str, state: str) -> None:
    """Force a key state moto cannot reach by API (``PendingImport``, ``Unavailable``, ...)."""
    key = find_key(key_arn)
    key.key_state = state
    key.enabled = state == USABLE
    if state != "PendingDeletion":
        key.deletion_date = None


def set_imported_key_material(key_arn: str, valid_to: dt.datetime | None) -> None:
    """Make ``key_arn`` a key with imported material (Origin EXTERNAL) expiring at ``valid_to``.

    ``valid_to=None`` means material that does not expire. DescribeKey then reports ``Origin``,
    ``ExpirationModel`` and ``ValidTo`` as AWS does.
    """
    key = find_key(key_arn)
    if valid_to is not None and valid_to.tzinfo is not None:
        # moto's unix_time() works on naive UTC datetimes
        valid_to = valid_to.astimezone(dt.UTC).replace(tzinfo=None)
    key.origin = "EXTERNAL"
    key.byok_valid_to = valid_to  # type: ignore[attr-defined]
