"""Property: the parser raises nothing but PolicyError, whatever JSON it is given.

Arbitrary JSON (``st.recursive``) rarely gets past the top level, so a second strategy builds a
well-formed key policy from the real element names, operators and value shapes and then, most
of the time, breaks it in one place (a value replaced by arbitrary JSON, an element deleted or
an unknown one added) anywhere in the tree: errors are exercised at every depth, and the
unbroken documents drive the evaluator, which must not raise either.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byok.errors import PolicyError
from byok.policy import Request, evaluate, parse_policy
from byok.policy.conditions import OPERATORS

TEXT = st.text(max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
KEYS = st.sampled_from(["Version", "Statement", "Effect", "Action", "AWS"]) | st.text(max_size=6)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=3),
    max_leaves=10,
)
#: what replaces one value of a well-formed policy: small JSON, often a scalar
REPLACEMENT = SCALARS | st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=2) | st.dictionaries(KEYS, children, max_size=2),
    max_leaves=3,
)

# --- well-formed key policies -------------------------------------------------------------------

#: operator family -> values it accepts (policy variables included where IAM allows them)
GOOD_VALUES: dict[str, list[Any]] = {
    "String": ["blue", "a*b?c", "${aws:username}", "${aws:PrincipalTag/x, 'd'}", 10, True],
    "Numeric": ["10", 5, "-1.5e3", 0.25],
    "Date": ["2024-01-01T00:00:00Z", "2024-01-01", 1700000000, "1700000000"],
    "Bool": ["true", "FALSE", True],
    "Binary": ["QmluYXJ5"],
    "Ip": ["10.0.0.0/8", "::1", "203.0.113.7"],
    "Arn": ["arn:aws:iam::*:role/x", "*", "arn:aws:s3:::b/${aws:username}/*"],
    "Null": ["true", False],
}


def _family(base: str) -> str:
    for family in GOOD_VALUES:
        if base.startswith((family, "Not" + family)):
            return family
    return "String"


def _clause(base: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    good = st.sampled_from(GOOD_VALUES[_family(base)])
    if base == "Null":
        names = st.just(base)
    else:
        names = st.sampled_from(
            [base, f"{base}IfExists", f"ForAllValues:{base}", f"ForAnyValue:{base}IfExists"]
        )
    keys = st.sampled_from(["aws:PrincipalAccount", "k:x", "K:X", "aws:username"])
    values = good | st.lists(good, min_size=1, max_size=3)
    return st.tuples(names, st.dictionaries(keys, values, min_size=1, max_size=2))


#: one prebuilt clause strategy per operator (building strategies per draw is slow)
CLAUSE = st.one_of(*(_clause(base) for base in [*sorted(OPERATORS), "Null"]))
PRINCIPAL_NAMES = st.sampled_from(
    [
        "*",
        "111122223333",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:role/path/r",
        "arn:aws:sts::111122223333:assumed-role/r/s",
        "AROA1234567890EXAMPLE",
    ]
)
PRINCIPAL = st.just("*") | st.fixed_dictionaries(
    {"AWS": PRINCIPAL_NAMES | st.lists(PRINCIPAL_NAMES, min_size=1, max_size=3)},
    optional={
        "Service": st.sampled_from(["s3.amazonaws.com", "*"]),
        "Federated": st.sampled_from(
            ["cognito-identity.amazonaws.com", "arn:aws:iam::111122223333:saml-provider/idp"]
        ),
    },
)
ACTIONS = st.sampled_from(["*", "kms:*", "kms:Decrypt", "KMS:?ncrypt", "kms:Generate*"])
RESOURCES = st.sampled_from(
    ["*", "arn:aws:kms:*:111122223333:key/*", "arn:aws:s3:::b/${aws:username}", "x*"]
)


def _element(name: str, values: st.SearchStrategy[Any], listable: bool = True) -> Any:
    """``{name: v}`` or ``{"Not" + name: v}``, with v a value or (if listable) a list."""
    value = (values | st.lists(values, min_size=1, max_size=3)) if listable else values
    return st.tuples(st.sampled_from([name, "Not" + name]), value).map(lambda kv: dict([kv]))


STATEMENT = st.builds(
    lambda *parts: {key: value for part in parts for key, value in part.items()},
    st.fixed_dictionaries(
        {"Effect": st.sampled_from(["Allow", "Deny"])},
        optional={
            "Sid": TEXT,
            "Condition": st.lists(CLAUSE, max_size=3).map(dict),
        },
    ),
    _element("Principal", PRINCIPAL, listable=False),
    _element("Action", ACTIONS),
    _element("Resource", RESOURCES),
)
GOOD_POLICY = st.fixed_dictionaries(
    {"Statement": STATEMENT | st.lists(STATEMENT, max_size=3)},
    optional={"Version": st.sampled_from(["2012-10-17", "2008-10-17"]), "Id": TEXT},
)
UNKNOWN_KEYS = st.sampled_from(["Bogus", "effect", "NotAction", "Principal", "AWS"]) | TEXT


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key-or-index) in a JSON tree, the root's children included."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield node, key
            yield from _slots(child)
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield node, index
            yield from _slots(child)


@st.composite
def policy_like(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed policy, broken in one place four times out of five."""
    document = copy.deepcopy(draw(GOOD_POLICY))
    mutation = draw(st.sampled_from(["none", "replace", "replace", "delete", "add"]))
    if mutation == "none":
        return document
    container, key = draw(st.sampled_from(list(_slots(document))))
    if mutation == "replace":
        container[key] = draw(REPLACEMENT)
    elif mutation == "delete":
        del container[key]
    elif isinstance(container, dict):
        container[draw(UNKNOWN_KEYS)] = draw(SCALARS)
    else:
        container.append(draw(REPLACEMENT))
    return document


REQUESTS = [
    Request("arn:aws:sts::111122223333:assumed-role/r/s", "kms:Decrypt"),
    Request(
        "arn:aws:iam::444455556666:user/u",
        "kms:Encrypt",
        "arn:aws:kms:eu-west-1:111122223333:key/k",
        {"k:x": ["1", "2024-01-01", "10.0.0.1"], "aws:username": "u", "K:Y": True},
    ),
    Request("s3.amazonaws.com", "kms:GenerateDataKey", None, {"k:x": b"Binary", "n": 5}),
]


def _parse_and_evaluate(document: Any) -> bool:
    try:
        policy = parse_policy(document)
    except PolicyError:
        return False
    for request in REQUESTS:
        evaluate(policy, request)
    return True


@settings(
    max_examples=5000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(JSON | policy_like(), st.sampled_from(["mapping", "text", "bytes"]))
def test_parser_raises_only_policy_error_on_any_json(document: Any, form: str) -> None:
    """Arbitrary JSON or policy-shaped documents broken anywhere, given as a mapping, as JSON
    text or as UTF-8 bytes: the only exception that may escape is PolicyError."""
    if form == "mapping":
        _parse_and_evaluate(document)
    else:
        text = json.dumps(document)
        _parse_and_evaluate(text if form == "text" else text.encode())


@settings(max_examples=300, deadline=None, database=None)
@given(GOOD_POLICY)
def test_well_formed_policies_parse(document: dict[str, Any]) -> None:
    """The generator's unbroken documents are valid, so the mutations above really reach deep
    places instead of failing at the top."""
    assert _parse_and_evaluate(document)


@settings(max_examples=1000, deadline=None, database=None)
@given(st.text(max_size=40) | st.binary(max_size=40))
def test_arbitrary_text_and_bytes_raise_only_policy_error(source: str | bytes) -> None:
    _parse_and_evaluate(source)
