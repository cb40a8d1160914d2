"""Property: whatever JSON arrives, the event boundary raises EventError or returns a Trigger
whose identifiers are valid; never another exception (a Lambda must not crash on input)."""

from __future__ import annotations

import contextlib
from typing import Any

from event_samples import load, trigger_sample_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byok.errors import EventError
from byok.events import is_ignorable, normalise, trigger_from_dict
from byok.identifiers import KeyArn, validate_account_id, validate_region
from byok.models import Trigger

SAMPLES = [load(name) for name in trigger_sample_names()]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
interesting_strings = st.sampled_from(
    [
        "",
        "alias/x",
        "arn:aws:kms:eu-west-1:111122223333:key/1111aaaa-1111-4111-8111-111111111111",
        "arn:aws:kms:eu-west-1:111122223333:alias/x",
        "arn:aws:kms:eu-west-1:1:key/x",
        "1111aaaa-1111-4111-8111-111111111111",
        "mrk-0123456789abcdef0123456789abcdef",
        "2026-11-24T09:15:02Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "AWS::KMS::Key",
        "eu-west-1",
        "rds:byok-demo-aurora",
    ]
)
values = json_values | interesting_strings


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_samples(draw) -> dict:
    """A real sample with a few fields replaced or removed: reaches deep validation paths that
    random dictionaries never would."""
    import copy

    event = copy.deepcopy(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(event)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return event


def _check(event: Any) -> None:
    try:
        trigger = normalise(event)
    except EventError as exc:
        assert exc.message and ": " in exc.message
    else:
        assert isinstance(trigger, Trigger)
        if trigger.key_arn is not None:
            key = KeyArn.parse(trigger.key_arn)
            assert str(key) == trigger.key_arn
            assert trigger.account == key.account
        if trigger.account is not None:
            validate_account_id(trigger.account)
        if trigger.region is not None:
            validate_region(trigger.region)
        assert trigger_from_dict(trigger.to_dict()) == trigger
    try:
        reason = is_ignorable(event)
    except EventError:
        pass
    else:
        assert reason is None or isinstance(reason, str)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_arbitrary_mappings_raise_only_event_error(event):
    _check(event)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_samples())
def test_mutated_samples_raise_only_event_error(event):
    _check(event)


@settings(max_examples=200)
@given(json_values)
def test_trigger_from_dict_raises_only_event_error(data):
    with contextlib.suppress(EventError):
        trigger_from_dict(data)
