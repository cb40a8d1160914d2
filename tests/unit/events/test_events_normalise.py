"""normalise / is_ignorable on every event shape, and the error for each kind of bad input."""

from __future__ import annotations

import json

import pytest
from event_samples import AURORA_KEY, S3_KEY

from byok.errors import EventError
from byok.events import KEY_HEALTH_API_CALLS, is_ignorable, normalise
from byok.models import TriggerKind
from byok.times import wire_z

EXPECTED = {
    "disable_key": (TriggerKind.API_CALL, S3_KEY, "DisableKey"),
    "enable_key": (TriggerKind.API_CALL, S3_KEY, "EnableKey"),
    "schedule_key_deletion": (TriggerKind.API_CALL, S3_KEY, "ScheduleKeyDeletion"),
    "cancel_key_deletion": (TriggerKind.API_CALL, S3_KEY, "CancelKeyDeletion"),
    "put_key_policy": (TriggerKind.API_CALL, S3_KEY, "PutKeyPolicy"),
    "put_key_policy_alias_keyid": (TriggerKind.API_CALL, AURORA_KEY, "PutKeyPolicy"),
    "create_grant": (TriggerKind.API_CALL, AURORA_KEY, "CreateGrant"),
    "import_key_material": (TriggerKind.API_CALL, S3_KEY, "ImportKeyMaterial"),
    "rotate_key_service_event": (TriggerKind.SERVICE_EVENT, S3_KEY, "RotateKey"),
    "delete_key_service_event": (TriggerKind.SERVICE_EVENT, S3_KEY, "DeleteKey"),
    "kms_cmk_deletion": (TriggerKind.KMS_NATIVE, S3_KEY, "KMS CMK Deletion"),
    "kms_cmk_rotation": (TriggerKind.KMS_NATIVE, S3_KEY, "KMS CMK Rotation"),
    "kms_imported_key_material_expiration": (
        TriggerKind.KMS_NATIVE,
        S3_KEY,
        "KMS Imported Key Material Expiration",
    ),
    "key_access_error": (TriggerKind.KEY_ACCESS_ERROR, S3_KEY, "BYOK Key Access Error"),
    "failed_disable_key": (TriggerKind.API_CALL, S3_KEY, "DisableKey"),
    "rds_cluster_event": (TriggerKind.RDS_CLUSTER, None, "RDS DB Cluster Event"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_gives_kind_key_and_name(sample, name):
    kind, key, event_name = EXPECTED[name]
    trigger = normalise(sample(name))
    assert (trigger.kind, trigger.key_arn, trigger.event_name) == (kind, key, event_name)
    if key is not None:
        assert trigger.account == "111122223333"  # the key owner
        assert trigger.region == "eu-west-1"


def test_cloudtrail_event_id_and_time_come_from_detail(sample):
    event = sample("disable_key")
    trigger = normalise(event)
    assert trigger.event_id == event["detail"]["eventID"] != event["id"]
    assert wire_z(trigger.event_time) == "2026-11-24T09:15:02Z"


def test_alias_keyid_uses_resources_never_the_alias(sample):
    event = sample("put_key_policy_alias_keyid")
    assert event["detail"]["requestParameters"]["keyId"] == "alias/byok-acme-prod-aurora"
    trigger = normalise(event)
    assert trigger.key_arn == AURORA_KEY
    policy = json.loads(trigger.evidence["policy"])
    assert all(s.get("Sid") != "AllowPlatformUse" for s in policy["Statement"])
    assert trigger.evidence["bypassPolicyLockoutSafetyCheck"] is False


def test_alias_keyid_without_resources_is_refused_with_reason(sample):
    event = sample("put_key_policy_alias_keyid")
    event["detail"]["resources"] = []
    with pytest.raises(EventError, match=r"cannot identify the KMS key.*alias.*not trusted"):
        normalise(event)


def test_alias_arn_in_request_is_not_trusted(sample):
    event = sample("disable_key")
    event["detail"]["resources"] = []
    event["detail"]["responseElements"] = None
    event["detail"]["requestParameters"]["keyId"] = (
        "arn:aws:kms:eu-west-1:111122223333:alias/byok-acme-prod-s3"
    )
    with pytest.raises(EventError, match="alias"):
        normalise(event)


def test_response_key_arn_used_when_resources_missing(sample):
    event = sample("disable_key")
    del event["detail"]["resources"]
    assert normalise(event).key_arn == S3_KEY


def test_bare_key_id_built_into_arn_of_recipient_account_and_region(sample):
    event = sample("disable_key")
    del event["detail"]["resources"]
    event["detail"]["responseElements"] = None
    event["detail"]["requestParameters"]["keyId"] = "1111aaaa-1111-4111-8111-111111111111"
    assert normalise(event).key_arn == S3_KEY


def test_resource_without_type_is_accepted_when_it_is_a_key_arn(sample):
    """KMS examples recorded before ``type`` existed list only ``ARN`` and ``accountId``."""
    event = sample("disable_key")
    event["detail"]["responseElements"] = None
    event["detail"]["resources"] = [{"ARN": AURORA_KEY, "accountId": "111122223333"}]
    assert normalise(event).key_arn == AURORA_KEY


def test_several_keys_in_resources_is_an_error(sample):
    event = sample("disable_key")
    event["detail"]["resources"].append({"type": "AWS::KMS::Key", "ARN": AURORA_KEY})
    with pytest.raises(EventError, match=r"^detail.resources: expected one KMS key"):
        normalise(event)


def test_bad_key_resource_names_the_field(sample):
    event = sample("disable_key")
    event["detail"]["resources"][0]["ARN"] = "arn:aws:kms:eu-west-1:111122223333:alias/x"
    with pytest.raises(EventError, match=r"^detail.resources\[0\].ARN: expected a key ARN"):
        normalise(event)


def test_region_of_key_wins_and_event_region_is_kept(sample):
    event = sample("disable_key")
    event["detail"]["awsRegion"] = "us-east-1"
    trigger = normalise(event)
    assert trigger.region == "eu-west-1"
    assert trigger.evidence["awsRegion"] == "us-east-1"


def test_cross_account_caller_does_not_change_the_key_owner(sample):
    event = sample("create_grant")
    event["detail"]["userIdentity"]["accountId"] = "444455556666"
    event["detail"]["recipientAccountId"] = "444455556666"
    assert normalise(event).account == "111122223333"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "schedule_key_deletion",
            {
                "pendingWindowInDays": 7,
                "deletionDate": "Dec 1, 2026, 10:03:45 AM",
                "deletionDateUtc": "2026-12-01T10:03:45Z",
                "keyState": "PendingDeletion",
            },
        ),
        (
            "import_key_material",
            {
                "validTo": "Dec 15, 2026, 12:00:00 AM",
                "validToUtc": "2026-12-15T00:00:00Z",
                "expirationModel": "KEY_MATERIAL_EXPIRES",
            },
        ),
        (
            "create_grant",
            {
                "granteePrincipal": "arn:aws:iam::111122223333:role/ReportingJob",
                "operations": ["Decrypt", "GenerateDataKey"],
            },
        ),
        ("put_key_policy", {"bypassPolicyLockoutSafetyCheck": False, "policyName": "default"}),
        ("rotate_key_service_event", {"serviceEventDetails": {"rotationType": "AUTOMATIC"}}),
    ],
)
def test_evidence_per_operation(sample, name, expected):
    evidence = normalise(sample(name)).evidence
    for field, value in expected.items():
        if isinstance(value, dict):
            assert value.items() <= evidence[field].items()
        else:
            assert evidence[field] == value
    assert evidence["actor"]
    assert "failed" not in evidence


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("Apr 12, 2021 18:58:30 PM", "2021-04-12T18:58:30Z"),  # as in the KMS guide's example
        ("May 21, 2025, 5:47:45 AM", "2025-05-21T05:47:45Z"),
        ("May 21, 2025, 12:30:00 PM", "2025-05-21T12:30:00Z"),
        ("2026-12-01T10:00:00+01:00", "2026-12-01T09:00:00Z"),
        ("next week", None),
        (1733047425, None),
    ],
)
def test_cloudtrail_display_dates_are_converted_when_recognisable(sample, text, utc):
    event = sample("schedule_key_deletion")
    event["detail"]["responseElements"]["deletionDate"] = text
    evidence = normalise(event).evidence
    assert evidence["deletionDate"] == text
    assert evidence.get("deletionDateUtc") == utc


