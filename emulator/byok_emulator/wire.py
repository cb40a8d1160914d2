"""Error bodies in AWS wire formats, shared by the fault injector and the S3 SSE-KMS path."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

REQUEST_ID = "byok-emulator"


def json_error(code: str, message: str) -> str:
    """awsJson / restJson error body (KMS, DynamoDB, SQS, EventBridge, ...)."""
    return json.dumps({"__type": code, "message": message})


def s3_error(code: str, message: str) -> str:
    """S3 (restXml) error body: ``<Error><Code>`` at the root."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{REQUEST_ID}</RequestId><HostId>{REQUEST_ID}</HostId></Error>"
    )


def query_error(code: str, message: str) -> str:
    """Query-protocol error body (STS, IAM, RDS, CloudFormation, ...)."""
    return (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"</Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>"
    )
