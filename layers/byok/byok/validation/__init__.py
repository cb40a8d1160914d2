"""Validation of one environment: registered checks over facts gathered by ``byok.aws``.

Public API: ``validate(env, facts, *, platform_role_arn, now) -> ValidationReport``, the fact
types, and the check registry (``REGISTRY``, ``register_check``, ``required_permissions``).
"""

from byok.validation.engine import validate
from byok.validation.facts import (
    ClusterFacts,
    FactError,
    Facts,
    KeyFacts,
    KeyMetadata,
    S3ProbeFacts,
)
from byok.validation.registry import (
    REGISTRY,
    Check,
    CheckContext,
    register_check,
    required_permissions,
)

__all__ = [
    "REGISTRY",
    "Check",
    "CheckContext",
    "ClusterFacts",
    "FactError",
    "Facts",
    "KeyFacts",
    "KeyMetadata",
    "S3ProbeFacts",
    "register_check",
    "required_permissions",
    "validate",
]
