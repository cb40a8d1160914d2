"""The result of ``check_policy``: one verdict, six checks, each with the statements involved and
the exact fix (statement to add, replace or remove) for every non-pass."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from byok.models import CheckStatus

_RANK = {CheckStatus.PASS: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}


def worst(statuses: list[CheckStatus]) -> CheckStatus:
    return max(statuses, key=_RANK.__getitem__, default=CheckStatus.PASS)


@dataclass(frozen=True, slots=True)
class ContractCheck:
    """One check of the contract.

    ``statements`` are the evaluator's labels of the statements involved (the ones that allow a
    forbidden request, deny a required one, or, on pass, grant the required access).
    ``fix`` is a list of operations, each ``{"op": "add"|"replace"|"remove", ...}`` carrying the
    exact statement JSON (see ``byok.contract.fixes``); empty on pass.
    ``evidence`` lists the contract requests that got the wrong answer.
    """

    id: str
    status: CheckStatus
    message: str
    statements: tuple[str, ...] = ()
    fix: tuple[dict[str, Any], ...] = ()
    evidence: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "message": self.message,
            "statements": list(self.statements),
            "fix": list(self.fix),
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class ContractReport:
    """Verdict = the worst check status (``fail`` > ``warn`` > ``pass``)."""

    purpose: str
    key_arn: str
    platform_role_arn: str
    checks: list[ContractCheck]
    #: the policy lets the platform role read key metadata directly (health-check statement)
    health_checks: bool = False
    #: how many contract requests the evaluator decided for this report
    requests_evaluated: int = 0
    verdict: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", worst([c.status for c in self.checks]).value)

    def check(self, check_id: str) -> ContractCheck:
        return next(c for c in self.checks if c.id == check_id)

    @property
    def fix(self) -> list[dict[str, Any]]:
        """All checks' fixes merged into one list of operations (see ``merge_fixes``)."""
        from byok.contract.fixes import merge_fixes

        return merge_fixes(op for c in self.checks for op in c.fix)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "purpose": self.purpose,
            "key_arn": self.key_arn,
            "platform_role_arn": self.platform_role_arn,
            "health_checks": self.health_checks,
            "requests_evaluated": self.requests_evaluated,
            "checks": [c.to_dict() for c in self.checks],
            "fix": self.fix,
        }

    def to_text(self) -> str:
        """For people: verdict, one aligned line per check, then details of every non-pass."""
        lines = [
            f"verdict: {self.verdict.upper()}",
            f"  purpose        {self.purpose}",
            f"  key            {self.key_arn}",
            f"  platform role  {self.platform_role_arn}",
            f"  health checks  {'metadata readable directly' if self.health_checks else 'no'}",
            "",
        ]
        width = max(len(c.id) for c in self.checks)
        for c in self.checks:
            lines.append(f"  {c.status.value.upper():<4}  {c.id:<{width}}  {c.message}")
        for c in self.checks:
            if c.status is CheckStatus.PASS:
                continue
            lines += ["", f"{c.id} ({c.status.value}):"]
            if c.statements:
                lines.append(f"  statements: {', '.join(c.statements)}")
            for ev in c.evidence[:3]:
                lines.append(f"  got {ev['decision']} for {ev['request']}")
            if len(c.evidence) > 3:
                lines.append(f"  ... and {len(c.evidence) - 3} more requests")
            lines.append("  fix: " + "; ".join(_describe_op(op) for op in c.fix))
        fix = self.fix
        if fix:
            lines += ["", "To fix everything, in the key policy's Statement list:"]
            for n, op in enumerate(fix, 1):
                note = f" ({op['note']})" if op.get("note") else ""
                lines.append(f"{n}. {_describe_op(op)}{note}")
                shown = op.get("with", op.get("statement"))
                lines += ["   " + ln for ln in json.dumps(shown, indent=2).splitlines()]
        return "\n".join(lines) + "\n"


def _describe_op(op: dict[str, Any]) -> str:
    where = f"Statement[{op['index']}]" if "index" in op else ""
    if op.get("sid"):
        where += f" (Sid {op['sid']})"
    if op["op"] == "add":
        return f"add statement {op['statement'].get('Sid', '')}".rstrip()
    if op["op"] == "remove":
        return f"remove {where}"
    return f"replace {where}"
