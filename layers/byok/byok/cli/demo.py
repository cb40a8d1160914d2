"""``byok demo``: a small policy walkthrough (render -> check -> explain) on the real code.

A placeholder until the end-to-end demo lands: everything it prints is computed, nothing is
canned. For each purpose it renders the contract statements, checks them (pass), removes the
``kms:ViaService`` condition and checks again (the verdict changes), and explains one request.
"""

from __future__ import annotations

import argparse
import copy

DEMO_KEYS = {
    "s3": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "aurora": "arn:aws:kms:eu-west-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab",
}
DEMO_ROLE = "arn:aws:iam::444455556666:role/byok-platform"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("demo", help="walk through render -> check -> explain")
    parser.set_defaults(func=run)


def _summary(report: object) -> str:
    checks = report.checks  # type: ignore[attr-defined]
    bad = [f"{c.id}={c.status.value}" for c in checks if c.status.value != "pass"]
    return f"verdict {report.verdict}" + (f" ({', '.join(bad)})" if bad else "")  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    from byok.contract import check_policy, render_policy
    from byok.policy import Request, evaluate, parse_policy

    print("byok-guard policy walkthrough (customer account 111122223333, platform 444455556666)")
    for purpose, key in DEMO_KEYS.items():
        service = "s3" if purpose == "s3" else "rds"
        print(f"\n== {purpose}: {key}")
        policy = render_policy(purpose, key, DEMO_ROLE, full=True)
        sids = ", ".join(s["Sid"] for s in policy["Statement"])
        print(f"1. render --full           -> {len(policy['Statement'])} statements: {sids}")
        report = check_policy(policy, purpose, key, DEMO_ROLE)
        print(f"2. check rendered policy   -> {_summary(report)}")
        loose = copy.deepcopy(policy)
        del loose["Statement"][1]["Condition"]["StringEquals"]["kms:ViaService"]
        report = check_policy(loose, purpose, key, DEMO_ROLE)
        print(f"3. drop kms:ViaService     -> {_summary(report)}")
        parsed = parse_policy(policy)
        for label, ctx in (
            (f"via {service}", {"kms:ViaService": f"{service}.eu-west-1.amazonaws.com"}),
            ("direct", {}),
        ):
            ev = evaluate(parsed, Request(DEMO_ROLE, "kms:Decrypt", context=ctx))
            by = ", ".join(m.label for m in ev.statements) or "no statement"
            print(f"4. explain Decrypt {label:<8}-> {ev.decision.value} ({by})")
    return 0
