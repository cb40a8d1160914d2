"""Who is calling? Turn the access key id of a moto request into an IAM principal.

AWS decides a key policy on the *principal* of the request; moto only knows the access key id
(from the SigV4 ``Authorization`` header) and the account it belongs to. We recover the
principal the same way moto's own STS ``GetCallerIdentity`` does:

1. Credentials from ``sts:AssumeRole`` are IAM access keys created in the role's account with
   ``role_arn`` set (moto ``STSBackend.assume_role``); the STS backend of that account lists the
   ``AssumedRole`` with its session name. Principal = the **role ARN** (what a key policy names),
   ``session_arn`` = ``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`` (what AWS error messages
   show).
2. Keys of an IAM user (``iam.create_access_key``): principal = the user's ARN.
3. Anything else (the fake ``testing`` credentials of the test suite): the account's root,
   ``arn:aws:iam::ACCOUNT:root``, which a default key policy of that account allows.
"""

from __future__ import annotations

from dataclasses import dataclass

from moto.utilities.utils import get_partition


@dataclass(frozen=True)
class Caller:
    """The principal of one request as a key policy sees it."""

    account: str
    #: role ARN, user ARN or ``arn:<partition>:iam::<account>:root``
    principal_arn: str
    #: what AWS names in an AccessDenied message (assumed-role session ARN for roles)
    session_arn: str


def resolve_caller(access_key_id: str, account: str, region: str) -> Caller:
    """Map a request's access key id (in ``account``) to its principal."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    partition = get_partition(region)
    root = f"arn:{partition}:iam::{account}:root"
    iam = iam_backends[account][partition]
    key = iam.access_keys.get(access_key_id)
    if key is None:
        return Caller(account=account, principal_arn=root, session_arn=root)
    if key.role_arn:
        assumed = sts_backends[account][partition].get_assumed_role_from_access_key(access_key_id)
        session_arn = assumed.arn if assumed is not None else key.role_arn
        return Caller(account=account, principal_arn=key.role_arn, session_arn=session_arn)
    if key.user_name:
        user = iam.users.get(key.user_name)
        arn = (
            user.arn if user is not None else f"arn:{partition}:iam::{account}:user/{key.user_name}"
        )
        return Caller(account=account, principal_arn=arn, session_arn=arn)
    return Caller(account=account, principal_arn=root, session_arn=root)
