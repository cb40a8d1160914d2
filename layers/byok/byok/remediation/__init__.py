"""Remediation: what to do when an environment's health changes, and what to tell the customer.

``plan`` (pure) turns a health change plus the facts around it into idempotent actions;
``messages`` (pure) renders customer notifications; ``executor`` carries actions out with injected
AWS clients and the store, each action guarded by a once-only marker so repeats are harmless.
"""

from byok.remediation.model import Action, ActionKind, HealthChange, NoticeKind, RemediationContext
from byok.remediation.plan import plan, plan_reminders

__all__ = [
    "Action",
    "ActionKind",
    "HealthChange",
    "NoticeKind",
    "RemediationContext",
    "plan",
    "plan_reminders",
]
