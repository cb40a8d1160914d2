"""Pure validation: registered checks over hand-built facts (every reason path that can fail)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from validation_facts import (
    AURORA_KEY,
    NOW,
    ROLE,
    S3_KEY,
    environment,
    healthy_facts,
    metadata,
    with_key,
)

from byok.health import decide
from byok.models import CheckStatus, HealthStatus, Purpose
from byok.validation import ClusterFacts, FactError, S3ProbeFacts, validate


def run(facts):
    return validate(environment(), facts, platform_role_arn=ROLE, now=NOW)


def findings(report, reason=None):
    bad = [c for c in report.checks if c.status not in (CheckStatus.PASS, CheckStatus.SKIP)]
    return [c for c in bad if reason is None or c.reason == reason]


def test_healthy_environment_passes_and_decides_healthy():
    report = run(healthy_facts())
    assert findings(report) == []
    passed = {c.check_id for c in report.checks if c.status is CheckStatus.PASS}
    assert {"key-state", "key-spec", "s3-probe", "aurora-cluster"} <= passed
    assert decide(None, report).flag.status is HealthStatus.HEALTHY
    assert report.checked_at == NOW
    assert report.to_dict()["checked_at"] == "2026-11-25T04:00:00+00:00"


def test_disabled_s3_key_is_unusable_with_enable_fix_and_error_context():
    facts = with_key(healthy_facts(), Purpose.S3, metadata=metadata(S3_KEY, key_state="Disabled"))
    (check,) = findings(run(facts), "KEY_DISABLED")
    assert check.status is CheckStatus.FAIL
    assert check.impact is HealthStatus.KEY_UNUSABLE
    assert check.fix == f"aws kms enable-key --key-id {S3_KEY}"
    assert check.error == f"DisabledException: {S3_KEY} is disabled."
    assert check.purpose is Purpose.S3
    flag = decide(None, run(facts)).flag
    assert flag.status is HealthStatus.KEY_UNUSABLE
    assert flag.reasons == ("KEY_DISABLED",)


@pytest.mark.parametrize("purpose", list(Purpose))
def test_pending_deletion_either_purpose_is_unusable_with_date_and_cancel_fix(purpose):
    arn = S3_KEY if purpose is Purpose.S3 else AURORA_KEY
    when = NOW + timedelta(days=7)
    facts = with_key(
        healthy_facts(),
        purpose,
        metadata=metadata(arn, key_state="PendingDeletion", deletion_date=when),
    )
    (check,) = findings(run(facts), "KEY_PENDING_DELETION")
    assert check.impact is HealthStatus.KEY_UNUSABLE
    assert check.evidence["deletion_date"] == when.isoformat()
    assert when.isoformat() in check.message
    assert check.fix == (
        f"aws kms cancel-key-deletion --key-id {arn} && aws kms enable-key --key-id {arn}"
    )
    assert check.error == f"KMSInvalidStateException: {arn} is pending deletion."


@pytest.mark.parametrize(
    ("state", "reason", "impact"),
    [
        ("PendingImport", "KEY_PENDING_IMPORT", HealthStatus.KEY_UNUSABLE),
        ("Unavailable", "KEY_UNAVAILABLE", HealthStatus.KEY_UNUSABLE),
        ("PendingReplicaDeletion", "KEY_PENDING_DELETION", HealthStatus.KEY_UNUSABLE),
        ("Updating", "KEY_STATE_TRANSITIONAL", HealthStatus.AT_RISK),
    ],
)
def test_other_key_states(state, reason, impact):
    facts = with_key(
        healthy_facts(), Purpose.AURORA, metadata=metadata(AURORA_KEY, key_state=state)
    )
    (check,) = findings(run(facts), reason)
    assert check.impact is impact


@pytest.mark.parametrize(
    ("days", "reason", "impact"),
    [
        (10, "KEY_MATERIAL_EXPIRING", HealthStatus.AT_RISK),
        (30, "KEY_MATERIAL_EXPIRING", HealthStatus.AT_RISK),
        (-1, "KEY_MATERIAL_EXPIRED", HealthStatus.KEY_UNUSABLE),
        (31, None, None),
    ],
)
def test_imported_material_expiry_window(days, reason, impact):
    valid_to = NOW + timedelta(days=days)
    meta = metadata(
        S3_KEY, origin="EXTERNAL", valid_to=valid_to, expiration_model="KEY_MATERIAL_EXPIRES"
    )
    report = run(with_key(healthy_facts(), Purpose.S3, metadata=meta))
    (check,) = [
        c for c in report.checks if c.check_id == "key-material-expiry" and c.purpose == "s3"
    ]
    assert check.reason == reason
    if reason:
        assert check.impact is impact
        assert check.evidence["valid_to"] == valid_to.isoformat()
        assert S3_KEY in check.fix
    else:
        assert check.status is CheckStatus.PASS


def test_key_properties_of_the_contract():
    meta = metadata(
        S3_KEY,
        key_spec="RSA_2048",
        key_usage="SIGN_VERIFY",
        key_manager="AWS",
        region="us-east-1",
        account="999999999999",
    )
    reasons = {
        c.reason for c in findings(run(with_key(healthy_facts(), Purpose.S3, metadata=meta)))
    }
    assert {
        "KEY_SPEC_INVALID",
        "KEY_USAGE_INVALID",
        "KEY_NOT_CUSTOMER_MANAGED",
        "KEY_WRONG_REGION",
        "KEY_WRONG_ACCOUNT",
    } <= reasons


def test_rotation_off_is_a_warning_that_keeps_the_environment_healthy():
    report = run(with_key(healthy_facts(), Purpose.S3, rotation_enabled=False))
    (check,) = findings(report, "KEY_ROTATION_DISABLED")
    assert check.status is CheckStatus.WARN
    assert check.fix == f"aws kms enable-key-rotation --key-id {S3_KEY}"
    assert decide(None, report).flag.status is HealthStatus.HEALTHY


def test_shared_key_is_at_risk():
    report = run(with_key(healthy_facts(), Purpose.S3, shared_with=("globex",)))
    (check,) = findings(report, "KEY_SHARED")
    assert check.impact is HealthStatus.AT_RISK
    assert check.evidence["shared_with"] == ["globex"]


def test_transient_metadata_error_is_evidence_of_nothing():
    throttled = FactError(
        "ThrottlingException", "Rate exceeded", transient=True, operation="DescribeKey"
    )
    facts = with_key(healthy_facts(), Purpose.S3, metadata=None, metadata_error=throttled)
    report = run(facts)
    (check,) = [c for c in report.checks if c.check_id == "key-state" and c.purpose is Purpose.S3]
    assert check.status is CheckStatus.ERROR
    assert check.impact is None
    assert check.reason == "TRANSIENT_ERROR"
    assert check.error == "ThrottlingException: Rate exceeded"
    # the other metadata checks skip instead of repeating the same failure
    skipped = [c for c in report.checks if c.purpose is Purpose.S3 and c.check_id == "key-spec"]
    assert skipped[0].status is CheckStatus.SKIP


def test_key_not_found_is_definitive():
    gone = FactError("NotFoundException", f"Key '{S3_KEY}' does not exist", transient=False)
    report = run(with_key(healthy_facts(), Purpose.S3, metadata=None, metadata_error=gone))
    (check,) = findings(report, "KEY_NOT_FOUND")
    assert check.impact is HealthStatus.KEY_UNUSABLE
    assert check.error.startswith("NotFoundException: ")


@pytest.mark.parametrize(
    ("code", "message", "reason"),
    [
        ("DisabledException", f"{S3_KEY} is disabled.", "KEY_DISABLED"),
        ("KMSInvalidStateException", f"{S3_KEY} is pending deletion.", "KEY_PENDING_DELETION"),
        ("KMSInvalidStateException", f"{S3_KEY} is pending import.", "KEY_PENDING_IMPORT"),
        ("NotFoundException", "Invalid keyId", "KEY_NOT_FOUND"),
        ("InvalidKeyUsageException", "not for encryption", "S3_PROBE_FAILED"),
    ],
)
def test_s3_probe_errors_name_the_key_problem(code, message, reason):
    probe = S3ProbeFacts(
        "platform-data",
        "byok-guard/canary/acme.txt",
        ok=False,
        failed_step="put",
        error=FactError(code, message, transient=False, operation="PutObject"),
    )
    report = run(replace(healthy_facts(), s3_probe=probe))
    (check,) = [c for c in report.checks if c.check_id == "s3-probe"]
    assert check.reason == reason
    assert check.impact is HealthStatus.KEY_UNUSABLE
    assert check.error == f"{code}: {message}"
    assert check.evidence["failed_step"] == "put"


@pytest.mark.parametrize(
    ("code", "message", "step", "reason"),
    [
        ("NoSuchBucket", "The specified bucket does not exist", "put", "PLATFORM_BUCKET_MISSING"),
        ("PermanentRedirect", "The bucket is in another region", "put", "PLATFORM_BUCKET_MISSING"),
        ("AccessDenied", "Access Denied", "put", "PLATFORM_S3_DENIED"),
        ("AccessDenied", "not authorized to perform: s3:GetObject", "get", "PLATFORM_S3_DENIED"),
        ("InvalidRequest", "something unexpected", "put", "CHECK_FAILED"),
        ("NoSuchKey", "The specified key does not exist.", "get", "TRANSIENT_ERROR"),
    ],
)
def test_s3_probe_platform_side_errors_never_blame_the_key(code, message, step, reason):
    """A missing bucket, S3 refusing the platform role, our own canary gone (another probe
    deleted it): no verdict about the key, an operator reason instead of the customer's."""
    from byok.reasons import OPERATOR_REASONS

    probe = S3ProbeFacts(
        "platform-data",
        "byok-guard/canary/acme/1.txt",
        ok=False,
        failed_step=step,
        error=FactError(code, message, transient=False, operation="PutObject"),
    )
    report = run(replace(healthy_facts(), s3_probe=probe))
    (check,) = [c for c in report.checks if c.check_id == "s3-probe"]
    assert (check.reason, check.status, check.impact) == (reason, CheckStatus.ERROR, None)
    assert (reason in OPERATOR_REASONS) is (reason != "TRANSIENT_ERROR")
    assert decide(None, report).flag.status is HealthStatus.UNKNOWN  # never KEY_UNUSABLE
    healthy = decide(None, run(healthy_facts())).flag
    assert decide(healthy, report).flag.status is HealthStatus.HEALTHY  # held
    if reason == "PLATFORM_BUCKET_MISSING":
        assert "platform-data" in check.fix


