"""Process-wide switches of the emulator, set by ``install()``.

One mutable object rather than globals scattered over the patch modules, so that ``install()``
can change a switch for both the in-process mock and ``ThreadedMotoServer`` (same process).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class KeyPolicyMode(StrEnum):
    """Which callers the KMS key policy is evaluated for (see docs/emulator.md).

    ``CROSS_ACCOUNT`` (default): callers outside the key's account are allowed only if the key
    policy allows them, as in AWS; callers in the key's own account are refused only by an
    explicit ``Deny`` (their access depends on IAM policies too, which moto does not model, and
    moto's fake ``testing`` credentials have no real identity).
    ``ALL``: on the S3 SSE-KMS path the key policy decides for every caller (an allow through
    the account principal ``arn:aws:iam::ACCOUNT:root`` counts as allowed: the IAM half is
    assumed to allow). Direct KMS calls in the key's own account are never policy-checked.
    ``OFF``: key policies are not evaluated (moto's own behaviour).
    """

    CROSS_ACCOUNT = "cross-account"
    ALL = "all"
    OFF = "off"


@dataclass
class Settings:
    key_policies: KeyPolicyMode = KeyPolicyMode.CROSS_ACCOUNT


settings = Settings()
