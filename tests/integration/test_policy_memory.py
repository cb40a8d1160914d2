"""The remembered key policy (the only policy text the platform can see cross-account)."""

from __future__ import annotations

from byok.aws.policy_memory import PolicyMemory


def test_newer_policy_wins_and_older_is_refused(world) -> None:
    memory = PolicyMemory("byok-environments", world.store.client)
    key = world.env.s3_key_arn
    assert memory.remember(key, '{"v": 2}', "2026-11-25T10:00:02Z", "e2")
    assert not memory.remember(key, '{"v": 1}', "2026-11-25T10:00:01Z", "e1")  # late, older
    assert memory.recall(key)[0] == '{"v": 2}'


def test_two_edits_in_the_same_cloudtrail_second_keep_the_later_delivery(world) -> None:
    """CloudTrail eventTime has one-second resolution: a fix right after a bad edit must stick."""
    memory = PolicyMemory("byok-environments", world.store.client)
    key = world.env.aurora_key_arn
    assert memory.remember(key, '{"edit": "remove platform"}', "2026-11-25T10:00:00Z", "e1")
    assert memory.remember(key, '{"edit": "restore platform"}', "2026-11-25T10:00:00Z", "e2")
    assert memory.recall(key)[0] == '{"edit": "restore platform"}'
