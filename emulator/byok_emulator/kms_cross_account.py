"""Cross-account KMS calls: a key ARN of another account reaches that account's key.

moto answers every KMS request from the *caller's* account backend, so the platform role
(account 222222222222) calling ``DescribeKey`` or ``Encrypt`` on a customer key
``arn:aws:kms:eu-west-1:111111111111:key/...`` gets ``NotFoundException``. In AWS the call
reaches the key owner's account when the operation supports cross-account use (each operation's
API reference page says "Cross-account use: Yes/No") and the key is given by its key ARN; the
key policy must then allow the caller (IAM alone never grants cross-account KMS access).

Patched (``KmsResponse``): ``kms_backend`` answers from the key owner's backend for those
operations, and ``call_action`` evaluates the key policy for the foreign caller first (action
``kms:<Operation>``, ``kms:ReEncryptTo`` for ReEncrypt), refusing with ``AccessDeniedException``
as AWS does. Decrypt without ``KeyId`` finds the key from the ciphertext in any account of the
region (key ids are unique). Operations without cross-account use (GetKeyPolicy, DisableKey,
PutKeyPolicy, ...) keep moto's behaviour: a foreign ARN is not found.

Not modelled: ReEncrypt whose source key is in another account than its destination key (routed
by ``DestinationKeyId``); grants as a source of permission (a grantee's calls are decided by the
key policy only).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from moto.kms.models import Key, KmsBackend, kms_backends
from moto.kms.responses import KmsResponse
from moto.kms.utils import _deserialize_ciphertext_blob

from ._patching import Patch
from .authz import authorize
from .config import KeyPolicyMode, settings
from .principals import resolve_caller
from .wire import json_error

#: operations whose API reference says "Cross-account use: Yes" -> request parameter naming the key
CROSS_ACCOUNT_OPERATIONS: dict[str, str] = {
    "CreateGrant": "KeyId",
    "Decrypt": "KeyId",
    "DescribeKey": "KeyId",
    "Encrypt": "KeyId",
    "GenerateDataKey": "KeyId",
    "GenerateDataKeyPair": "KeyId",
    "GenerateDataKeyPairWithoutPlaintext": "KeyId",
    "GenerateDataKeyWithoutPlaintext": "KeyId",
    "GenerateMac": "KeyId",
    "GetKeyRotationStatus": "KeyId",
    "GetPublicKey": "KeyId",
    "ListGrants": "KeyId",
    "ReEncrypt": "DestinationKeyId",
    "RetireGrant": "KeyId",
    "RevokeGrant": "KeyId",
    "Sign": "KeyId",
    "Verify": "KeyId",
    "VerifyMac": "KeyId",
}

#: the IAM action evaluated in the key policy when it differs from ``kms:<Operation>``
_POLICY_ACTION = {"ReEncrypt": "kms:ReEncryptTo"}


def _params(response: KmsResponse) -> dict[str, Any]:
    try:
        params = json.loads(response.body or "{}")
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def _foreign_key_by_arn(
    key_ref: str, caller_account: str, region: str
) -> tuple[KmsBackend, Key | None] | None:
    parts = key_ref.split(":", 5)
    if len(parts) != 6 or parts[2] != "kms" or not parts[5].startswith("key/"):
        return None
    account = parts[4]
    if account == caller_account:
        return None
    # A key ARN of another region is not found there, as in AWS (the backend of the request's
    # region in the owner's account is asked).
    backend = kms_backends[account][region]
    key_id = parts[5][len("key/") :]
    return backend, (backend.keys.get(key_id) if parts[3] == region else None)


def _foreign_key_by_ciphertext(
    blob_b64: str, caller_account: str, region: str
) -> tuple[KmsBackend, Key] | None:
    try:
        key_id = _deserialize_ciphertext_blob(base64.b64decode(blob_b64)).key_id
    except Exception:
        return None
    for account, per_region in dict.items(kms_backends):
        backend = dict.get(per_region, region)
        if account != caller_account and backend is not None and key_id in backend.keys:
            return backend, backend.keys[key_id]
    return None


def _locate(response: KmsResponse, operation: str) -> tuple[KmsBackend, Key | None] | None:
    """The owner backend (and key) when the request names a key of another account."""
    params = _params(response)
    key_ref = params.get(CROSS_ACCOUNT_OPERATIONS[operation])
    if isinstance(key_ref, str) and key_ref.startswith("arn:"):
        return _foreign_key_by_arn(key_ref, response.current_account, response.region)
    if operation == "Decrypt" and not key_ref and isinstance(params.get("CiphertextBlob"), str):
        own = kms_backends[response.current_account][response.region]
        try:
            own_id = _deserialize_ciphertext_blob(base64.b64decode(params["CiphertextBlob"])).key_id
        except Exception:
            return None
        if own_id in own.keys:
            return None
        return _foreign_key_by_ciphertext(
            params["CiphertextBlob"], response.current_account, response.region
        )
    return None


def _request_context(response: KmsResponse) -> dict[str, Any]:
    """Condition keys a direct request carries (CreateGrant's grant keys; AWS KMS condition keys).

    A direct call is never made by an integrated AWS service, so ``kms:GrantIsForAWSResource``
    is false and ``kms:ViaService`` is absent.
    """
    if response._get_action() != "CreateGrant":
        return {}
    params = _params(response)
    context: dict[str, Any] = {
        "kms:GrantIsForAWSResource": False,
        "kms:GrantOperations": list(params.get("Operations") or []),
    }
    if params.get("GranteePrincipal"):
        context["kms:GranteePrincipal"] = params["GranteePrincipal"]
    if params.get("RetiringPrincipal"):
        context["kms:RetiringPrincipal"] = params["RetiringPrincipal"]
    return context


def _routed_backend(original: property) -> property:
    def kms_backend(self: KmsResponse) -> KmsBackend:
        routed = getattr(self, "_byok_backend", None)
        return routed if routed is not None else original.fget(self)  # type: ignore[misc]

    return property(kms_backend)


def _call_action(original: Callable[[KmsResponse], Any]) -> Callable[[KmsResponse], Any]:
    def call_action(self: KmsResponse) -> Any:
        operation = self._get_action()
        if operation in CROSS_ACCOUNT_OPERATIONS:
            located = _locate(self, operation)
            if located is not None:
                backend, key = located
                self._byok_backend = backend  # type: ignore[attr-defined]
                if key is not None and settings.key_policies is not KeyPolicyMode.OFF:
                    caller = resolve_caller(self.access_key, self.current_account, self.region)
                    action = _POLICY_ACTION.get(operation, f"kms:{operation}")
                    denial = authorize(key, caller, action, extra_context=_request_context(self))
                    if denial is not None:
                        body = json_error("AccessDeniedException", denial.message)
                        headers = {
                            "status": 400,
                            "content-type": "application/x-amz-json-1.1",
                            "x-amzn-ErrorType": "AccessDeniedException",
                        }
                        return 400, headers, body
        return original(self)

    call_action.__wrapped__ = original  # type: ignore[attr-defined]
    return call_action


PATCHES: list[Patch] = [
    Patch(KmsResponse, "kms_backend", _routed_backend, why="a foreign key ARN reaches its owner"),
    Patch(KmsResponse, "call_action", _call_action, why="key policy decides foreign callers"),
]
