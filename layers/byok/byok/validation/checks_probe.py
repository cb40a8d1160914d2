"""Service probes: what the platform can actually do with the key, now.

The S3 canary round trip is the ground truth for the S3 path (it works even when the customer
does not let the platform read the key's metadata). Aurora has no cheap cryptographic probe; the
cluster's own status is the truth there: ``inaccessible-encryption-credentials*`` means the
cluster already lost the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Final

from byok.models import CheckResult, CheckStatus, ClusterStatus, Purpose
from byok.reasons import ReasonCode
from byok.validation.facts import FactError
from byok.validation.interpret import reason_for_error
from byok.validation.registry import Check, CheckContext, register_check

_CLUSTER_NOT_FOUND: Final = frozenset({"DBClusterNotFoundFault", "DBClusterNotFound"})


@register_check(
    "s3-probe",
    permissions=(
        "sts:AssumeRole",
        "s3:PutObject",
        "s3:GetObject",
        "s3:DeleteObject",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    ),
    inputs=("s3_probe", "platform_role_arn"),
)
class S3Probe(Check):
    """Write and read an SSE-KMS canary object with the S3 key, as the platform role.

    Only a KMS answer is evidence about the customer's key. A ``NoSuchKey`` on our own canary
    (another probe, or the lifecycle rule, removed it) proves nothing; a missing bucket or S3
    refusing the platform role before KMS is asked is the platform's own configuration, reported
    with an operator reason (``byok.reasons.OPERATOR_REASONS``) and never as the customer's key.
    """

    purposes = (Purpose.S3,)

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        probe = ctx.facts.s3_probe
        if probe is None:
            yield self.skipped(ctx, purpose, "S3 probe not run")
            return
        evidence: dict[str, object] = {"bucket": probe.bucket, "object_key": probe.object_key}
        if probe.ok:
            message = "SSE-KMS canary put/get ok"
            if probe.cleanup_error is not None:
                evidence["cleanup_error"] = probe.cleanup_error.context
                message += " (delete failed; the lifecycle rule expires the object)"
            yield self.result(ctx, purpose, None, message, evidence=evidence)
            return
        error = probe.error or FactError("Unknown", "probe failed", transient=False)
        evidence["failed_step"] = probe.failed_step
        if error.transient:
            yield self.could_not_check(ctx, purpose, error, f"S3 canary ({probe.failed_step})")
            return
        reason = probe_reason(error)
        if reason is None:  # our canary vanished: not an answer about the key
            yield self.could_not_check(ctx, purpose, error, f"S3 canary ({probe.failed_step})")
            return
        statements = None
        fix_values: dict[str, object] = {"bucket": probe.bucket}
        if reason in {ReasonCode.POLICY_DENIES_PLATFORM, ReasonCode.S3_PROBE_FAILED}:
            from byok.contract import render_statements

            statements = json.dumps(
                render_statements(purpose, ctx.env.key_arn(purpose), ctx.platform_role_arn),
                indent=2,
            )
            fix_values["statements"] = statements
        if reason is ReasonCode.PLATFORM_S3_DENIED:
            fix_values["platform_role_arn"] = ctx.platform_role_arn
            fix_values["object_arn"] = f"arn:aws:s3:::{probe.bucket}/{probe.object_key}"
        if reason == ReasonCode.PLATFORM_ROLE_DENIES:  # the platform role's policy: operator's fix
            from byok.validation.checks_role import operator_fix_values

            fix_values = dict(operator_fix_values(ctx, purpose))
        yield self.result(
            ctx,
            purpose,
            reason,
            f"S3 canary {probe.failed_step} failed: {error.context}",
            error=error,
            evidence=evidence,
            fix_values=fix_values,
        )


#: S3's own answers that a canary's bucket is missing or not where the environment says
_BUCKET_MISSING: Final = frozenset(
    {
        "NoSuchBucket",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    }
)
_ACCESS_DENIED: Final = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled"})


def probe_reason(error: FactError) -> ReasonCode | None:
    """The reason a definitive canary error proves; None when it proves nothing (``NoSuchKey``).

    KMS errors (S3 passes them on as ``KMS.<code>``, a denial names the ``kms:`` action) are about
    the key; S3's own refusals are about the platform's bucket or role; any other KMS exception
    is still the key path failing (``S3_PROBE_FAILED``); anything else is an unexpected error.
    """
    key_reason = reason_for_error(error)
    if key_reason is not None:
        return key_reason
    if error.code in {"NoSuchKey", "NoSuchVersion"}:
        return None
    if error.code in _BUCKET_MISSING:
        return ReasonCode.PLATFORM_BUCKET_MISSING
    if error.code in _ACCESS_DENIED:
        return ReasonCode.PLATFORM_S3_DENIED
    if error.code.endswith("Exception"):  # KMS's error codes; S3's never end so
        return ReasonCode.S3_PROBE_FAILED
    return ReasonCode.CHECK_FAILED


@register_check(
    "aurora-cluster",
    permissions=("sts:AssumeRole", "rds:DescribeDBClusters"),
    inputs=("cluster",),
)
class AuroraCluster(Check):
    """The Aurora cluster must be encrypted with the registered key and not have lost it.

    A cluster still ``inaccessible-encryption-credentials-recoverable`` after its key is Enabled
    again only needs a start (CLUSTER_RECOVERY_PENDING, a warning): remediation does that.
    """

    purposes = (Purpose.AURORA,)

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        cluster = ctx.facts.cluster
        if cluster is None:
            yield self.skipped(ctx, purpose, "cluster status not gathered")
            return
        if cluster.error is not None:
            yield self._error(ctx, purpose, cluster.error)
            return
        evidence = {
            "cluster_id": cluster.cluster_id,
            "status": cluster.status,
            "storage_encrypted": cluster.storage_encrypted,
            "kms_key_id": cluster.kms_key_id,
        }
        key_arn = ctx.env.key_arn(purpose)
        recoverable = cluster.status == ClusterStatus.RECOVERABLE or (
            cluster.status or ""
        ).startswith(ClusterStatus.RECOVERABLE)
        meta = ctx.key(purpose).metadata
        if recoverable and meta is not None and meta.key_state == "Enabled":
            # the customer's part is done: the key is back, only the stopped cluster remains,
            # which the platform restarts itself; keeping KEY_UNUSABLE here would deadlock that
            yield self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_RECOVERY_PENDING,
                f"key {key_arn} is enabled again; cluster {cluster.cluster_id} is still "
                f"{cluster.status} and must be started",
                evidence=evidence,
            )
        elif recoverable:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_INACCESSIBLE_RECOVERABLE,
                f"cluster {cluster.cluster_id} is {cluster.status}: stopped, recoverable 7 days",
                evidence=evidence,
            )
        elif cluster.status == ClusterStatus.TERMINAL:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_INACCESSIBLE_TERMINAL,
                f"cluster {cluster.cluster_id} is {cluster.status}: restore from backup",
                evidence=evidence,
            )
        elif not cluster.storage_encrypted:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_NOT_ENCRYPTED,
                f"cluster {cluster.cluster_id} has no storage encryption",
                evidence=evidence,
            )
        elif cluster.kms_key_id != key_arn:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_KEY_MISMATCH,
                f"cluster {cluster.cluster_id} is encrypted with {cluster.kms_key_id}, "
                f"not the registered {key_arn}",
                evidence=evidence,
                fix_values={"cluster_key_arn": cluster.kms_key_id},
            )
        else:
            yield self.result(
                ctx,
                purpose,
                None,
                f"cluster {cluster.cluster_id} is {cluster.status}, encrypted with the key",
                evidence=evidence,
            )

    def _error(self, ctx: CheckContext, purpose: Purpose, error: FactError) -> CheckResult:
        if error.transient:
            return self.could_not_check(ctx, purpose, error, "cluster status")
        if error.code in _CLUSTER_NOT_FOUND:
            return self.result(
                ctx,
                purpose,
                ReasonCode.CLUSTER_NOT_FOUND,
                f"cluster {ctx.env.cluster_id} not found in {ctx.env.region}",
                error=error,
            )
        return self.result(
            ctx,
            purpose,
            ReasonCode.CHECK_FAILED,
            f"DescribeDBClusters failed ({error.code})",
            status=CheckStatus.ERROR,
            error=error,
        )