def test_policy_evidence_must_be_a_string(sample):
    event = sample("put_key_policy")
    event["detail"]["requestParameters"]["policy"] = {"Statement": []}
    with pytest.raises(EventError, match=r"^detail.requestParameters.policy: expected the key"):
        normalise(event)


# --- ignorable events ---------------------------------------------------------------------------


def test_failed_call_is_flagged_and_ignorable(sample):
    event = sample("failed_disable_key")
    trigger = normalise(event)
    assert trigger.evidence["failed"] is True
    assert trigger.evidence["errorCode"] == "AccessDenied"
    assert "not authorized" in trigger.evidence["errorMessage"]
    assert is_ignorable(event) == "failed API call (AccessDenied)"


def test_failed_call_naming_only_an_alias_is_ignorable_not_malformed(sample):
    event = sample("failed_disable_key")
    event["detail"]["resources"] = []
    event["detail"]["requestParameters"]["keyId"] = "alias/whatever"
    assert is_ignorable(event) == "failed API call (AccessDenied)"
    with pytest.raises(EventError):
        normalise(event)


@pytest.mark.parametrize("name", ["Encrypt", "Decrypt", "TagResource", "DescribeKey", "ReEncrypt"])
def test_calls_that_do_not_affect_key_health_are_ignorable(sample, name):
    event = sample("disable_key")
    event["detail"]["eventName"] = name
    assert is_ignorable(event) == f"KMS API call {name} does not affect key health"


