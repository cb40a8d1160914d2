"""Property: key events in any order, dropped or duplicated, then one sweep: the flag is the
truth of the keys as they are.

The customer disables / enables either key and puts good or bad key policies (several in the
same CloudTrail second, whose times have one-second resolution); each call's CloudTrail event
goes through the real normaliser and ``byok.service.handle_trigger``, delivered at any later
point, any number of times (0 = lost): up to two deliveries between two calls and four after the
last, each of any event so far, which keeps an example to a handful of validations. Every
validation reads the keys as they are at that moment through an injected ``gather`` that answers
as AWS would: DescribeKey sees the state, the S3 canary succeeds only for an enabled S3 key whose
policy lets the platform in (else ``DisabledException`` / ``AccessDenied`` naming
``kms:GenerateDataKey``), GetKeyPolicy is cross-account so the policy texts are the remembered
ones (``byok.aws.gather._key_facts``, the real assembly). The store is ``MemoryStore``
(contract-tested against DynamoDB).

Truth function (the flag after the sweep):
  S3 key disabled, or its policy shuts the platform out  -> KEY_UNUSABLE
  Aurora key disabled                                    -> KEY_UNUSABLE
  Aurora policy shuts the platform out (cluster running) -> AT_RISK
  otherwise                                              -> HEALTHY   (the worst one wins)

With the customer's policy reporter (opt-in) one report of each key's current policy precedes
the sweep, and the flag equals the truth. Without it, an Aurora policy whose last event was lost
cannot be seen (documented: docs/validation.md, "What a lost event can hide"), so the property
is then: the flag is KEY_UNUSABLE exactly when the truth is (no false alarm, no lost alarm).
"""

from __future__ import annotations

import json
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from byok_world import cloudtrail_event
from hypothesis import given, settings
from hypothesis import strategies as st
from soak import examples
from validation_facts import NOW, ROLE, environment, metadata

from byok.aws.gather import CROSS_ACCOUNT_POLICY, _key_facts
from byok.contract import render_policy
from byok.events import normalise
from byok.models import HealthStatus, Purpose
from byok.service import (
    Deps,
    ServiceSettings,
    handle_trigger,
    schedule_trigger,
    validate_environment,
)
from byok.store import MemoryStore
from byok.validation import ClusterFacts, FactError, Facts, S3ProbeFacts

ENV = environment()
KEYS = {p: ENV.key_arn(p) for p in Purpose}


def policy_text(purpose: Purpose, good: bool) -> str:
    policy = render_policy(purpose, KEYS[purpose], ROLE, full=True)
    if not good:  # the platform's use of the key removed, its read-only health checks kept
        kept = ("EnableIAMUserPermissions", "BYOKPlatformHealthChecks")
        policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] in kept]
    return json.dumps(policy)


def truth(enabled: dict[Purpose, bool], good: dict[Purpose, bool]) -> HealthStatus:
    if not enabled[Purpose.S3] or not good[Purpose.S3] or not enabled[Purpose.AURORA]:
        return HealthStatus.KEY_UNUSABLE
    return HealthStatus.AT_RISK if not good[Purpose.AURORA] else HealthStatus.HEALTHY


class Keys:
    """The customer's keys as they are, and a gather that reads them as AWS would answer."""

    def __init__(self) -> None:
        self.enabled = {p: True for p in Purpose}
        self.good = {p: True for p in Purpose}
        self.ticks = count(1)

    def clock(self):
        return NOW + timedelta(minutes=next(self.ticks))

    def gather(self, env, session, *, known_policies=None, shared_with=None, **_: Any) -> Facts:
        keys = {}
        for purpose in Purpose:
            state = "Enabled" if self.enabled[purpose] else "Disabled"
            keys[purpose] = _key_facts(
                KEYS[purpose],
                purpose,
                metadata(KEYS[purpose], key_state=state),
                CROSS_ACCOUNT_POLICY,
                True,
                (known_policies or {}).get(purpose),
                (shared_with or {}).get(purpose, ()),
            )
        arn = KEYS[Purpose.S3]
        if not self.enabled[Purpose.S3]:
            error = FactError("DisabledException", f"{arn} is disabled.", False, "PutObject")
        elif not self.good[Purpose.S3]:
            message = f"User: {ROLE} is not authorized to perform: kms:GenerateDataKey on {arn}"
            error = FactError("AccessDenied", message, False, "PutObject")
        else:
            error = None
        step = "put" if error else None
        probe = S3ProbeFacts(
            env.bucket, "canary/x", ok=error is None, failed_step=step, error=error
        )
        cluster = ClusterFacts(env.cluster_id, "available", True, KEYS[Purpose.AURORA])
        return Facts(keys=keys, s3_probe=probe, cluster=cluster)


