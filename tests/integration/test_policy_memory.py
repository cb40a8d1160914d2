"""The remembered key policy (the only policy text the platform can see cross-account)."""

from __future__ import annotations


def test_newer_policy_wins_and_older_is_refused(world) -> None:
    store, key = world.store, world.env.s3_key_arn
    assert store.remember_policy(key, '{"v": 2}', "2026-11-25T10:00:02Z", "e2")
    assert not store.remember_policy(key, '{"v": 1}', "2026-11-25T10:00:01Z", "e1")  # late, older
    recalled = store.recall_policy(key)
    assert recalled.policy == '{"v": 2}'
    assert recalled.source == "PutKeyPolicy event e2 at 2026-11-25T10:00:02Z"


def test_two_edits_in_the_same_cloudtrail_second_keep_the_later_delivery(world) -> None:
    """CloudTrail eventTime has one-second resolution: a fix right after a bad edit must stick."""
    store, key = world.store, world.env.aurora_key_arn
    assert store.remember_policy(key, '{"edit": "remove platform"}', "2026-11-25T10:00:00Z", "e1")
    assert store.remember_policy(key, '{"edit": "restore platform"}', "2026-11-25T10:00:00Z", "e2")
    assert store.recall_policy(key).policy == '{"edit": "restore platform"}'
