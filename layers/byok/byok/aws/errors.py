"""Classify every boto3/botocore failure as transient or definitive, in ONE place.

Why: a transient error (throttling, 5xx, timeout, connection trouble) is evidence of nothing and
must never flip a health flag; a definitive one (``DisabledException``, ``NotFoundException``,
``AccessDenied``...) is evidence about the key. Every adapter funnels its exceptions through
``classify`` so the distinction is made the same way for KMS, S3, RDS and STS. Also home of the
bounded botocore ``Config`` so no Lambda hangs on a slow endpoint.
"""

from __future__ import annotations

import os
from typing import Final

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from byok.errors import ByokError, TransientError
from byok.validation.facts import FactError

__all__ = [
    "AWS_ERRORS",
    "CLIENT_CONFIG",
    "TRANSIENT_CODES",
    "as_byok_error",
    "classify",
    "client_config",
]

#: what a boto3 call raises, for callers outside ``byok/aws`` that must not import botocore
AWS_ERRORS: Final = (BotoCoreError, ClientError)

#: AWS error codes that mean "try again later" (KMS, S3, RDS, STS, DynamoDB spellings); the
#: ONLY such list (``byok.store.dynamodb`` translates DynamoDB errors with ``classify`` too)
TRANSIENT_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "KMSInternalException",
        "DependencyTimeoutException",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "IDPCommunicationError",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)

_CONNECTION_ERRORS: Final = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
)

#: retries are bounded whatever AWS_MAX_ATTEMPTS says: a validation must finish well inside the
#: Lambda timeout, and the sweep retries the environment anyway
MAX_ATTEMPTS_CAP: Final = 5


def client_config() -> Config:
    """Bounded retries (standard mode, ``AWS_MAX_ATTEMPTS`` honoured up to 5) and timeouts."""
    try:
        attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or 3)
    except ValueError:
        attempts = 3
    return Config(
        retries={"max_attempts": max(1, min(attempts, MAX_ATTEMPTS_CAP)), "mode": "standard"},
        connect_timeout=3,
        read_timeout=5,
        user_agent_extra="byok-guard",
    )


#: the same, fixed at import (for callers that create clients once)
CLIENT_CONFIG: Final = client_config()


def classify(exc: BaseException, operation: str | None = None) -> FactError:
    """Turn an exception from a boto3 call into a ``FactError`` (never raises)."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code") or "Unknown").removeprefix("KMS.")
        message = str(err.get("Message") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        transient = code in TRANSIENT_CODES or status >= 500 or status == 429
        return FactError(code, message, transient, operation or exc.operation_name)
    if isinstance(exc, _CONNECTION_ERRORS):
        return FactError(type(exc).__name__, str(exc), True, operation)
    if isinstance(exc, BotoCoreError):
        # credential / parameter problems inside botocore: not evidence about the key, and not
        # worth retrying blindly either; callers record them as definitive platform errors
        return FactError(type(exc).__name__, str(exc), False, operation)
    return FactError(type(exc).__name__, str(exc), False, operation)


def as_byok_error(exc: BaseException, what: str) -> ByokError:
    """Any failure of a boto3 call outside the store -> a ``ByokError`` (``TransientError``,
    retryable, when ``classify`` says a retry may help), so no botocore exception escapes."""
    if isinstance(exc, ByokError):
        return exc
    fact = classify(exc)
    if fact.transient:
        return TransientError(f"{what}: {fact.context}")
    return ByokError(f"{what}: {fact.context}", code=fact.code or "AWS_ERROR")
