"""Policy benchmark: byok's explain / check against Cloud Custodian and policyuniverse.

    .venv/bin/python bench/policy_bench.py --peers .venv-tools/peers/bin/python

For each policy of ``bench/corpus`` (hand-written, each with the true answer), it measures the
median time of one ``explain`` decision and one full contract ``check`` in this interpreter, and
the same policies through Cloud Custodian's ``c7n.resources.kms.KMSPolicyChecker`` (the checker
behind the ``kms-key`` ``cross-account`` filter) and policyuniverse's
``Policy(...).is_internet_accessible()``. The peers live in their own environment (they pin other
boto3 versions), so they run in that interpreter, in a subprocess that times itself.

Answers compared per policy: byok's "open to outsiders" (no-public-access or principal-scope
fails) and c7n's "cross-account" (violations with the customer and platform accounts allowed)
against ``truth.open_to_outsiders``; policyuniverse answers a narrower question ("anyone at
all?"), compared against ``truth.open_to_anyone``. Output: markdown on stdout
(docs/benchmarks.md holds one run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "layers" / "byok"))

from byok.contract import check_policy  # noqa: E402
from byok.policy import Request, evaluate, parse_policy  # noqa: E402

TARGET_MS = 1.0

# Runs inside the peers' interpreter: reads {"runs", "cases"} on stdin, prints JSON results.
PEER_SCRIPT = r"""
import json, logging, sys, time, statistics
logging.disable(logging.CRITICAL)
from c7n.resources.kms import KMSPolicyChecker
from policyuniverse.policy import Policy
job = json.load(sys.stdin)
runs = job["runs"]
out = []
def median_us(fn):
    samples = []
    for _ in range(runs):
        t = time.perf_counter_ns(); fn(); samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000
for case in job["cases"]:
    policy, accounts = case["policy"], case["accounts"]
    checker = KMSPolicyChecker({"allowed_accounts": accounts})
    c7n_answer = bool(checker.check(policy))
    pu_answer = bool(Policy(policy).is_internet_accessible())
    out.append({
        "c7n": c7n_answer,
        "c7n_us": median_us(lambda: KMSPolicyChecker({"allowed_accounts": accounts}).check(policy)),
        "pu": pu_answer,
        "pu_us": median_us(lambda: Policy(policy).is_internet_accessible()),
    })
import c7n.version, importlib.metadata as md
print(json.dumps({"results": out, "versions": {
    "c7n": md.version("c7n"), "policyuniverse": md.version("policyuniverse")}}))
