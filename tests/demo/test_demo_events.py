"""The events the demo delivers are the shapes byok-guard parses, with the demo's real values.

Fast checks (no emulator) of what the full demo run relies on: each built event normalises to
the right key ARN and operation, carries its evidence (the whole policy, the deletion date in
CloudTrail's display form), and is matched by the template's rule for it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from moto.events.models import EventPattern

from byok.events import normalise
from byok_emulator import sam_template
from byok_emulator.demo.events import (
    cloudtrail_display_date,
    event_time,
    kms_api_call,
    rds_cluster_event,
)

KEY = "arn:aws:kms:eu-west-1:111122223333:key/0f0f0f0f-1111-4222-8333-444455556666"
KEY_ID = KEY.rsplit("/", 1)[1]


def _rule_pattern(function: str, rule: str) -> dict:
    template = sam_template.load()
    resolver = sam_template.Resolver(
        template,
        {
            "PlatformRoleArn": "arn:aws:iam::444455556666:role/byok-platform",
            "CustomerAccountIds": "111122223333",
        },
        lenient=True,
    )
    props = template["Resources"][function]["Properties"]["Events"][rule]["Properties"]
    return resolver.resolve(props["Pattern"])


def test_display_date_is_cloudtrails_form() -> None:
    assert cloudtrail_display_date(datetime(2026, 12, 1, 10, 3, 45, tzinfo=UTC)) == (
        "Dec 1, 2026, 10:03:45 AM"
    )
    assert cloudtrail_display_date(datetime(2026, 12, 1, 0, 5, 0, tzinfo=UTC)) == (
        "Dec 1, 2026, 12:05:00 AM"
    )
    assert cloudtrail_display_date(datetime(2026, 12, 1, 13, 0, 9, tzinfo=UTC)) == (
        "Dec 1, 2026, 1:00:09 PM"
    )


def test_schedule_key_deletion_event_carries_the_date() -> None:
    when = datetime(2026, 12, 2, 4, 30, 0, tzinfo=UTC)
    event = kms_api_call(
        "ScheduleKeyDeletion",
        key_arn=KEY,
        typed_key_id=KEY_ID,
        request={"pendingWindowInDays": 7},
        response={"keyState": "PendingDeletion", "deletionDate": cloudtrail_display_date(when)},
    )
    trigger = normalise(event)
    assert (trigger.key_arn, trigger.event_name) == (KEY, "ScheduleKeyDeletion")
    assert trigger.evidence["deletionDateUtc"].startswith("2026-12-02T04:30:00")
    pattern = _rule_pattern("KeyEventsFunction", "KmsApiCall")
    assert EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_put_key_policy_event_carries_the_whole_policy() -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    event = kms_api_call(
        "PutKeyPolicy",
        key_arn=KEY,
        typed_key_id=KEY_ID,
        request={
            "policyName": "default",
            "policy": policy,
            "bypassPolicyLockoutSafetyCheck": False,
        },
        response=None,
    )
    assert event["detail"]["responseElements"] is None
    trigger = normalise(event)
    assert trigger.key_arn == KEY  # from detail.resources, not the typed key id
    assert trigger.evidence["policy"] == policy


def test_rds_event_names_the_cluster() -> None:
    event = rds_cluster_event(
        account="444455556666", region="eu-west-1", cluster_id="acme-db", message="stopped"
    )
    trigger = normalise(event)
    assert trigger.cluster_id == "acme-db"
    pattern = _rule_pattern("KeyEventsFunction", "RdsClusterEvent")
    assert EventPattern.load(json.dumps(pattern)).matches_event(event)


def test_event_times_never_repeat() -> None:
    """CloudTrail times have whole seconds; the newest PutKeyPolicy wins by eventTime."""
    times = [event_time() for _ in range(3)]
    assert times == sorted(set(times))