def test_s3_probe_throttled_is_error_not_unusable():
    probe = S3ProbeFacts(
        "platform-data",
        "k",
        ok=False,
        failed_step="put",
        error=FactError("SlowDown", "Please reduce your request rate.", transient=True),
    )
    report = run(replace(healthy_facts(), s3_probe=probe))
    (check,) = [c for c in report.checks if c.check_id == "s3-probe"]
    assert (check.status, check.impact) == (CheckStatus.ERROR, None)
    transition = decide(None, report)
    assert transition.flag.status is not HealthStatus.KEY_UNUSABLE


@pytest.mark.parametrize(
    ("cluster", "reason", "impact"),
    [
        (
            ClusterFacts(
                "acme-db", "inaccessible-encryption-credentials-recoverable", True, AURORA_KEY
            ),
            "CLUSTER_INACCESSIBLE_RECOVERABLE",
            HealthStatus.KEY_UNUSABLE,
        ),
        (
            ClusterFacts("acme-db", "inaccessible-encryption-credentials", True, AURORA_KEY),
            "CLUSTER_INACCESSIBLE_TERMINAL",
            HealthStatus.KEY_UNUSABLE,
        ),
        (
            ClusterFacts("acme-db", "available", False, None),
            "CLUSTER_NOT_ENCRYPTED",
            HealthStatus.AT_RISK,
        ),
        (
            ClusterFacts("acme-db", "available", True, S3_KEY),
            "CLUSTER_KEY_MISMATCH",
            HealthStatus.AT_RISK,
        ),
        (
            ClusterFacts(
                "acme-db",
                error=FactError("DBClusterNotFoundFault", "DBCluster acme-db not found.", False),
            ),
            "CLUSTER_NOT_FOUND",
            HealthStatus.AT_RISK,
        ),
    ],
)
def test_cluster_status(cluster, reason, impact):
    # the key is disabled too (a recoverable cluster with an enabled key is tested below)
    facts = with_key(
        replace(healthy_facts(), cluster=cluster),
        Purpose.AURORA,
        metadata=metadata(AURORA_KEY, key_state="Disabled"),
    )
    report = run(facts)
    (check,) = [c for c in report.checks if c.check_id == "aurora-cluster"]
    assert (check.reason, check.impact) == (reason, impact)
    if reason == "CLUSTER_KEY_MISMATCH":  # register again is refused: update, with the key
        assert check.fix.startswith(f"byok env update acme --aurora-key-arn {S3_KEY}  # ")
    if reason == "CLUSTER_INACCESSIBLE_RECOVERABLE":
        assert check.fix == (
            f"aws kms enable-key --key-id {AURORA_KEY} && aws rds start-db-cluster "
            "--db-cluster-identifier acme-db --region eu-west-1"
        )