"""


def median_us(fn: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000


def load_corpus(folder: Path) -> list[dict[str, Any]]:
    cases = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
    if not cases:
        raise SystemExit(f"policy_bench: no *.json policies in {folder}")
    return cases


def accounts_of(case: dict[str, Any]) -> list[str]:
    return [case["key_arn"].split(":")[4], case["platform_role_arn"].split(":")[4]]


def run_byok(case: dict[str, Any], runs: int) -> dict[str, Any]:
    args = (case["purpose"], case["key_arn"], case["platform_role_arn"])
    policy_doc = case["policy"]
    parsed = parse_policy(policy_doc)
    report = check_policy(parsed, *args)  # warm the per-(purpose, key, role) caches
    service = "s3" if case["purpose"] == "s3" else "rds"
    region = case["key_arn"].split(":")[3]
    request = Request(
        case["platform_role_arn"],
        "kms:Decrypt",
        context={"kms:ViaService": f"{service}.{region}.amazonaws.com"},
    )
    open_ = any(
        c.status.value == "fail" and c.id in ("no-public-access", "principal-scope")
        for c in report.checks
    )
    return {
        "verdict": report.verdict,
        "requests": report.requests_evaluated,
        "open": open_,
        "explain_us": median_us(lambda: evaluate(parsed, request), runs),
        "check_us": median_us(lambda: check_policy(policy_doc, *args), runs),
        "check_parsed_us": median_us(lambda: check_policy(parsed, *args), runs),
    }


def run_peers(python: str, cases: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    job = {
        "runs": runs,
        "cases": [{"policy": c["policy"], "accounts": accounts_of(c)} for c in cases],
    }
    proc = subprocess.run(
        [python, "-c", PEER_SCRIPT],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        raise SystemExit(f"policy_bench: peers interpreter {python} failed: {tail[0]}")
    return json.loads(proc.stdout)


def yes(value: bool) -> str:
    return "open" if value else "closed"


def mark(answer: bool, truth: bool) -> str:
    return yes(answer) if answer == truth else f"**{yes(answer)} (wrong)**"


def report(cases: list[dict[str, Any]], mine: list[dict], peers: dict | None, runs: int) -> str:
    med = statistics.median
    lines = [
        "## Results",
        "",
        f"Corpus: {len(cases)} policies (`bench/corpus/`), {runs} timed runs per policy and "
        f"measurement; figures are the median over the corpus of the per-policy medians.",
        f"Machine: {platform.machine()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), {os.cpu_count()} CPUs.",
        "",
        "| measurement | median (µs) |",
        "|---|---:|",
        f"| byok `explain`: one decision (parsed policy) | "
        f"{med(m['explain_us'] for m in mine):.1f} |",
        f"| byok full `check` (6 checks, from the JSON document, parse included) | "
        f"{med(m['check_us'] for m in mine):.1f} |",
        f"| byok full `check` on an already parsed policy | "
        f"{med(m['check_parsed_us'] for m in mine):.1f} |",
    ]
    check_ms = med(m["check_us"] for m in mine) / 1000
    worst_ms = max(m["check_us"] for m in mine) / 1000
    if peers:
        res = peers["results"]
        c7n_us, pu_us = med(r["c7n_us"] for r in res), med(r["pu_us"] for r in res)
        check_us = med(m["check_us"] for m in mine)
        versions = peers["versions"]
        counts = sorted(m["requests"] for m in mine)
        requests = f"{counts[0]} to {counts[-1]} (median {med(counts):g})"
        lines += [
            f"| c7n {versions['c7n']} `KMSPolicyChecker.check` (cross-account) | {c7n_us:.1f} |",
            f"| policyuniverse {versions['policyuniverse']} "
            f"`Policy(...).is_internet_accessible()` | {pu_us:.1f} |",
            "",
            f"Ratios: byok full check / c7n = {check_us / c7n_us:.2f}x; "
            f"byok full check / policyuniverse = {check_us / pu_us:.2f}x; "
            f"byok explain / c7n = {med(m['explain_us'] for m in mine) / c7n_us:.2f}x. "
            f"(A byok check answers six questions by deciding {requests} requests per policy "
            "and computes the fixes; each peer answers one yes/no question.)",
        ]
    lines += [
        "",
        f"Target: full check <= {TARGET_MS:g} ms median: "
        f"{'met' if check_ms <= TARGET_MS else 'NOT met'} ({check_ms:.3f} ms; slowest policy "
        f"{worst_ms:.3f} ms).",
        "",
        "## Answers per policy",
        "",
        'byok and c7n answer "open to principals outside the customer and platform accounts?" '
        '(truth: `open_to_outsiders`); policyuniverse answers "open to anyone?" '
        "(truth: `open_to_anyone`). Wrong answers in bold.",
        "",
        "| policy | truth outsiders / anyone | byok verdict | byok | c7n | policyuniverse "
        "| check µs (byok / c7n / pu) |",
        "|---|---|---|---|---|---|---:|",
    ]
    wrong = {"byok": 0, "c7n": 0, "policyuniverse": 0}
    notes = []
    for i, (case, m) in enumerate(zip(cases, mine, strict=True)):
        truth = case["truth"]
        row = [
            case["name"],
            f"{yes(truth['open_to_outsiders'])} / {yes(truth['open_to_anyone'])}",
            m["verdict"],
            mark(m["open"], truth["open_to_outsiders"]),
        ]
        wrong["byok"] += m["open"] != truth["open_to_outsiders"]
        who_wrong = []
        if peers:
            r = peers["results"][i]
            row += [
                mark(r["c7n"], truth["open_to_outsiders"]),
                mark(r["pu"], truth["open_to_anyone"]),
            ]
            if r["c7n"] != truth["open_to_outsiders"]:
                wrong["c7n"] += 1
                who_wrong.append("c7n")
            if r["pu"] != truth["open_to_anyone"]:
                wrong["policyuniverse"] += 1
                who_wrong.append("policyuniverse")
            row.append(f"{m['check_us']:.0f} / {r['c7n_us']:.1f} / {r['pu_us']:.1f}")
        else:
            row += ["-", "-", f"{m['check_us']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
        if who_wrong or m["open"] != truth["open_to_outsiders"]:
            names = ", ".join(
                who_wrong + (["byok"] if m["open"] != truth["open_to_outsiders"] else [])
            )
            notes.append(f"- `{case['name']}` ({names} wrong): {case['description']}")
    total = len(cases)
    lines += [
        "",
        "Correct answers: "
        + ", ".join(f"{k} {total - v}/{total}" for k, v in wrong.items() if peers or k == "byok"),
        "",
        "Where an answer is wrong:",
        "",
        *notes,
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peers", help="python of the peers environment (make tools-peers)")
    parser.add_argument("--runs", type=int, default=2000, help="timed runs per measurement")
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench" / "corpus")
    args = parser.parse_args()
    cases = load_corpus(args.corpus)
    peers = None
    if args.peers:
        if not Path(args.peers).exists():
            print(
                f"policy_bench: --peers {args.peers}: not found (run `make tools-peers`)",
                file=sys.stderr,
            )
            return 2
        peers = run_peers(args.peers, cases, args.runs)
    mine = [run_byok(case, args.runs) for case in cases]
    sys.stdout.write(report(cases, mine, peers, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
