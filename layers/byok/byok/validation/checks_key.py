"""Checks on key metadata (DescribeKey, GetKeyRotationStatus) and on the registry (sharing).

Each check reads one aspect of the key so a report says precisely what is wrong; when the
metadata could not be read, ``key-state`` alone reports why and the others skip, so one missing
fact does not produce five findings.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Final

from byok.models import CheckResult, CheckStatus, Purpose
from byok.reasons import ReasonCode
from byok.times import to_wire
from byok.validation.facts import KeyMetadata
from byok.validation.interpret import KEY_STATE_REASONS, expected_error, reason_for_error
from byok.validation.registry import Check, CheckContext, register_check

#: imported key material expiring within this window makes the environment AT_RISK
EXPIRY_WARNING: Final = timedelta(days=30)

_DESCRIBE: Final = ("kms:DescribeKey",)


class _MetadataCheck(Check):
    """A check over DescribeKey output: skips when the metadata is missing."""

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        meta = ctx.key(purpose).metadata
        if meta is None:
            yield self.skipped(ctx, purpose, "key metadata not available (see key-state)")
            return
        yield from self.inspect(ctx, purpose, meta)

    def inspect(
        self, ctx: CheckContext, purpose: Purpose, meta: KeyMetadata
    ) -> Iterator[CheckResult]:
        raise NotImplementedError


@register_check("key-state", permissions=_DESCRIBE, inputs=("key.metadata",))
class KeyState(Check):
    """The key must be Enabled: a disabled or pending-deletion key breaks both purposes at once.

    Also reports why the metadata is missing: NotFound is definitive (KEY_NOT_FOUND), AccessDenied
    means the customer left out the optional read-only statement (the probes decide then), a
    transient error is evidence of nothing.
    """

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        facts = ctx.key(purpose)
        if facts.metadata is None:
            yield self._missing(ctx, purpose)
            return
        meta = facts.metadata
        reason = KEY_STATE_REASONS.get(meta.key_state)
        evidence: dict[str, object] = {"key_state": meta.key_state}
        if meta.deletion_date is not None:
            evidence["deletion_date"] = to_wire(meta.deletion_date)
        if reason is None:
            yield self.result(ctx, purpose, None, f"key is {meta.key_state}", evidence=evidence)
            return
        message = f"{purpose.value} key {facts.key_arn} is {meta.key_state}"
        if meta.deletion_date is not None:
            message += f"; it will be deleted on {to_wire(meta.deletion_date)}"
        yield self.result(
            ctx,
            purpose,
            reason,
            message,
            error=expected_error(meta.key_state, facts.key_arn),
            evidence=evidence,
        )

    def _missing(self, ctx: CheckContext, purpose: Purpose) -> CheckResult:
        facts = ctx.key(purpose)
        error = facts.metadata_error
        if error is None:
            return self.skipped(ctx, purpose, "key metadata was not gathered")
        if error.transient:
            return self.could_not_check(ctx, purpose, error, "key metadata")
        if error.access_denied:
            from byok.contract import render_statements

            return self.result(
                ctx,
                purpose,
                ReasonCode.KEY_METADATA_UNREADABLE,
                "the platform may not call DescribeKey on the key; the probes decide",
                status=CheckStatus.SKIP,
                error=error,
                fix_values={
                    "statements": _dumps(
                        render_statements(purpose, facts.key_arn, ctx.platform_role_arn)
                    )
                },
            )
        reason = reason_for_error(error)
        if reason is None:
            return self.result(
                ctx,
                purpose,
                ReasonCode.CHECK_FAILED,
                f"DescribeKey failed with an unexpected error ({error.code})",
                status=CheckStatus.ERROR,
                error=error,
            )
        return self.result(ctx, purpose, reason, "", error=error)


@register_check("key-spec", permissions=_DESCRIBE, inputs=("key.metadata",))
class KeySpec(_MetadataCheck):
    """SSE-KMS and Aurora only use symmetric keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)."""

    def inspect(
        self, ctx: CheckContext, purpose: Purpose, meta: KeyMetadata
    ) -> Iterator[CheckResult]:
        ok = True
        for name, field, value, expected, reason in (
            (
                "KeySpec",
                "key_spec",
                meta.key_spec,
                "SYMMETRIC_DEFAULT",
                ReasonCode.KEY_SPEC_INVALID,
            ),
            (
                "KeyUsage",
                "key_usage",
                meta.key_usage,
                "ENCRYPT_DECRYPT",
                ReasonCode.KEY_USAGE_INVALID,
            ),
        ):
            if value != expected:
                ok = False
                message = f"{name} is {value}, expected {expected}"
                yield self.result(ctx, purpose, reason, message, evidence={field: value})
        if ok:
            yield self.result(ctx, purpose, None, "symmetric encryption key")


@register_check("key-manager", permissions=_DESCRIBE, inputs=("key.metadata",))
class KeyManager(_MetadataCheck):
    """AWS managed keys cannot be shared across accounts: BYOK needs a customer managed key."""

    def inspect(
        self, ctx: CheckContext, purpose: Purpose, meta: KeyMetadata
    ) -> Iterator[CheckResult]:
        if meta.key_manager != "CUSTOMER":
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_NOT_CUSTOMER_MANAGED,
                f"KeyManager is {meta.key_manager}, expected CUSTOMER",
                evidence={"key_manager": meta.key_manager},
            )
        else:
            yield self.result(ctx, purpose, None, "customer managed key")


@register_check("key-location", permissions=_DESCRIBE, inputs=("key.metadata",))
class KeyLocation(_MetadataCheck):
    """The key must live in the environment's region and the customer's account.

    S3 and Aurora only use a key of their own region; a key in another account than the
    registered customer's would put the platform's data under a third party's control.
    """

    def inspect(
        self, ctx: CheckContext, purpose: Purpose, meta: KeyMetadata
    ) -> Iterator[CheckResult]:
        ok = True
        if meta.region != ctx.env.region:
            ok = False
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_WRONG_REGION,
                f"key is in {meta.region}, the environment is in {ctx.env.region}",
                evidence={"key_region": meta.region},
            )
        if meta.account != ctx.env.customer_account:
            ok = False
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_WRONG_ACCOUNT,
                f"key is owned by {meta.account}, expected {ctx.env.customer_account}",
                evidence={"key_account": meta.account},
            )
        if ok:
            yield self.result(ctx, purpose, None, f"key in {meta.region}, account {meta.account}")


@register_check("key-material-expiry", permissions=_DESCRIBE, inputs=("key.metadata", "now"))
class KeyMaterialExpiry(_MetadataCheck):
    """Imported key material (Origin EXTERNAL) may expire (ValidTo): the key then stops working.

    Within 30 days of ValidTo the environment is AT_RISK, after it KEY_UNUSABLE.
    """

    def inspect(
        self, ctx: CheckContext, purpose: Purpose, meta: KeyMetadata
    ) -> Iterator[CheckResult]:
        if meta.origin != "EXTERNAL" or meta.valid_to is None:
            yield self.skipped(ctx, purpose, f"key material does not expire (Origin {meta.origin})")
            return
        left = meta.valid_to - ctx.now
        evidence = {
            "valid_to": to_wire(meta.valid_to),
            "days_left": round(left.total_seconds() / 86400, 2),
            "expiration_model": meta.expiration_model,
        }
        values = {"valid_to": to_wire(meta.valid_to)}
        if left <= timedelta(0):
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_MATERIAL_EXPIRED,
                f"imported key material expired on {to_wire(meta.valid_to)}",
                evidence=evidence,
                fix_values=values,
            )
        elif left <= EXPIRY_WARNING:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_MATERIAL_EXPIRING,
                f"imported key material expires on {to_wire(meta.valid_to)} "
                f"({left.days} days left)",
                evidence=evidence,
                fix_values=values,
            )
        else:
            yield self.result(
                ctx, purpose, None, f"key material valid to {values['valid_to']}", evidence=evidence
            )


@register_check(
    "key-rotation",
    permissions=("kms:GetKeyRotationStatus",),
    inputs=("key.metadata", "key.rotation"),
)
class KeyRotation(Check):
    """Automatic rotation is recommended (a warning only: it never changes the health)."""

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        facts = ctx.key(purpose)
        if facts.metadata is not None and facts.metadata.origin != "AWS_KMS":
            yield self.skipped(ctx, purpose, f"no automatic rotation for {facts.metadata.origin}")
        elif facts.rotation_enabled is None:
            detail = f" ({facts.rotation_error.code})" if facts.rotation_error else ""
            yield self.skipped(ctx, purpose, f"rotation status not available{detail}")
        elif not facts.rotation_enabled:
            yield self.result(ctx, purpose, ReasonCode.KEY_ROTATION_DISABLED, "")
        else:
            yield self.result(ctx, purpose, None, "automatic rotation enabled")


@register_check("key-unique", permissions=("dynamodb:GetItem",), inputs=("key.shared_with",))
class KeyUnique(Check):
    """A key serves one environment and one purpose: revoking it must not break a second one."""

    def run(self, ctx: CheckContext, purpose: Purpose) -> Iterator[CheckResult]:
        shared = ctx.key(purpose).shared_with
        if shared:
            yield self.result(
                ctx,
                purpose,
                ReasonCode.KEY_SHARED,
                f"{purpose.value} key is also used by {', '.join(shared)}",
                evidence={"shared_with": list(shared)},
            )
        else:
            yield self.result(ctx, purpose, None, "key used by this environment only")


def _dumps(statements: object) -> str:
    import json

    return json.dumps(statements, indent=2, sort_keys=False)
