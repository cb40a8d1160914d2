"""Catalogue of the stable reason codes a validation check can report.

Why a catalogue: reason codes are a public contract (flags, events, dashboards and the customer's
runbooks key on them), so each one is declared ONCE with the health it implies and the fix the
customer should apply. Checks name a code; the impact and the fix text come from here, so two
checks reporting the same problem can never disagree about its severity or its remedy.

Fix templates are ``str.format`` templates over a small, fixed set of fields (``key_arn``,
``cluster_id``, ``region``, ``statements``, ``deletion_date``...). Pure Python, no AWS imports.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from byok.errors import InputError
from byok.models import HealthStatus, Purpose

__all__ = ["REASONS", "Reason", "get_reason", "reason_codes"]

_U, _R, _H = HealthStatus.KEY_UNUSABLE, HealthStatus.AT_RISK, HealthStatus.HEALTHY

ENABLE = "aws kms enable-key --key-id {key_arn}"
CANCEL_THEN_ENABLE = (
    "aws kms cancel-key-deletion --key-id {key_arn} && aws kms enable-key --key-id {key_arn}"
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason code: what it means, the health it implies, and how the customer fixes it.

    ``impact_by_purpose`` overrides ``impact`` where the same finding hurts one purpose more than
    the other (a policy denying the platform breaks S3 at once, but a running Aurora cluster keeps
    its grant: it is only at risk).
    """

    code: str
    impact: HealthStatus | None
    summary: str
    fix_template: str | None = None
    impact_by_purpose: Mapping[Purpose, HealthStatus] = field(default_factory=dict)

    def impact_for(self, purpose: Purpose | None) -> HealthStatus | None:
        if purpose is not None and purpose in self.impact_by_purpose:
            return self.impact_by_purpose[purpose]
        return self.impact

    def fix_fields(self) -> frozenset[str]:
        """The template fields this fix needs (a test checks every check supplies them)."""
        if not self.fix_template:
            return frozenset()
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.fix_template) if name
        )

    def fix(self, **values: Any) -> str | None:
        """Render the fix; a missing field is a programming error, reported by name."""
        if self.fix_template is None:
            return None
        missing = self.fix_fields() - values.keys()
        if missing:
            raise InputError(f"{self.code}: fix needs {sorted(missing)}")
        return self.fix_template.format(**values)


def _r(
    code: str,
    impact: HealthStatus | None,
    summary: str,
    fix: str | None = None,
    **by_purpose: HealthStatus,
) -> Reason:
    return Reason(code, impact, summary, fix, {Purpose(p): s for p, s in by_purpose.items()})


