"""Property: transient errors are evidence of nothing, whatever facts they hit."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from validation_facts import NOW, ROLE, environment, healthy_facts, metadata, with_key

from byok.health import decide
from byok.models import CheckStatus, HealthStatus, Purpose
from byok.validation import FactError, validate

TRANSIENT = st.builds(
    FactError,
    code=st.sampled_from(
        [
            "ThrottlingException",
            "SlowDown",
            "InternalError",
            "ReadTimeoutError",
            "KMSInternalException",
        ]
    ),
    message=st.text(max_size=20),
    transient=st.just(True),
)
TARGETS = st.sets(
    st.sampled_from(
        [
            "s3.metadata",
            "aurora.metadata",
            "s3.policy",
            "aurora.policy",
            "s3.rotation",
            "probe",
            "cluster",
        ]
    ),
    min_size=1,
)


def _break(facts, targets, error):
    for target in targets:
        if target == "probe":
            facts = replace(
                facts, s3_probe=replace(facts.s3_probe, ok=False, failed_step="put", error=error)
            )
        elif target == "cluster":
            facts = replace(facts, cluster=replace(facts.cluster, status=None, error=error))
        else:
            purpose, part = target.split(".")
            over = {
                f"{part}_error": error,
                part if part != "rotation" else "rotation_enabled": None,
            }
            if part == "policy":
                over["policy_source"] = None
            facts = with_key(facts, Purpose(purpose), **over)
    return facts


@settings(max_examples=150, deadline=None)
@given(
    targets=TARGETS,
    error=TRANSIENT,
    start=st.sampled_from([HealthStatus.HEALTHY, HealthStatus.KEY_UNUSABLE]),
)
def test_transient_errors_never_move_a_flag(targets, error, start):
    base = healthy_facts()
    if start is HealthStatus.KEY_UNUSABLE:  # a real problem the errors now hide
        base = with_key(
            base, Purpose.S3, metadata=metadata(base.keys[Purpose.S3].key_arn, key_state="Disabled")
        )
    first = decide(None, validate(environment(), base, platform_role_arn=ROLE, now=NOW)).flag
    assert first.status is start
    report = validate(environment(), _break(base, targets, error), platform_role_arn=ROLE, now=NOW)
    for check in report.checks:
        if check.status is CheckStatus.ERROR:
            assert check.impact is None
    later = replace(report, checked_at=NOW.replace(minute=1).isoformat())
    transition = decide(first, later)
    if first.status is HealthStatus.HEALTHY:
        # never a false alarm
        assert transition.flag.status is HealthStatus.HEALTHY
    else:
        # never a false all-clear: the disabled key stays unusable, whatever could not be read
        assert transition.flag.status is HealthStatus.KEY_UNUSABLE