def test_without_the_platform_role_every_check_errors():
    from byok.validation import Facts

    denied = FactError("AccessDenied", "not authorized to perform sts:AssumeRole", False)
    report = run(Facts(access_error=denied))
    assert report.checks
    assert all(c.status is CheckStatus.ERROR and c.impact is None for c in report.checks)
    assert {c.reason for c in report.checks} == {"PLATFORM_ROLE_UNAVAILABLE"}
    assert decide(None, report).flag.status is HealthStatus.UNKNOWN


def test_same_facts_same_verdict_whatever_the_trigger():
    from byok.models import Trigger, TriggerKind

    facts = with_key(healthy_facts(), Purpose.S3, metadata=metadata(S3_KEY, key_state="Disabled"))
    enable = Trigger(TriggerKind.API_CALL, S3_KEY, None, None, "EnableKey", NOW, "e1")
    plain = validate(environment(), facts, platform_role_arn=ROLE, now=NOW)
    evented = validate(environment(), facts, platform_role_arn=ROLE, now=NOW, trigger=enable)
    assert [c.to_dict() for c in plain.checks] == [c.to_dict() for c in evented.checks]


def test_recoverable_cluster_with_key_enabled_again_only_needs_a_start():
    cluster = ClusterFacts(
        "acme-db", "inaccessible-encryption-credentials-recoverable", True, AURORA_KEY
    )
    report = run(replace(healthy_facts(), cluster=cluster))
    (check,) = [c for c in report.checks if c.check_id == "aurora-cluster"]
    assert (check.reason, check.status, check.impact) == (
        "CLUSTER_RECOVERY_PENDING",
        CheckStatus.WARN,
        HealthStatus.HEALTHY,
    )
    assert (
        check.fix == "aws rds start-db-cluster --db-cluster-identifier acme-db --region eu-west-1"
    )
    # key state unknown (DescribeKey denied): the cluster status stays decisive
    denied = FactError("AccessDeniedException", "no", transient=False)
    facts = with_key(
        replace(healthy_facts(), cluster=cluster),
        Purpose.AURORA,
        metadata=None,
        metadata_error=denied,
    )
    (check,) = [c for c in run(facts).checks if c.check_id == "aurora-cluster"]
    assert check.reason == "CLUSTER_INACCESSIBLE_RECOVERABLE"


