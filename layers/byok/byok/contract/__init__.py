"""The BYOK contract (docs/architecture.md section 1) as data: render the key policy statements a
customer
pastes, and check any key policy against the contract with the policy evaluator.

    render_statements(purpose, key_arn, platform_role_arn, *, health_checks=True) -> list[dict]
    render_policy(purpose, key_arn, platform_role_arn, *, health_checks=True, full=False,
                  administrators=()) -> dict
    check_policy(policy, purpose, key_arn, platform_role_arn) -> ContractReport
    apply_fix(document, ops) -> dict        # apply the fix operations of a report's checks

``check_policy`` is imported lazily so rendering never loads the evaluator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from byok.contract.render import render_policy, render_statements
from byok.contract.spec import (
    SID_ADMINS,
    SID_AURORA,
    SID_AURORA_GRANTS,
    SID_HEALTH,
    SID_ROOT,
    SID_S3,
    CheckId,
    Expectation,
    Parties,
    Severity,
    expectations,
    parties,
)

if TYPE_CHECKING:
    from byok.contract.check import check_policy
    from byok.contract.fixes import apply_fix
    from byok.contract.report import ContractCheck, ContractReport

__all__ = [
    "SID_ADMINS",
    "SID_AURORA",
    "SID_AURORA_GRANTS",
    "SID_HEALTH",
    "SID_ROOT",
    "SID_S3",
    "CheckId",
    "ContractCheck",
    "ContractReport",
    "Expectation",
    "Parties",
    "Severity",
    "apply_fix",
    "check_policy",
    "expectations",
    "parties",
    "render_policy",
    "render_statements",
]

_LAZY = {
    "check_policy": "byok.contract.check",
    "apply_fix": "byok.contract.fixes",
    "ContractCheck": "byok.contract.report",
    "ContractReport": "byok.contract.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'byok.contract' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
