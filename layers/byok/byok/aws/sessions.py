"""Sessions that share botocore's parsed service models.

Why: every new ``boto3.Session`` re-reads and re-parses botocore's JSON service models and
endpoint rules (about 0.1-0.2 s per client here). A validation assumes the platform role and so
needs a fresh session each time; sharing the parent's data loader and endpoint resolver keeps
that cost out of the event-to-flag path (and out of the tests). Credentials are never shared.
"""

from __future__ import annotations

import boto3
import botocore.session

__all__ = ["Session", "assumed_session", "default_session", "derived_session"]

#: the session type the rest of byok-guard is handed (so it never imports boto3 itself)
Session = boto3.session.Session


def default_session() -> Session:
    """A session from the environment (the Lambda role's credentials, ``AWS_REGION``)."""
    return boto3.session.Session()


def derived_session(
    parent: boto3.session.Session,
    *,
    access_key: str,
    secret_key: str,
    token: str | None,
    region: str | None,
) -> boto3.session.Session:
    """A session with its own credentials reusing ``parent``'s loaded models."""
    core = botocore.session.Session()
    source = parent._session  # the public API has no way to share the loader
    core.register_component("data_loader", source.get_component("data_loader"))
    core._register_internal_component(
        "endpoint_resolver", source._get_internal_component("endpoint_resolver")
    )
    core.set_credentials(access_key, secret_key, token)
    return boto3.session.Session(botocore_session=core, region_name=region or parent.region_name)


def assumed_session(
    parent: boto3.session.Session,
    sts: object,
    *,
    role_arn: str,
    session_name: str,
    region: str | None,
    duration_seconds: int | None = None,
) -> boto3.session.Session:
    """``sts.assume_role(role_arn)`` as a session derived from ``parent`` (models shared).

    ``sts`` is the caller's STS client (its endpoint, retries and timeouts are the caller's).
    Raises botocore errors as they come: callers classify them.
    """
    request: dict[str, object] = {"RoleArn": role_arn, "RoleSessionName": session_name}
    if duration_seconds is not None:
        request["DurationSeconds"] = duration_seconds
    creds = sts.assume_role(**request)["Credentials"]  # type: ignore[attr-defined]
    return derived_session(
        parent,
        access_key=creds["AccessKeyId"],
        secret_key=creds["SecretAccessKey"],
        token=creds["SessionToken"],
        region=region,
    )
