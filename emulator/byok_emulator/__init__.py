"""moto, taught the AWS behaviour byok-guard depends on (tests and the demo only; not in the layer).

moto 5.2 does not enforce KMS key states and its S3 never calls KMS, so a health probe could
never fail there. ``install()`` patches moto (class attributes, reversible by ``uninstall()``) so
that, in-process under ``mock_aws`` and in ``ThreadedMotoServer`` alike:

- ``kms_states``: cryptographic KMS calls and CreateGrant on a Disabled / PendingDeletion /
  PendingImport / Unavailable key fail with AWS's errors; ScheduleKeyDeletion checks 7..30 days;
  EnableKey / DisableKey refuse a key pending deletion.
- ``kms_cross_account``: a key ARN of another account reaches that account's key for operations
  AWS allows across accounts, and the key policy decides for the foreign caller.
- ``s3_kms``: PutObject / GetObject with SSE-KMS call KMS GenerateDataKey / Decrypt in the key
  owner's account as the requester via ``s3.<region>.amazonaws.com``; failures become S3's
  ``KMS.*`` / ``AccessDenied`` errors.
- ``rds_kms``: StartDBCluster recovers an ``inaccessible-encryption-credentials-recoverable``
  cluster once its key is Enabled again.
- ``faults``: throttling and server errors on demand.
- ``iam_resources``: when moto's own IAM authoriser is on (``authoriser.enable``), it checks
  DynamoDB, EventBridge, KMS, RDS and SNS requests against their resource ARNs, and trust
  policies by role / user / account as AWS does.

Usage::

    import byok_emulator
    from byok_emulator import faults
    from moto import mock_aws

    with mock_aws(), byok_emulator.behaviour():
        ...                                  # boto3 calls see AWS's behaviour
        with faults.throttle(service="kms", operations={"DescribeKey"}):
            ...

    server = byok_emulator.server.start()    # ThreadedMotoServer on 127.0.0.1, patched
    boto3.client("kms", endpoint_url=server.endpoint_url)
    server.stop()

Limits of the emulation (details in ``docs/emulator.md``): IAM policies are not evaluated (an
allow delegated to an account counts as allowed; same-account callers are refused only by an
explicit Deny by default); grants do not grant; S3 Bucket Keys, UploadPartCopy and
CompleteMultipartUpload do not call KMS; RDS does not react to key changes except in
StartDBCluster; no request quotas (throttling only when injected); messages for rare states
(PendingImport, Unavailable) are modelled, not captured from AWS; the patches are process-wide.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from . import faults, iam_resources, kms_cross_account, kms_states, rds_kms, s3_kms
from ._patching import PatchSet
from .config import KeyPolicyMode, settings
from .kms_states import set_imported_key_material, set_key_state

__all__ = [
    "KeyPolicyMode",
    "behaviour",
    "faults",
    "install",
    "installed",
    "set_imported_key_material",
    "set_key_state",
    "uninstall",
]

_PATCHES = PatchSet(
    [
        *kms_states.PATCHES,
        *kms_cross_account.PATCHES,
        *s3_kms.PATCHES,
        *rds_kms.PATCHES,
        *faults.PATCHES,
        *iam_resources.PATCHES,
    ]
)
_lock = threading.Lock()


def install(key_policies: KeyPolicyMode | str = KeyPolicyMode.CROSS_ACCOUNT) -> None:
    """Patch moto (idempotent). ``key_policies``: who the key policy is evaluated for.

    Safe to call again with another ``key_policies`` value: only the switch changes.
    """
    with _lock:
        settings.key_policies = KeyPolicyMode(key_policies)
        _PATCHES.apply()


def uninstall() -> None:
    """Restore moto's own behaviour (idempotent) and remove every injected fault."""
    with _lock:
        _PATCHES.restore()
        faults.reset()
        settings.key_policies = KeyPolicyMode.CROSS_ACCOUNT


def installed() -> bool:
    return _PATCHES.applied


def __getattr__(name: str) -> object:
    """``byok_emulator.server`` is imported on first use (it pulls in Flask)."""
    if name == "server":
        import importlib

        return importlib.import_module(f"{__name__}.server")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@contextmanager
def behaviour(key_policies: KeyPolicyMode | str = KeyPolicyMode.CROSS_ACCOUNT) -> Iterator[None]:
    """``install()`` for the duration of a ``with`` block (restores the previous state)."""
    was_installed = installed()
    previous = settings.key_policies
    install(key_policies)
    try:
        yield
    finally:
        if was_installed:
            install(previous)
        else:
            uninstall()
