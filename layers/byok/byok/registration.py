"""Rules a registration must pass before anything is written (pure: no AWS, no store).

Why here and not in ``Environment.create``: an environment is valid on its own, but whether it
may be registered also depends on the platform it is registered with. BYOK means the customer
owns the keys and the platform uses them from *another* account: a platform role in the
customer's own account would make every check pass for the wrong reason (the account root's
statement lets the customer's own roles in), and without a platform role no check can run at
all. Both are refused, as is a role from another partition than the environment's region. The
registry itself (``byok.store``) then claims keys, cluster and bucket in one transaction.
"""

from __future__ import annotations

from byok.errors import InputError, quote
from byok.identifiers import RoleArn, partition_for
from byok.models import Environment

__all__ = ["check_platform_role"]


def check_platform_role(env: Environment, platform_role_arn: str | None) -> RoleArn:
    """The platform role the environment is registered with, or ``InputError`` naming
    ``platform_role_arn``: missing, malformed, in the customer's account, wrong partition."""
    if not platform_role_arn:
        raise InputError(
            "platform_role_arn: required (--platform-role-arn or PLATFORM_ROLE_ARN): the role "
            "the platform uses the keys with, in the platform account"
        )
    role = RoleArn.parse(platform_role_arn, "platform_role_arn")
    if role.account == env.customer_account:
        raise InputError(
            f"platform_role_arn: must be in the platform account, not in the customer account "
            f"{quote(env.customer_account)} that owns the keys, got {quote(platform_role_arn)}"
        )
    wanted = partition_for(env.region)
    if role.partition != wanted:
        raise InputError(
            f"platform_role_arn: partition {quote(role.partition)} differs from the "
            f"environment's ({quote(wanted)} for region {quote(env.region)})"
        )
    return role
