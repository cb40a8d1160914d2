"""Turn moto's own IAM authoriser on for a block: every request then needs an allowing policy.

In process (``mock_aws``) it sets moto's no-auth request budget to 0 for the block, as
``moto.core.set_initial_no_auth_action_count(0)`` does for a function; against a server
(``ThreadedMotoServer``, the functions of the local-invoke harness) it posts the budget to
``/moto-api/reset-auth``. moto then authenticates each request by its access key (an IAM user's,
or an assumed role's with its session token) and decides it by that principal's identity policies
(``byok_emulator.iam_resources`` tells it each request's resource). Setup calls made inside the
block need credentials of a principal with an allowing policy (the test worlds' ``admin`` roles).
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["enabled", "set_budget"]


def set_budget(endpoint_url: str, count: float) -> None:
    """``POST /moto-api/reset-auth``: the next ``count`` requests go unchecked (inf: all)."""
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/reset-auth",
        data=str(count).encode(),
        method="POST",
        # not a form: moto reads the raw body
        headers={"Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


@contextmanager
def enabled(endpoint_url: str | None = None) -> Iterator[None]:
    """moto's authoriser decides every request of the block (``endpoint_url``: a server's)."""
    if endpoint_url is None:
        from moto.core.authorization import enable_iam_authentication

        with enable_iam_authentication():
            yield
        return
    set_budget(endpoint_url, 0)
    try:
        yield
    finally:
        set_budget(endpoint_url, float("inf"))
