"""The benchmark corpus (bench/corpus) doubles as a test: byok's "open to outsiders" answer
matches the hand-written truth of every policy, and every report's fixes give a passing policy.

Open to outsiders = no-public-access or principal-scope fails (docs/policy.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from byok.contract import apply_fix, check_policy

CORPUS = sorted((Path(__file__).parents[3] / "bench" / "corpus").glob("*.json"))


def test_corpus_has_at_least_20_policies() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_open_to_outsiders_matches_the_truth(path: Path) -> None:
    case: dict[str, Any] = json.loads(path.read_text())
    args = (case["purpose"], case["key_arn"], case["platform_role_arn"])
    report = check_policy(case["policy"], *args)
    open_to_outsiders = any(
        c.status.value == "fail" and c.id in ("no-public-access", "principal-scope")
        for c in report.checks
    )
    assert open_to_outsiders is case["truth"]["open_to_outsiders"], report.to_text()
    fixed = apply_fix(case["policy"], [op for c in report.checks for op in c.fix])
    assert check_policy(fixed, *args).verdict == "pass"
