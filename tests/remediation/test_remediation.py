"""Issue 5 acceptance: every remediation transition on moto, idempotent and audited."""

from __future__ import annotations

from datetime import timedelta

from byok.models import ClusterStatus, HealthStatus
from byok.remediation.executor import incident_report, scheduled


def _status(rig) -> HealthStatus:
    return rig.world.store.get_flag(rig.world.env.environment_id).status


def test_disable_pauses_writes_notifies_once_and_enable_resumes(rig) -> None:
    world = rig.world
    rig.validate()
    assert rig.notifications() == []  # first HEALTHY flag: nothing to tell
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)

    for _ in range(20):  # twenty validations of the same broken key
        world.clock.advance(minutes=1)
        rig.validate()
    assert _status(rig) is HealthStatus.KEY_UNUSABLE
    notes = rig.notifications()
    assert len(notes) == 1, [n["Subject"] for n in notes]
    assert "KEY_DISABLED" in notes[0]["Message"]
    assert f"aws kms enable-key --key-id {world.env.s3_key_arn}" in notes[0]["Message"]
    attrs = notes[0]["MessageAttributes"]
    assert attrs["environment_id"]["Value"] == "acme"
    assert attrs["severity"]["Value"] == "critical"
    assert world.store.writes_paused("acme") is True

    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=5)
    rig.validate()
    assert _status(rig) is HealthStatus.HEALTHY
    assert world.store.writes_paused("acme") is False
    resolved = rig.notifications()
    assert len(resolved) == 1 and "Resolved" in resolved[0]["Subject"]
    assert "Duration:     0d" not in resolved[0]["Message"]
    actions = [(r["action"], r["result"]) for r in rig.audit()]
    assert actions == [
        ("pause_writes", "done"),
        ("notify", "done"),
        ("resume_writes", "done"),
        ("notify", "done"),
    ]
    for record in rig.audit():
        assert record["who"] == "byok-guard/remediate" and record["why"]


def test_terminal_cluster_is_never_started(rig) -> None:
    world = rig.world
    rig.validate()
    world.customer_kms.disable_key(KeyId=world.env.aurora_key_arn)
    world.set_cluster_status(ClusterStatus.TERMINAL)
    world.clock.advance(minutes=1)
    results = rig.validate()
    world.customer_kms.enable_key(KeyId=world.env.aurora_key_arn)
    world.clock.advance(minutes=1)
    results += rig.validate()
    assert "start_cluster" not in [r.action for r in results]
    bodies = [n["Message"] for n in rig.notifications()]
    assert any("restore" in b and "backup" in b for b in bodies)
    cluster = world.platform.client("rds").describe_db_clusters(DBClusterIdentifier="acme-db")
    assert cluster["DBClusters"][0]["Status"] == ClusterStatus.TERMINAL


def test_pending_deletion_urgent_notice_then_reminders_7_3_1(rig) -> None:
    world = rig.world
    rig.validate()
    answer = world.customer_kms.schedule_key_deletion(
        KeyId=world.env.aurora_key_arn, PendingWindowInDays=30
    )
    deletion = answer["DeletionDate"]
    world.clock.advance(minutes=1)
    rig.validate()
    urgent = rig.notifications()
    assert len(urgent) == 1 and "URGENT" in urgent[0]["Subject"]
    body = urgent[0]["Message"]
    assert "aws kms cancel-key-deletion" in body and "aws kms enable-key" in body
    assert deletion.date().isoformat() in body

    sent = []
    for days_left in (20, 8, 7, 6, 4, 3, 2.5, 1, 0.5):
        world.clock.now = deletion - timedelta(days=days_left)
        for _ in range(2):  # the sweep runs often; each reminder goes out once
            sent += [r for r in scheduled(rig.deps) if r.action == "notify"]
    assert [r.once_key.rsplit(":", 1)[1] for r in sent if r.result == "done"] == ["7", "3", "1"]
    reminders = rig.notifications()
    assert len(reminders) == 3 and all("REMINDER" in n["Subject"] for n in reminders)


def test_incident_report_has_open_and_closed_incidents(rig) -> None:
    world = rig.world
    rig.validate()
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    rig.validate()
    world.customer_kms.enable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=30)
    rig.validate()
    world.customer_kms.disable_key(KeyId=world.env.s3_key_arn)
    world.clock.advance(minutes=1)
    rig.validate()
    report = incident_report(world.store, "acme", now=world.clock.now + timedelta(minutes=10))
    assert [i["open"] for i in report] == [False, True]
    assert report[0]["duration"] == "30m 0s"
    assert report[1]["duration"] == "10m 0s"
    assert report[0]["reasons"] == ["KEY_DISABLED"]
    assert [a["action"] for a in report[0]["actions"]] == [
        "pause_writes",
        "notify",
        "resume_writes",
        "notify",
    ]