def test_deletion_date_from_the_event_when_describe_key_is_denied():
    from byok.models import Trigger, TriggerKind

    denied = FactError("AccessDeniedException", "no DescribeKey", transient=False)
    probe = S3ProbeFacts(
        "platform-data",
        "k",
        ok=False,
        failed_step="put",
        error=FactError("KMSInvalidStateException", f"{S3_KEY} is pending deletion.", False),
    )
    facts = with_key(
        replace(healthy_facts(), s3_probe=probe), Purpose.S3, metadata=None, metadata_error=denied
    )
    trigger = Trigger(
        TriggerKind.API_CALL,
        S3_KEY,
        "111122223333",
        "eu-west-1",
        "ScheduleKeyDeletion",
        "2026-11-25T04:00:00Z",
        "e1",
        evidence={"deletionDate": "Dec 2, 2026, 4:00:00 AM", "pendingWindowInDays": 7},
    )
    report = validate(environment(), facts, platform_role_arn=ROLE, now=NOW, trigger=trigger)
    (check,) = [c for c in report.checks if c.check_id == "s3-probe"]
    assert check.reason == "KEY_PENDING_DELETION"
    # CloudTrail's display date, as the one wire form (so the notice can show the deadline)
    assert check.evidence["deletion_date"] == "2026-12-02T04:00:00Z"
    assert check.impact is HealthStatus.KEY_UNUSABLE