def _report(purpose: Purpose, text: str, at: str) -> dict[str, Any]:
    """The customer policy reporter's event (customer/policy_reporter.py's shape)."""
    arn = KEYS[purpose]
    return {
        "version": "0",
        "id": f"report-{purpose.value}-{at}",
        "detail-type": "BYOK Key Policy Report",
        "source": "byok.customer",
        "account": arn.split(":")[4],
        "time": at,
        "region": arn.split(":")[3],
        "resources": [arn],
        "detail": {"key_arn": arn, "policy": text, "read_at": at},
    }


ACTIONS = st.tuples(
    st.sampled_from(["DisableKey", "EnableKey", "PutKeyPolicy"]),
    st.sampled_from(list(Purpose)),
    st.booleans(),  # PutKeyPolicy: a good or a bad policy
    st.booleans(),  # the next call in the same CloudTrail second
)


@pytest.mark.property
@settings(max_examples=examples(500, 10000), deadline=None)
@given(st.lists(ACTIONS, min_size=1, max_size=4), st.booleans(), st.data())
def test_events_in_any_order_then_one_sweep_leave_the_truth(actions, reporter: bool, data) -> None:
    keys = Keys()
    store = MemoryStore()
    store.register(ENV)
    deps = Deps(
        store=store,
        session_factory=lambda: None,
        settings=ServiceSettings(platform_role_arn=ROLE),
        clock=keys.clock,
        gather=keys.gather,
    )
    events: list[Any] = []  # the triggers of the calls made so far
    second = NOW - timedelta(hours=1)

    def deliver(most: int, label: str) -> None:
        """Up to ``most`` deliveries of events that happened, again or for the first time (the
        rest are lost). Bounded per step so that an example stays a handful of validations."""
        for _ in range(data.draw(st.integers(0, most), label=label)):
            handle_trigger(data.draw(st.sampled_from(events), label="deliver"), deps)

    for name, purpose, good, same_second in actions:
        if events:
            deliver(2, "deliveries before the next call")
        if name == "PutKeyPolicy":
            keys.good[purpose] = good
            request = {"policyName": "default", "policy": policy_text(purpose, good)}
        else:
            keys.enabled[purpose] = name == "EnableKey"
            request = {}
        # normalised once: a repeated delivery of the same event yields the same trigger
        events.append(normalise(cloudtrail_event(name, KEYS[purpose], at=second, request=request)))
        if not same_second:
            second += timedelta(seconds=1)
    deliver(4, "deliveries after the last call")
    if reporter:
        read_at = (second + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for purpose in Purpose:
            report = _report(purpose, policy_text(purpose, keys.good[purpose]), read_at)
            handle_trigger(normalise(report), deps)
    sweep = validate_environment(ENV.environment_id, schedule_trigger(keys.clock()), deps)
    flag = store.get_flag(ENV.environment_id)
    expected = truth(keys.enabled, keys.good)
    if reporter:
        assert flag.status is expected, (flag.status, flag.reasons, sweep)
    else:
        unusable = flag.status is HealthStatus.KEY_UNUSABLE
        assert unusable is (expected is HealthStatus.KEY_UNUSABLE), (flag.status, flag.reasons)
