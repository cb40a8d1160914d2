"""Customer messages, snapshot style: every reason code renders a message a person can act on.

Snapshots live in ``snapshots/`` beside this file; regenerate them after a deliberate wording change
with ``BYOK_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/unit/remediation/test_messages.py`` and read
the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from remediation_data import AURORA_KEY, NOW, S3_KEY, detail

from byok.reasons import REASONS
from byok.remediation import HealthChange, NoticeKind, RemediationContext
from byok.remediation.messages import render

#: the customer-facing cause of each reason that has one (the catalogue's ``cause``)
CAUSES = {code: r.cause for code, r in REASONS.items() if r.cause}

SNAPSHOTS = Path(__file__).parent / "snapshots"

#: reason code -> (purpose, fix, error, extra evidence)
CASES: dict[str, tuple[str, str, str | None, dict]] = {
    "KEY_DISABLED": (
        "s3",
        f"aws kms enable-key --key-id {S3_KEY}",
        f"DisabledException: {S3_KEY} is disabled.",
        {},
    ),
    "KEY_PENDING_DELETION": (
        "aurora",
        f"aws kms cancel-key-deletion --key-id {AURORA_KEY}\n"
        f"aws kms enable-key --key-id {AURORA_KEY}",
        f"KMSInvalidStateException: {AURORA_KEY} is pending deletion.",
        {"deletion_date": "2026-12-02T12:00:00+00:00"},
    ),
    "KEY_NOT_FOUND": (
        "s3",
        "Re-create the environment's S3 key with the byok-keys stack and "
        "register its ARN with the platform",
        f"NotFoundException: Key '{S3_KEY}' does not exist",
        {},
    ),
    "KEY_PENDING_IMPORT": ("s3", f"aws kms import-key-material --key-id {S3_KEY} ...", None, {}),
    "KEY_UNAVAILABLE": (
        "s3",
        "aws kms connect-custom-key-store --custom-key-store-id <id>",
        None,
        {},
    ),
    "KEY_MATERIAL_EXPIRING": (
        "aurora",
        f"aws kms import-key-material --key-id {AURORA_KEY} "
        "--expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE ...",
        None,
        {"valid_to": "2026-12-10T00:00:00+00:00"},
    ),
    "KEY_MATERIAL_EXPIRED": (
        "aurora",
        f"aws kms import-key-material --key-id {AURORA_KEY} ...",
        None,
        {},
    ),
    "POLICY_DENIES_PLATFORM": (
        "s3",
        '{"Sid": "BYOKPlatformS3ViaService", "Effect": "Allow"}',
        "AccessDenied: kms:GenerateDataKey",
        {},
    ),
    "POLICY_TOO_BROAD": ("s3", "Remove statement Statement[3]", None, {}),
    "S3_PROBE_FAILED": (
        "s3",
        f"aws kms enable-key --key-id {S3_KEY}",
        "KMS.DisabledException: The key is disabled",
        {},
    ),
    "CLUSTER_INACCESSIBLE_RECOVERABLE": (
        "aurora",
        f"aws kms enable-key --key-id {AURORA_KEY}",
        None,
        {"cluster_status": "inaccessible-encryption-credentials-recoverable"},
    ),
    "CLUSTER_INACCESSIBLE_TERMINAL": ("aurora", "Restore the cluster from a backup", None, {}),
    "CLUSTER_KEY_MISMATCH": ("aurora", "Register the key the cluster uses", None, {}),
    "KEY_SPEC_INVALID": ("s3", "Create a SYMMETRIC_DEFAULT key with the byok-keys stack", None, {}),
    "KEY_USAGE_INVALID": ("s3", "Create an ENCRYPT_DECRYPT key with the byok-keys stack", None, {}),
    "KEY_NOT_CUSTOMER_MANAGED": ("s3", "Use a customer managed key", None, {}),
    "KEY_WRONG_REGION": ("s3", "Create the key in eu-west-1", None, {}),
    "KEY_WRONG_ACCOUNT": ("s3", "Create the key in account 111122223333", None, {}),
}

STATUS_OF = {
    "KEY_MATERIAL_EXPIRING": "AT_RISK",
    "POLICY_TOO_BROAD": "AT_RISK",
}


def _change(reason: str) -> HealthChange:
    purpose, fix, error, extra = CASES[reason]
    key = S3_KEY if purpose == "s3" else AURORA_KEY
    problem = {
        "id": "check",
        "reason": reason,
        "purpose": purpose,
        "message": reason.lower(),
        "fix": fix,
        "error": error,
        "evidence": {"key_arn": key, **extra},
    }
    return HealthChange.from_detail(
        detail(STATUS_OF.get(reason, "KEY_UNUSABLE"), "HEALTHY", problem)
    )


def _notice(reason: str) -> NoticeKind:
    if reason == "KEY_PENDING_DELETION":
        return NoticeKind.PENDING_DELETION
    if reason == "CLUSTER_INACCESSIBLE_TERMINAL":
        return NoticeKind.CLUSTER_TERMINAL
    return NoticeKind.AT_RISK if reason in STATUS_OF else NoticeKind.KEY_UNUSABLE


def test_every_reason_with_a_cause_has_a_case() -> None:
    assert set(CAUSES) == set(CASES)


@pytest.mark.parametrize("reason", sorted(CASES))
def test_message_names_key_cause_and_fix(env, reason: str) -> None:
    change = _change(reason)
    note = render(_notice(reason), change, RemediationContext(environment=env, now=NOW))
    problem = change.problems[0]
    assert problem.evidence["key_arn"] in note.body or reason == "CLUSTER_INACCESSIBLE_TERMINAL"
    assert " ".join(CAUSES[reason].split()) in " ".join(note.body.split())  # prose is wrapped
    if reason != "CLUSTER_INACCESSIBLE_TERMINAL":
        for line in (problem.fix or "").splitlines():
            assert line in note.body
    assert "http" not in note.body.lower()
    assert note.attributes["environment_id"] == "acme-prod"
    assert note.attributes["severity"] in {"critical", "warning", "info"}
    assert len(note.subject) <= 100
    _snapshot(f"{reason}.txt", f"Subject: {note.subject}\n\n{note.body}")


def test_pending_deletion_names_date_and_days_left(env) -> None:
    note = render(
        NoticeKind.PENDING_DELETION,
        _change("KEY_PENDING_DELETION"),
        RemediationContext(environment=env, now=NOW),
    )
    assert "2026-12-02T12:00:00+00:00 (7d 0h 0m left)" in note.body
    assert "aws kms cancel-key-deletion" in note.body and "aws kms enable-key" in note.body


def test_resolved_message_has_duration(env) -> None:
    change = HealthChange.from_detail(detail("HEALTHY", "KEY_UNUSABLE"))
    note = render(
        NoticeKind.RESOLVED,
        change,
        RemediationContext(environment=env, now=NOW),
        {"duration": "1h 5m"},
    )
    assert "Duration:     1h 5m" in note.body
    assert note.attributes["severity"] == "info"
    _snapshot("RESOLVED.txt", f"Subject: {note.subject}\n\n{note.body}")


def _snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("BYOK_UPDATE_SNAPSHOTS") or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
        if not os.environ.get("BYOK_UPDATE_SNAPSHOTS"):
            pytest.fail(f"snapshot {name} was missing and has been written; read it and re-run")
    assert text == path.read_text(), f"message changed; see {path}"
