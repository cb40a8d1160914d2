"""THE catalogue of reason codes: every code once, with what it means, how bad it is, the fix and
who must act.

Why one catalogue: reason codes are a public contract (flags, events, dashboards, notifications and
the customer's runbooks key on them), so each one is declared ONCE, here: the health it implies,
its severity, a one-line summary (check messages, ``docs/validation.md``), the cause a customer
notification explains, the fix, and who must act (the customer, who owns the key, or the platform
operator, who runs byok-guard). Validation, health, remediation and the messages all read this
table; a test walks it. A new code is one ``ReasonCode`` member plus one ``_r(...)`` row.

Fix templates are ``str.format`` templates over a small, fixed set of fields (``key_arn``,
``cluster_id``, ``region``, ``statements``, ``deletion_date``...). Pure Python, no AWS imports.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from byok.errors import InputError
from byok.models import HealthStatus, Purpose

__all__ = [
    "OPERATOR_REASONS",
    "REASONS",
    "Actor",
    "Reason",
    "ReasonCode",
    "Severity",
    "get_reason",
    "operator_only",
    "reason_codes",
]


class ReasonCode(StrEnum):
    """The stable UPPER_SNAKE reason codes (a ``StrEnum``: each compares equal to its text)."""

    # key state (DescribeKey, or the error of a cryptographic call)
    KEY_DISABLED = "KEY_DISABLED"
    KEY_PENDING_DELETION = "KEY_PENDING_DELETION"
    KEY_NOT_FOUND = "KEY_NOT_FOUND"
    KEY_PENDING_IMPORT = "KEY_PENDING_IMPORT"
    KEY_UNAVAILABLE = "KEY_UNAVAILABLE"
    KEY_INVALID_STATE = "KEY_INVALID_STATE"
    KEY_STATE_TRANSITIONAL = "KEY_STATE_TRANSITIONAL"
    KEY_MATERIAL_EXPIRING = "KEY_MATERIAL_EXPIRING"
    KEY_MATERIAL_EXPIRED = "KEY_MATERIAL_EXPIRED"
    # key properties (the BYOK contract)
    KEY_SPEC_INVALID = "KEY_SPEC_INVALID"
    KEY_USAGE_INVALID = "KEY_USAGE_INVALID"
    KEY_NOT_CUSTOMER_MANAGED = "KEY_NOT_CUSTOMER_MANAGED"
    KEY_WRONG_REGION = "KEY_WRONG_REGION"
    KEY_WRONG_ACCOUNT = "KEY_WRONG_ACCOUNT"
    KEY_SHARED = "KEY_SHARED"
    KEY_ROTATION_DISABLED = "KEY_ROTATION_DISABLED"
    KEY_METADATA_UNREADABLE = "KEY_METADATA_UNREADABLE"
    # key policy (byok.contract)
    POLICY_DENIES_PLATFORM = "POLICY_DENIES_PLATFORM"
    POLICY_TOO_BROAD = "POLICY_TOO_BROAD"
    POLICY_UNREADABLE = "POLICY_UNREADABLE"
    POLICY_UNPARSEABLE = "POLICY_UNPARSEABLE"
    # probes
    S3_PROBE_FAILED = "S3_PROBE_FAILED"
    CLUSTER_INACCESSIBLE_RECOVERABLE = "CLUSTER_INACCESSIBLE_RECOVERABLE"
    CLUSTER_RECOVERY_PENDING = "CLUSTER_RECOVERY_PENDING"
    CLUSTER_INACCESSIBLE_TERMINAL = "CLUSTER_INACCESSIBLE_TERMINAL"
    CLUSTER_KEY_MISMATCH = "CLUSTER_KEY_MISMATCH"
    CLUSTER_NOT_ENCRYPTED = "CLUSTER_NOT_ENCRYPTED"
    CLUSTER_NOT_FOUND = "CLUSTER_NOT_FOUND"
    # the platform's own configuration (OPERATOR_REASONS: never the customer's key)
    PLATFORM_BUCKET_MISSING = "PLATFORM_BUCKET_MISSING"
    PLATFORM_S3_DENIED = "PLATFORM_S3_DENIED"
    # could not check (status ERROR, evidence of nothing)
    TRANSIENT_ERROR = "TRANSIENT_ERROR"
    CHECK_FAILED = "CHECK_FAILED"
    PLATFORM_ROLE_UNAVAILABLE = "PLATFORM_ROLE_UNAVAILABLE"
    #: the platform role's identity policy refuses (the platform side of the handshake)
    PLATFORM_ROLE_DENIES = "PLATFORM_ROLE_DENIES"
    #: UNKNOWN flag whose failing checks named no reason of their own (``byok.health``)
    VALIDATION_UNAVAILABLE = "VALIDATION_UNAVAILABLE"


class Actor(StrEnum):
    """Who must act on a reason: the customer owns the key, the operator runs the platform."""

    CUSTOMER = "customer"
    PLATFORM_OPERATOR = "platform_operator"


class Severity(StrEnum):
    """How loudly a reason is reported (follows the health it implies)."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