@pytest.mark.parametrize("name", sorted(KEY_HEALTH_API_CALLS))
def test_key_health_calls_are_not_ignorable(sample, name):
    event = sample("disable_key")
    event["detail"]["eventName"] = name
    assert is_ignorable(event) is None


def test_unknown_service_event_is_ignorable(sample):
    event = sample("rotate_key_service_event")
    event["detail"]["eventName"] = "SynchronizeMultiRegionKey"
    assert "does not affect key health" in is_ignorable(event)


@pytest.mark.parametrize(
    "name",
    ["kms_cmk_deletion", "rds_cluster_event", "key_access_error", "sweep/scheduled_event"],
)
def test_other_shapes_are_never_ignorable(sample, name):
    assert is_ignorable(sample(name)) is None


# --- native KMS, RDS, platform errors, schedule, manual -------------------------------------------


def test_native_event_without_resources_builds_arn_from_envelope(sample):
    event = sample("kms_cmk_deletion")
    event["resources"] = []
    trigger = normalise(event)
    assert trigger.key_arn == S3_KEY
    assert trigger.event_id == event["id"]


def test_native_event_key_id_must_match_resource(sample):
    event = sample("kms_cmk_rotation")
    event["detail"]["key-id"] = "2222bbbb-2222-4222-8222-222222222222"
    with pytest.raises(
        EventError, match=r"^resources\[0\]: key ARN .* does not match detail.key-id"
    ):
        normalise(event)


def test_native_event_needs_key_id(sample):
    event = sample("kms_cmk_rotation")
    event["detail"] = {}
    with pytest.raises(EventError, match=r"^detail.key-id: required$"):
        normalise(event)


def test_rds_cluster_event_names_cluster_not_key(sample):
    trigger = normalise(sample("rds_cluster_event"))
    assert trigger.cluster_id == "byok-demo-aurora"
    assert trigger.key_arn is None
    assert (trigger.account, trigger.region) == ("444455556666", "eu-west-1")  # platform
    assert trigger.evidence["event_categories"] == ["notification"]
    assert trigger.evidence["source_arn"].endswith(":cluster:byok-demo-aurora")
    assert trigger.evidence["mentions_encryption"] is True
    assert trigger.to_dict()["cluster_id"] == "byok-demo-aurora"


def test_rds_source_identifier_prefix_is_stripped(sample):
    event = sample("rds_cluster_event")
    event["detail"]["SourceIdentifier"] = "rds:byok-demo-aurora"
    assert normalise(event).cluster_id == "byok-demo-aurora"


def test_rds_bad_cluster_id(sample):
    event = sample("rds_cluster_event")
    event["detail"]["SourceIdentifier"] = "1bad--id"
    with pytest.raises(EventError, match=r"^detail.SourceIdentifier: expected an Aurora cluster"):
        normalise(event)


def test_key_access_error(sample):
    trigger = normalise(sample("key_access_error"))
    assert trigger.evidence == {
        "error_code": "KMS.DisabledException",
        "error_message": f"{S3_KEY} is disabled.",
        "service": "s3",
        "reported_by": "444455556666",
        "environment_id": "acme-prod",
    }
    assert wire_z(trigger.event_time) == "2026-11-24T09:15:39.817Z"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("key_arn", "alias/byok", r"^detail.key_arn: expected a KMS key ARN"),
        ("environment_id", "Acme_Prod", r"^detail.environment_id: expected 1-63"),
        ("service", "S3!", r"^detail.service: expected a lower-case service name"),
        ("observed_at", "now", r"^detail.observed_at: expected an ISO 8601 timestamp"),
        ("error_code", None, r"^detail.error_code: expected a string, got null$"),
    ],
)
def test_key_access_error_fields_are_validated(sample, field, value, message):
    event = sample("key_access_error")
    event["detail"][field] = value
    with pytest.raises(EventError, match=message):
        normalise(event)


