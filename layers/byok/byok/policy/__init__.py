"""``byok.policy``: a pure-Python KMS key-policy model, parser and evaluator with IAM semantics.

``parse_policy`` turns JSON into a compiled :class:`Policy` (or raises ``PolicyError`` naming the
place); ``evaluate`` decides a :class:`Request` by that policy alone and names the statements
that decided. No boto3 here: the policy text is fetched elsewhere.
"""

from byok.policy.evaluator import evaluate
from byok.policy.model import (
    Decision,
    Effect,
    Evaluation,
    Policy,
    Request,
    Statement,
    StatementMatch,
)
from byok.policy.parser import MAX_POLICY_BYTES, parse_policy

__all__ = [
    "MAX_POLICY_BYTES",
    "Decision",
    "Effect",
    "Evaluation",
    "Policy",
    "Request",
    "Statement",
    "StatementMatch",
    "evaluate",
    "parse_policy",
]