_SEVERITY_OF: Final = {
    HealthStatus.KEY_UNUSABLE: Severity.CRITICAL,
    HealthStatus.AT_RISK: Severity.WARNING,
    HealthStatus.HEALTHY: Severity.INFO,
    None: Severity.INFO,
}

_U, _R, _H = HealthStatus.KEY_UNUSABLE, HealthStatus.AT_RISK, HealthStatus.HEALTHY

ENABLE = "aws kms enable-key --key-id {key_arn}"
CANCEL_THEN_ENABLE = (
    "aws kms cancel-key-deletion --key-id {key_arn} && aws kms enable-key --key-id {key_arn}"
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason code: what it means, the health it implies, how it is fixed and by whom.

    ``impact_by_purpose`` overrides ``impact`` where the same finding hurts one purpose more than
    the other (a policy denying the platform breaks S3 at once, but a running Aurora cluster keeps
    its grant: it is only at risk). ``cause``: what a customer notification says happened (None:
    the check's own message is shown). ``deletion_deadline``: the key's deletion date is the
    deadline (validation adds it from the event when DescribeKey cannot read it; notifications
    and reminders count down to it).
    """

    code: ReasonCode
    impact: HealthStatus | None
    summary: str
    actor: Actor
    fix_template: str | None = None
    cause: str | None = None
    impact_by_purpose: Mapping[Purpose, HealthStatus] = field(default_factory=dict)
    deletion_deadline: bool = False

    @property
    def severity(self) -> Severity:
        """The severity of the worst impact this reason can have (on any purpose)."""
        found = {_SEVERITY_OF[i] for i in (self.impact, *self.impact_by_purpose.values())}
        return next(s for s in Severity if s in found)

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


_C, _P = Actor.CUSTOMER, Actor.PLATFORM_OPERATOR


def _r(
    code: ReasonCode,
    impact: HealthStatus | None,
    actor: Actor,
    summary: str,
    fix: str | None = None,
    *,
    cause: str | None = None,
    deletion_deadline: bool = False,
    **by_purpose: HealthStatus,
) -> Reason:
    return Reason(
        code,
        impact,
        summary,
        actor,
        fix,
        cause,
        {Purpose(p): s for p, s in by_purpose.items()},
        deletion_deadline,
    )


_ALL: Final = (
    # --- key state (DescribeKey, or the error of a cryptographic call) -------------------------
    _r(
        ReasonCode.KEY_DISABLED,
        _U,
        _C,
        "The key is disabled: every encrypt/decrypt call fails.",
        ENABLE,
        cause=(
            "The key is disabled. The platform can neither encrypt nor decrypt this "
            "environment's data with it."
        ),
    ),
    _r(
        ReasonCode.KEY_PENDING_DELETION,
        _U,
        _C,
        "The key is scheduled for deletion: it cannot encrypt or decrypt now, and the data it "
        "protects is lost for good on the deletion date.",
        CANCEL_THEN_ENABLE,
        cause=(
            "The key is scheduled for deletion. A key pending deletion cannot be used at all,"
            " and on the deletion date the data it protects is lost for good."
        ),
        deletion_deadline=True,
    ),
    _r(
        ReasonCode.KEY_NOT_FOUND,
        _U,
        _C,
        "The key does not exist (deleted, wrong ARN, or another region/account).",
        "Restore access to {key_arn} or register the environment's current key "
        "(byok env register ...); deleted key material cannot be recovered.",
        cause=(
            "The key does not exist (or not in this region). Data encrypted under it cannot "
            "be read."
        ),
    ),
    _r(
        ReasonCode.KEY_PENDING_IMPORT,
        _U,
        _C,
        "The key (origin EXTERNAL) has no key material: import it.",
        "aws kms get-parameters-for-import --key-id {key_arn} --wrapping-algorithm "
        "RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_2048, then aws kms import-key-material "
        "--key-id {key_arn} ... with the SAME key material as before",
        cause="The key has no key material (imported material was deleted or never imported).",
    ),
    _r(
        ReasonCode.KEY_UNAVAILABLE,
        _U,
        _C,
        "The key's custom key store is disconnected.",
        "aws kms connect-custom-key-store --custom-key-store-id <id of the key's store>",
        cause="The key's custom key store is disconnected.",
    ),
    _r(
        ReasonCode.KEY_INVALID_STATE,
        _U,
        _C,
        "KMS refuses to use the key in its current state (KMSInvalidStateException).",
        "aws kms describe-key --key-id {key_arn}  # then enable it / cancel its deletion",
    ),
    _r(
        ReasonCode.KEY_STATE_TRANSITIONAL,
        _R,
        _P,
        "The key is being created or updated; re-checked at the next sweep.",
    ),
    _r(
        ReasonCode.KEY_MATERIAL_EXPIRING,
        _R,
        _C,
        "The imported key material expires soon: the key becomes unusable then.",
        "aws kms import-key-material --key-id {key_arn} --expiration-model "
        "KEY_MATERIAL_DOES_NOT_EXPIRE ... (re-import the SAME key material before {valid_to})",
        cause="The key's imported key material expires soon; after that the key becomes unusable.",
    ),
    _r(
        ReasonCode.KEY_MATERIAL_EXPIRED,
        _U,
        _C,
        "The imported key material has expired: the key cannot be used.",
        "aws kms import-key-material --key-id {key_arn} ... (re-import the SAME key material)",
        cause="The key's imported key material has expired.",
    ),
    # --- key properties (the BYOK contract) ----------------------------------------------------
    _r(
        ReasonCode.KEY_SPEC_INVALID,
        _U,
        _C,
        "The key is not a symmetric encryption key (KeySpec must be SYMMETRIC_DEFAULT).",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(then register the new key)",
        cause="The key is not a symmetric encryption key (SYMMETRIC_DEFAULT).",
    ),
    _r(
        ReasonCode.KEY_USAGE_INVALID,
        _U,
        _C,
        "The key's usage is not ENCRYPT_DECRYPT.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(then register the new key)",
        cause="The key's usage is not ENCRYPT_DECRYPT.",
    ),
    _r(
        ReasonCode.KEY_NOT_CUSTOMER_MANAGED,
        _U,
        _C,
        "The key is AWS managed: it cannot be shared with the platform account.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(a customer managed key; then register it)",
        cause="The key is not a customer managed key.",
    ),
    _r(
        ReasonCode.KEY_WRONG_REGION,
        _U,
        _C,
        "The key is not in the environment's region.",
        "aws kms create-key --region {region} ... (the key must live in {region})",
        cause="The key is not in the environment's region.",
    ),
    _r(
        ReasonCode.KEY_WRONG_ACCOUNT,
        _U,
        _C,
        "The key is not owned by the environment's customer account.",
        "Use a key created in account {account} (aws kms create-key ...), then register it",
        cause="The key is not in the registered customer account.",
    ),
    _r(
        ReasonCode.KEY_SHARED,
        _R,
        _C,
        "The key is also used by another environment or for the other purpose: revoking it "
        "for one would break both.",
        "aws kms create-key --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT "
        "(one dedicated key per environment and purpose; then register it)",
    ),
    _r(
        ReasonCode.KEY_ROTATION_DISABLED,
        _H,
        _C,
        "Automatic rotation of the key material is off (recommended on).",
        "aws kms enable-key-rotation --key-id {key_arn}",
    ),
    _r(
        ReasonCode.KEY_METADATA_UNREADABLE,
        None,
        _C,
        "The platform may not read the key's metadata (DescribeKey denied): state checks rely "
        "on the service probes.",
        "Add the read-only health-check statement to the key policy:\n{statements}",
    ),
    # --- key policy (byok.contract) ------------------------------------------------------------
    _r(
        ReasonCode.POLICY_DENIES_PLATFORM,
        _U,
        _C,
        "The key policy no longer lets the platform use the key as the contract requires.",
        "Add these statements to the key policy of {key_arn}:\n{statements}",
        aurora=_R,
        cause=(
            "The key policy no longer lets the platform use the key through the service that "
            "needs it."
        ),
    ),
    _r(
        ReasonCode.POLICY_TOO_BROAD,
        _H,
        _C,
        "The key policy grants more than the BYOK contract needs.",
        "Replace the platform statements of {key_arn} by exactly:\n{statements}",
        cause="The key policy grants more than the platform needs.",
    ),
    _r(
        ReasonCode.POLICY_UNREADABLE,
        None,
        _P,
        "The key policy is unknown: GetKeyPolicy does not work across accounts and no "
        "PutKeyPolicy event carried it yet; the probes decide.",
    ),
    _r(
        ReasonCode.POLICY_UNPARSEABLE,
        None,
        _C,
        "The key policy could not be parsed; the service probes decide.",
    ),
    # --- probes ---------------------------------------------------------------------------------
    _r(
        ReasonCode.S3_PROBE_FAILED,
        _U,
        _C,
        "The platform role could not write/read/delete an SSE-KMS canary object.",
        "Check the key policy of {key_arn} allows the platform through S3:\n{statements}",
        cause="A test write and read of encrypted data failed.",
    ),
    _r(
        ReasonCode.CLUSTER_INACCESSIBLE_RECOVERABLE,
        _U,
        _C,
        "Aurora lost access to the key and stopped the cluster; recoverable for 7 days.",
        "aws kms enable-key --key-id {key_arn} && aws rds start-db-cluster "
        "--db-cluster-identifier {cluster_id} --region {region}",
        cause=(
            "The Aurora cluster lost access to its key and was stopped. It can be recovered "
            "for 7 days after the key became unusable."
        ),
    ),
    _r(
        ReasonCode.CLUSTER_RECOVERY_PENDING,
        _H,
        _P,
        "The key is usable again but the cluster, stopped when it lost the key, is not started "
        "yet (the platform's remediation starts it).",
        "aws rds start-db-cluster --db-cluster-identifier {cluster_id} --region {region}",
    ),
    _r(
        ReasonCode.CLUSTER_INACCESSIBLE_TERMINAL,
        _U,
        _C,
        "Aurora lost access to the key for more than 7 days: the cluster must be restored.",
        "aws kms enable-key --key-id {key_arn} && aws rds restore-db-cluster-to-point-in-time "
        "--source-db-cluster-identifier {cluster_id} --target-db-cluster-identifier "
        "{cluster_id}-restored --restore-type copy-on-write --use-latest-restorable-time "
        "--region {region}",
        cause=(
            "The Aurora cluster lost access to its key for more than 7 days and cannot be "
            "started again."
        ),
    ),
    _r(
        ReasonCode.CLUSTER_KEY_MISMATCH,
        _R,
        _P,
        "The Aurora cluster is encrypted with another key than the registered Aurora key.",
        "byok env update {environment_id} --aurora-key-arn {cluster_key_arn}  # or migrate the "
        "cluster to {key_arn} by snapshot copy + restore",
        cause="The Aurora cluster is encrypted with a different key than the one registered.",
    ),
    _r(
        ReasonCode.CLUSTER_NOT_ENCRYPTED,
        _R,
        _P,
        "The Aurora cluster has no storage encryption: the customer key protects nothing.",
        "Copy a snapshot with --kms-key-id {key_arn} and restore the cluster from it",
    ),
    _r(
        ReasonCode.CLUSTER_NOT_FOUND,
        _R,
        _P,
        "The registered Aurora cluster does not exist.",
    ),
    # --- the platform's own configuration (OPERATOR_REASONS: never the customer's key) -------
    _r(
        ReasonCode.PLATFORM_BUCKET_MISSING,
        None,
        _P,
        "The environment's S3 bucket does not exist or is not in the environment's region: a "
        "platform configuration problem, not the customer's key.",
        "Operator: create the bucket {bucket} in {region} (default SSE-KMS with {key_arn} and "
        "the canary lifecycle rule, docs/platform.md) or re-register the environment",
    ),
    _r(
        ReasonCode.PLATFORM_S3_DENIED,
        None,
        _P,
        "S3 refused the platform role before asking KMS (the role's IAM policy or the bucket "
        "policy): a platform configuration problem, not the customer's key.",
        "Operator: allow {platform_role_arn} s3:PutObject, s3:GetObject and s3:DeleteObject on "
        "{object_arn} (and the canary prefix) in its IAM policy and the bucket policy",
    ),
    # --- could not check (status ERROR, evidence of nothing) -----------------------------------
    _r(
        ReasonCode.TRANSIENT_ERROR,
        None,
        _P,
        "A transient AWS error (throttling, 5xx, timeout) stopped the check; retried later.",
    ),
    _r(
        ReasonCode.CHECK_FAILED,
        None,
        _P,
        "An unexpected AWS error stopped the check (not evidence about the key).",
    ),
    _r(
        ReasonCode.PLATFORM_ROLE_UNAVAILABLE,
        None,
        _P,
        "The platform role could not be assumed: nothing could be checked.",
    ),
    _r(
        ReasonCode.VALIDATION_UNAVAILABLE,
        None,
        _P,
        "No check could run for long enough that the platform cannot tell the key's health.",
    ),
    # The platform's own side of the cross-account handshake: the customer's key policy may be
    # right, the platform role's identity policy refuses. The platform operator fixes it.
    _r(
        ReasonCode.PLATFORM_ROLE_DENIES,
        _U,
        _P,
        "The platform role's own IAM policy does not let it use the key (platform side).",
        "Platform operator (not the customer): let the platform role {platform_role_arn} use "
        "{key_arn} in its identity policy (platform/platform-role.yaml):\n{statements}",
        aurora=_R,
    ),
)

REASONS: Final[Mapping[ReasonCode, Reason]] = {r.code: r for r in _ALL}

#: the platform's own set-up is wrong: routed to the operator (metric
#: ``PlatformConfigurationErrors`` + alarm), never to the customer, never a verdict on the key
#: (a platform-operator reason that is not merely transient)
OPERATOR_REASONS: Final = frozenset(
    {
        ReasonCode.PLATFORM_BUCKET_MISSING,
        ReasonCode.PLATFORM_S3_DENIED,
        ReasonCode.PLATFORM_ROLE_UNAVAILABLE,
        ReasonCode.CHECK_FAILED,
    }
)


def operator_only(reasons: tuple[str, ...] | list[str] | frozenset[str]) -> bool:
    """True when every reason is the platform operator's to act on (and there is one): such a
    problem is never reported to the customer (the operator's metric and alarm report it)."""
    return bool(reasons) and all(get_reason(r).actor is Actor.PLATFORM_OPERATOR for r in reasons)


def get_reason(code: str) -> Reason:
    """The catalogue entry of ``code`` (a ``ReasonCode`` or its text); unknown: ``InputError``."""
    try:
        return REASONS[ReasonCode(code)]
    except ValueError:
        raise InputError(f"reason: unknown reason code {code!r}") from None


def reason_codes() -> list[str]:
    return sorted(REASONS)
