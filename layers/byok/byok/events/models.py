"""Typed models of every event shape byok-guard accepts (pydantic v2, no AWS SDK).

Envelope and payload are separate, as in Powertools' parser: ``Envelope`` validates the
EventBridge wrapper, then the ``detail`` object is validated against the model registered for
its ``(source, detail-type)`` pair (see ``byok.events.normalise``). ``Envelope`` has the same
fields as Powertools' ``EventBridgeModel``; it is defined here because importing
``aws_lambda_powertools.utilities.parser.models`` loads every parser model (~36 ms measured on the
dev machine), which the key-events cold start does not need.

Models are lenient about fields they do not use (``extra="allow"``: AWS adds fields over time)
and strict about the ones they do (``StrictStr``: a number where a key id is expected is an error,
never silently coerced).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class Envelope(_Model):
    """The EventBridge wrapper common to every event (AWS services, custom sources, schedules)."""

    version: StrictStr | None = None
    id: StrictStr = Field(min_length=1)
    detail_type: StrictStr = Field(alias="detail-type")
    source: StrictStr
    account: StrictStr
    time: StrictStr
    region: StrictStr
    resources: list[StrictStr] = Field(default_factory=list)
    detail: dict[str, Any]


# --- CloudTrail-delivered KMS events ------------------------------------------------------------


class CloudTrailResource(_Model):
    """An entry of ``detail.resources``; older records omit ``type``."""

    arn: StrictStr = Field(alias="ARN")
    account_id: StrictStr | None = Field(default=None, alias="accountId")
    type: StrictStr | None = None


class CloudTrailDetail(_Model):
    """``detail`` of "AWS API Call via CloudTrail" and "AWS Service Event via CloudTrail"."""

    event_version: StrictStr | None = Field(default=None, alias="eventVersion")
    event_time: StrictStr = Field(alias="eventTime")
    event_source: StrictStr = Field(alias="eventSource")
    event_name: StrictStr = Field(alias="eventName", min_length=1)
    event_id: StrictStr = Field(alias="eventID", min_length=1)
    event_type: StrictStr | None = Field(default=None, alias="eventType")
    aws_region: StrictStr | None = Field(default=None, alias="awsRegion")
    recipient_account_id: StrictStr | None = Field(default=None, alias="recipientAccountId")
    user_identity: dict[str, Any] | None = Field(default=None, alias="userIdentity")
    request_parameters: dict[str, Any] | None = Field(default=None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(default=None, alias="responseElements")
    resources: list[CloudTrailResource] | None = None
    read_only: StrictBool | None = Field(default=None, alias="readOnly")
    error_code: StrictStr | None = Field(default=None, alias="errorCode")
    error_message: StrictStr | None = Field(default=None, alias="errorMessage")
    service_event_details: dict[str, Any] | None = Field(default=None, alias="serviceEventDetails")
    additional_event_data: dict[str, Any] | None = Field(default=None, alias="additionalEventData")


# --- native KMS events --------------------------------------------------------------------------


class KmsNativeDetail(_Model):
    """``detail`` of "KMS CMK Rotation" / "KMS CMK Deletion" / "KMS Imported Key Material
    Expiration": only the key id; the key ARN is in the envelope's ``resources``."""

    key_id: StrictStr = Field(alias="key-id")


# --- RDS ----------------------------------------------------------------------------------------


class RdsClusterDetail(_Model):
    """``detail`` of "RDS DB Cluster Event" (source ``aws.rds``)."""

    event_categories: list[StrictStr] = Field(default_factory=list, alias="EventCategories")
    source_type: StrictStr | None = Field(default=None, alias="SourceType")
    source_arn: StrictStr | None = Field(default=None, alias="SourceArn")
    source_identifier: StrictStr = Field(alias="SourceIdentifier", min_length=1)
    date: StrictStr | None = Field(default=None, alias="Date")
    message: StrictStr = Field(default="", alias="Message")
    event_id: StrictStr | None = Field(default=None, alias="EventID")


# --- byok-guard's own sources -------------------------------------------------------------------


class KeyAccessErrorDetail(_Model):
    """``detail`` of "BYOK Key Access Error" (source ``byok.platform``): a platform service saw
    a KMS error using a customer key and asks for an immediate re-check."""

    environment_id: StrictStr | None = None
    key_arn: StrictStr
    error_code: StrictStr = Field(min_length=1)
    error_message: StrictStr = ""
    service: StrictStr = Field(min_length=1)
    observed_at: StrictStr


class KeyPolicyReportDetail(_Model):
    """``detail`` of "BYOK Key Policy Report" (source ``byok.customer``): the customer stack's
    opt-in policy reporter read one of its own keys' policy (GetKeyPolicy works in the key's
    own account) and forwards it, so a lost ``PutKeyPolicy`` event is caught up on."""

    key_arn: StrictStr
    policy: StrictStr = Field(min_length=2, max_length=32768)  # KMS's key policy size limit
    read_at: StrictStr
    environment_id: StrictStr | None = None


class ManualDetail(_Model):
    """``detail`` of "BYOK Manual Validation" (source ``byok.manual``): an operator asks for a
    re-check of a key, an environment, or both (``byok events parse`` / tests / the demo)."""

    key_arn: StrictStr | None = None
    environment_id: StrictStr | None = None
    reason: StrictStr = "manual"


class ScheduledDetail(_Model):
    """``detail`` of the sweep schedule ("Scheduled Event", source ``aws.events``): ``{}``."""
