"""Issue 5: a recoverable Aurora cluster is restarted once the key is healthy again."""

from __future__ import annotations

from byok.models import ClusterStatus, HealthStatus
from byok.remediation.executor import scheduled


def _status(rig) -> HealthStatus:
    return rig.world.store.get_flag(rig.world.env.environment_id).status


def test_recoverable_cluster_started_exactly_once(rig) -> None:
    world = rig.world
    rig.lose_and_restore_aurora_key()
    assert _status(rig) is HealthStatus.HEALTHY
    results = rig.deliver(times=3)  # the healthy event arrives three times
    starts = [r for r in results if r.action == "start_cluster"]
    # the first delivery starts it; later ones see it starting (or find the step already done)
    assert [r.result for r in starts if r.result == "done"] == ["done"]
    assert len([r for r in rig.audit() if r["action"] == "start_cluster"]) == 1
    cluster = world.platform.client("rds").describe_db_clusters(DBClusterIdentifier="acme-db")
    assert cluster["DBClusters"][0]["Status"] != ClusterStatus.RECOVERABLE

    # the sweep follows the start until the cluster is available, once
    world.set_cluster_status("available")
    first = scheduled(rig.deps)
    again = scheduled(rig.deps)
    assert [r.result for r in first if r.action == "follow_cluster"] == ["done"]
    assert [r for r in again if r.result == "done"] == []
