"""Invoke this function again, asynchronously (the sweep's continuation)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from typing import Any

from byok.errors import TransientError

__all__ = ["invoke_async", "lambda_client"]


@cache
def lambda_client() -> Any:
    """The function's own Lambda client (once per container)."""
    from byok.aws.errors import client_config
    from byok.aws.sessions import default_session

    return default_session().client("lambda", config=client_config())


def invoke_async(client: Any, function_arn: str, payload: Mapping[str, Any]) -> None:
    """``Invoke`` with ``InvocationType=Event``; any failure is transient (raised: the sweep
    invocation is retried by Lambda and nothing it enqueued is lost)."""
    try:
        client.invoke(
            FunctionName=function_arn,
            InvocationType="Event",
            Payload=json.dumps(dict(payload), sort_keys=True).encode(),
        )
    except Exception as exc:  # botocore errors of any kind: the continuation must not vanish
        raise TransientError(f"invoke {function_arn} (sweep continuation): {exc}") from exc