_ALL: Final = (
    # --- key state (DescribeKey, or the error of a cryptographic call) -------------------------
    _r("KEY_DISABLED", _U, "The key is disabled: every encrypt/decrypt call fails.", ENABLE),
    _r(
        "KEY_PENDING_DELETION",
        _U,
        "The key is scheduled for deletion: it cannot encrypt or decrypt now, and the data it "
        "protects is lost for good on the deletion date.",
        CANCEL_THEN_ENABLE,
    ),
    _r(
        "KEY_NOT_FOUND",
        _U,
        "The key does not exist (deleted, wrong ARN, or another region/account).",
        "Restore access to {key_arn} or register the environment's current key "
        "(byok env register ...); deleted key material cannot be recovered.",
    ),
    _r(
        "KEY_PENDING_IMPORT",
        _U,
        "The key (origin EXTERNAL) has no key material: import it.",
        "aws kms get-parameters-for-import --key-id {key_arn} --wrapping-algorithm "
        "RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_2048, then aws kms import-key-material "
        "--key-id {key_arn} ... with the SAME key material as before",
    ),
    _r(
        "KEY_UNAVAILABLE",
        _U,
        "The key's custom key store is disconnected.",
        "aws kms connect-custom-key-store --custom-key-store-id <id of the key's store>",
    ),
    _r(
        "KEY_INVALID_STATE",
        _U,
        "KMS refuses to use the key in its current state (KMSInvalidStateException).",
        "aws kms describe-key --key-id {key_arn}  # then enable it / cancel its deletion",
    ),
    _r(
        "KEY_STATE_TRANSITIONAL",
        _R,
        "The key is being created or updated; re-checked at the next sweep.",
    ),
    _r(
        "KEY_MATERIAL_EXPIRING",
        _R,
        "The imported key material expires soon: the key becomes unusable then.",
        "aws kms import-key-material --key-id {key_arn} --expiration-model "
        "KEY_MATERIAL_DOES_NOT_EXPIRE ... (re-import the SAME key material before {valid_to})",
    ),
    _r(
        "KEY_MATERIAL_EXPIRED",
        _U,
        "The imported key material has expired: the key cannot be used.",
        "aws kms import-key-material --key-id {key_arn} ... (re-import the SAME key material)",
    ),
    # --- key properties (the BYOK contract) ----------------------------------------------------
    _r(
        "KEY_SPEC_INVALID",
        _U,
        "The key is not a symmetric encryption key (KeySpec must be SYMMETRIC_DEFAULT).",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(then register the new key)",
    ),
    _r(
        "KEY_USAGE_INVALID",
        _U,
        "The key's usage is not ENCRYPT_DECRYPT.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(then register the new key)",
    ),
    _r(
        "KEY_NOT_CUSTOMER_MANAGED",
        _U,
        "The key is AWS managed: it cannot be shared with the platform account.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(a customer managed key; then register it)",
    ),
    _r(
        "KEY_WRONG_REGION",
        _U,
        "The key is not in the environment's region.",
        "aws kms create-key --region {region} ... (the key must live in {region})",
    ),
    _r(
        "KEY_WRONG_ACCOUNT",
        _U,
        "The key is not owned by the environment's customer account.",
        "Use a key created in account {account} (aws kms create-key ...), then register it",
    ),
    _r(
        "KEY_SHARED",
        _R,
        "The key is also used by another environment or for the other purpose: revoking it "
        "for one would break both.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(one dedicated key per environment and purpose; then register it)",
    ),
    _r(
        "KEY_ROTATION_DISABLED",
        _H,
        "Automatic rotation of the key material is off (recommended on).",
        "aws kms enable-key-rotation --key-id {key_arn}",
    ),
    _r(
        "KEY_METADATA_UNREADABLE",
        None,
        "The platform may not read the key's metadata (DescribeKey denied): state checks rely "
        "on the service probes.",
        "Add the read-only health-check statement to the key policy:\n{statements}",
    ),
    # --- key policy (byok.contract) ------------------------------------------------------------
    _r(
        "POLICY_DENIES_PLATFORM",
        _U,
        "The key policy no longer lets the platform use the key as the contract requires.",
        "Add these statements to the key policy of {key_arn}:\n{statements}",
        aurora=_R,
    ),
    _r(
        "POLICY_TOO_BROAD",
        _H,
        "The key policy grants more than the BYOK contract needs.",
        "Replace the platform statements of {key_arn} by exactly:\n{statements}",
    ),
    _r(
        "POLICY_UNREADABLE",
        None,
        "The key policy is unknown: GetKeyPolicy does not work across accounts and no "
        "PutKeyPolicy event carried it yet; the probes decide.",
    ),
    _r(
        "POLICY_UNPARSEABLE",
        None,
        "The key policy could not be parsed; the service probes decide.",
    ),
    # --- probes ---------------------------------------------------------------------------------
    _r(
        "S3_PROBE_FAILED",
        _U,
        "The platform role could not write/read/delete an SSE-KMS canary object.",
        "Check the key policy of {key_arn} allows the platform through S3:\n{statements}",
    ),
    _r(
        "CLUSTER_INACCESSIBLE_RECOVERABLE",
        _U,
        "Aurora lost access to the key and stopped the cluster; recoverable for 7 days.",
        "aws kms enable-key --key-id {key_arn} && aws rds start-db-cluster "
        "--db-cluster-identifier {cluster_id} --region {region}",
    ),
    _r(
        "CLUSTER_RECOVERY_PENDING",
        _H,
        "The key is usable again but the cluster, stopped when it lost the key, is not started "
        "yet (the platform's remediation starts it).",
        "aws rds start-db-cluster --db-cluster-identifier {cluster_id} --region {region}",
    ),
    _r(
        "CLUSTER_INACCESSIBLE_TERMINAL",
        _U,
        "Aurora lost access to the key for more than 7 days: the cluster must be restored.",
        "aws kms enable-key --key-id {key_arn} && aws rds restore-db-cluster-to-point-in-time "
        "--source-db-cluster-identifier {cluster_id} --target-db-cluster-identifier "
        "{cluster_id}-restored --restore-type copy-on-write --use-latest-restorable-time "
        "--region {region}",
    ),
    _r(
        "CLUSTER_KEY_MISMATCH",
        _R,
        "The Aurora cluster is encrypted with another key than the registered Aurora key.",
        "byok env register ... --aurora-key-arn <the cluster's KmsKeyId>  # or migrate the "
        "cluster to {key_arn} by snapshot copy + restore",
    ),
    _r(
        "CLUSTER_NOT_ENCRYPTED",
        _R,
        "The Aurora cluster has no storage encryption: the customer key protects nothing.",
        "Copy a snapshot with --kms-key-id {key_arn} and restore the cluster from it",
    ),
    _r("CLUSTER_NOT_FOUND", _R, "The registered Aurora cluster does not exist."),
    # --- could not check (status ERROR, evidence of nothing) -----------------------------------
    _r(
        "TRANSIENT_ERROR",
        None,
        "A transient AWS error (throttling, 5xx, timeout) stopped the check; retried later.",
    ),
    _r(
        "CHECK_FAILED",
        None,
        "An unexpected AWS error stopped the check (not evidence about the key).",
    ),
    _r(
        "PLATFORM_ROLE_UNAVAILABLE",
        None,
        "The platform role could not be assumed: nothing could be checked.",
    ),
)

REASONS: Final[Mapping[str, Reason]] = {r.code: r for r in _ALL}


def get_reason(code: str) -> Reason:
    try:
        return REASONS[code]
    except KeyError:
        raise InputError(f"reason: unknown reason code {code!r}") from None


def reason_codes() -> list[str]:
    return sorted(REASONS)