def test_schedule(sample):
    event = sample("sweep/scheduled_event")
    trigger = normalise(event)
    assert trigger.kind is TriggerKind.SCHEDULE
    assert trigger.key_arn is None
    assert trigger.account == "444455556666"
    assert trigger.evidence == {"rule": event["resources"][0]}


def test_manual_event(sample):
    event = sample("sweep/scheduled_event")
    event.update({"source": "byok.manual", "detail-type": "BYOK Manual Validation"})
    event["detail"] = {"key_arn": AURORA_KEY, "environment_id": "acme-prod", "reason": "demo"}
    trigger = normalise(event)
    assert (trigger.kind, trigger.key_arn, trigger.account) == (
        TriggerKind.MANUAL,
        AURORA_KEY,
        "111122223333",
    )
    assert trigger.evidence == {"reason": "demo", "environment_id": "acme-prod"}
    event["detail"] = {}
    with pytest.raises(EventError, match=r"^detail.key_arn: required"):
        normalise(event)


# --- malformed events ---------------------------------------------------------------------------


def _drop(event, *path):
    node = event
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return event


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: _drop(e, "detail", "eventTime"), r"^detail.eventTime: required$"),
        (lambda e: _drop(e, "detail", "eventID"), r"^detail.eventID: required$"),
        (lambda e: _drop(e, "detail"), r"^detail: required$"),
        (lambda e: _drop(e, "id"), r"^id: required$"),
        (lambda e: _drop(e, "detail-type"), r"^detail-type: required$"),
        (lambda e: e.update(detail=[]), r"^detail: expected an object, got \[\]$"),
        (
            lambda e: e["detail"].update(eventTime="yesterday"),
            r"^detail.eventTime: expected an ISO",
        ),
        (lambda e: e["detail"].update(eventName=5), r"^detail.eventName: expected a string, got 5"),
        (lambda e: e["detail"].update(resources={}), r"^detail.resources: expected a list"),
        (lambda e: e["detail"]["resources"][0].pop("ARN"), r"^detail.resources\[0\].ARN: required"),
        (lambda e: e["detail"].update(eventSource="s3.amazonaws.com"), r"^detail.eventSource: "),
        (lambda e: e["detail"].update(awsRegion="europe"), r"^detail.awsRegion: expected an AWS"),
        (lambda e: e.update(account="1111"), r"^account: expected a 12-digit AWS account id"),
        (lambda e: e.update(region="EU"), r"^region: expected an AWS region"),
        (lambda e: e.update(time="2026-13-01T00:00:00Z"), r"^time: expected an ISO 8601"),
        (
            lambda e: e.update({"detail-type": "EC2 Instance State-change Notification"}),
            r'^detail-type: unsupported event "EC2 Instance State-change Notification"',
        ),
        (lambda e: e.update(source="aws.s3"), r'^detail-type: unsupported event .* "aws.s3"'),
    ],
)
def test_malformed_event_names_the_field(sample, mutate, message):
    event = sample("disable_key")
    mutate(event)
    with pytest.raises(EventError, match=message):
        normalise(event)
    with pytest.raises(EventError, match=message.split(":")[0]):
        is_ignorable(event)


@pytest.mark.parametrize("value", [None, [], "event", 3, b"{}"])
def test_non_mapping_event(value):
    with pytest.raises(EventError, match=r"^event: expected a JSON object"):
        normalise(value)


def test_event_time_is_canonical_utc(sample):
    event = sample("disable_key")
    event["detail"]["eventTime"] = "2026-11-24T11:15:02.250+02:00"
    assert wire_z(normalise(event).event_time) == "2026-11-24T09:15:02.250Z"


def test_events_package_does_not_import_boto3():
    import subprocess
    import sys

    code = "import sys, byok.events, byok.cli.events; sys.exit('boto3' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_operation_with_evidence_is_a_key_health_call():
    from byok.events.cloudtrail import _CLOUDTRAIL_EVIDENCE

    assert set(_CLOUDTRAIL_EVIDENCE) <= KEY_HEALTH_API_CALLS
