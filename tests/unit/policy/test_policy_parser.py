"""The parser: the full grammar is accepted, and bad input raises PolicyError naming the place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from byok.errors import InputError, PolicyError
from byok.policy import MAX_POLICY_BYTES, Decision, Effect, Request, evaluate, parse_policy

ALLOW = {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}


def policy_with(**fields: Any) -> dict[str, Any]:
    statement = dict(ALLOW)
    statement.update(fields)
    statement = {key: value for key, value in statement.items() if value is not None}
    return {"Version": "2012-10-17", "Statement": [dict(ALLOW), statement]}


def test_accepts_text_bytes_and_mapping_alike() -> None:
    document = {"Version": "2012-10-17", "Id": "key-policy", "Statement": [ALLOW]}
    for source in (document, json.dumps(document), json.dumps(document).encode()):
        policy = parse_policy(source)
        assert policy.version == "2012-10-17"
        assert policy.id == "key-policy"
        assert len(policy.statements) == 1
        assert policy.statements[0].raw == ALLOW


def test_statement_may_be_a_single_object() -> None:
    """IAM grammar: "Statement" is a statement or an array of statements."""
    policy = parse_policy({"Statement": dict(ALLOW, Sid="Only")})
    assert [(s.index, s.label, s.effect) for s in policy.statements] == [(0, "Only", Effect.ALLOW)]
    assert policy.version is None


def test_statement_model_exposes_parsed_elements() -> None:
    policy = parse_policy(
        policy_with(
            Sid="S",
            Principal={"AWS": ["arn:aws:iam::111122223333:root"], "Service": "s3.amazonaws.com"},
            Action=None,
            NotAction=["kms:Decrypt"],
            Condition={"ForAnyValue:StringLikeIfExists": {"kms:GrantOperations": ["Re*"]}},
        )
    )
    statement = policy.statements[1]
    assert statement.not_action is True
    assert statement.actions == ("kms:Decrypt",)
    assert statement.principal is not None
    assert statement.principal.accounts == frozenset({"111122223333"})
    (clause,) = statement.conditions
    assert (clause.base, clause.set_operator, clause.if_exists, clause.negated) == (
        "StringLike",
        "ForAnyValue",
        True,
        False,
    )
    assert clause.key_lower == "kms:grantoperations"


def test_every_operator_family_parses() -> None:
    operators = {
        "StringEquals": "a",
        "StringNotEquals": "a",
        "StringEqualsIgnoreCase": "a",
        "StringNotEqualsIgnoreCase": "a",
        "StringLike": "a*",
        "StringNotLike": "a*",
        "NumericEquals": 1,
        "NumericNotEquals": "1",
        "NumericLessThan": 1.5,
        "NumericLessThanEquals": "1",
        "NumericGreaterThan": "-2",
        "NumericGreaterThanEquals": 3,
        "DateEquals": "2024-01-01",
        "DateNotEquals": "2024-01-01T00:00:00Z",
        "DateLessThan": 1700000000,
        "DateLessThanEquals": "1700000000",
        "DateGreaterThan": "2024-01-01T00:00:00+02:00",
        "DateGreaterThanEquals": "2024-01-01T00:00:00.123Z",
        "Bool": True,
        "BinaryEquals": "QmluYXJ5",
        "IpAddress": "203.0.113.0/24",
        "NotIpAddress": "2001:db8::/32",
        "ArnEquals": "arn:aws:iam::111122223333:role/x",
        "ArnLike": "arn:aws:iam::*:role/*",
        "ArnNotEquals": "arn:aws:iam::111122223333:role/x",
        "ArnNotLike": "arn:aws:iam::*:role/*",
        "Null": "true",
    }
    condition: dict[str, Any] = {}
    for operator, value in operators.items():
        condition[operator] = {"k:a": value}
        if operator != "Null":
            condition[f"{operator}IfExists"] = {"k:b": [value]}
            condition[f"ForAllValues:{operator}"] = {"k:c": value}
            condition[f"ForAnyValue:{operator}IfExists"] = {"k:d": value}
    policy = parse_policy(policy_with(Condition=condition))
    assert len(policy.statements[1].conditions) == len(operators) * 4 - 3


# --- errors name the place ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{not json", "policy: not valid JSON"),
        ("[]", "policy: expected a JSON object, got a list"),
        ('{"Statement": [], "Extra": 1}', "policy: unknown element 'Extra'"),
        ('{"Version": "2020-01-01", "Statement": []}', "Version: expected '2012-10-17'"),
        ('{"Version": "2012-10-17"}', "Statement: missing"),
        ('{"Statement": "x"}', "Statement: expected an object or a list of objects, got a string"),
        ('{"Statement": [1]}', "Statement[0]: expected an object, got a number"),
        ('{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}', 'duplicate JSON key "Effect"'),
        ('{"Statement": [], "Id": NaN}', "policy: NaN is not valid JSON"),
        (b"\xff\xfe", "policy: not UTF-8 text"),
        (42, "policy: expected JSON text, bytes or a mapping, got int"),
    ],
)
def test_document_errors(source: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(source)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Effect": None}, "Statement[1].Effect: missing"),
        ({"Effect": "allow"}, "Statement[1].Effect: expected 'Allow' or 'Deny', got 'allow'"),
        ({"Action": None}, "Statement[1].Action: missing"),
        ({"NotAction": "kms:*"}, "Statement[1]: has both Action and NotAction"),
        ({"Action": []}, "Statement[1].Action: expected a string or a non-empty list"),
        ({"Action": ["kms:Decrypt", 3]}, "Statement[1].Action[1]: expected a non-empty string"),
        ({"Action": "Decrypt"}, "Statement[1].Action: expected 'service:Action' or '*'"),
        ({"Resource": None}, "Statement[1].Resource: missing"),
        ({"NotResource": "*"}, "Statement[1]: has both Resource and NotResource"),
        ({"Principal": None}, "Statement[1].Principal: missing"),
        ({"NotPrincipal": "*"}, "Statement[1]: has both Principal and NotPrincipal"),
        ({"Principal": "me"}, 'Statement[1].Principal: expected "*" or an object'),
        ({"Principal": {"Aws": "*"}}, "Statement[1].Principal: unknown principal type 'Aws'"),
        ({"Principal": {"AWS": [1]}}, "Statement[1].Principal.AWS[0]: expected a non-empty"),
        ({"Principal": {"AWS": "bob"}}, "Statement[1].Principal.AWS: expected an account id"),
        (
            {"Principal": {"AWS": ["*", "XYZA1234567890EXAMPLE"]}},
            "Statement[1].Principal.AWS[1]: expected an account id",
        ),
        (
            {"Principal": {"AWS": "arn:aws:iam::111122223333:role/*"}},
            "Statement[1].Principal.AWS: wildcards are not allowed",
        ),
        ({"Sid": 5}, "Statement[1].Sid: expected a string, got a number"),
        ({"Condition": []}, "Statement[1].Condition: expected an object, got a list"),
        (
            {"Condition": {"StringEquals": "x"}},
            "Statement[1].Condition.StringEquals: expected an object",
        ),
        (
            {"Condition": {"StringEqual": {"k": "v"}}},
            "Statement[1].Condition.StringEqual: unknown condition operator 'StringEqual'",
        ),
        (
            {"Condition": {"ForSomeValues:StringEquals": {"k": "v"}}},
            "Statement[1].Condition.ForSomeValues:StringEquals: unknown set operator",
        ),
        (
            {"Condition": {"NullIfExists": {"k": "true"}}},
            "Statement[1].Condition.NullIfExists: Null cannot take IfExists",
        ),
        (
            {"Condition": {"StringEquals": {"k": {"nested": 1}}}},
            "Statement[1].Condition.StringEquals.k: expected a string, number or boolean",
        ),
        (
            {"Condition": {"StringEquals": {"k": []}}},
            "Statement[1].Condition.StringEquals.k: expected at least one value",
        ),
        (
            {"Condition": {"StringEquals": {"k": ["a", None]}}},
            "Statement[1].Condition.StringEquals.k[1]: expected a string, number or boolean, "
            "got null",
        ),
        (
            {"Condition": {"NumericLessThan": {"k": ["1", "ten"]}}},
            "Statement[1].Condition.NumericLessThan.k[1]: expected a number, got 'ten'",
        ),
        (
            {"Condition": {"NumericLessThan": {"k": True}}},
            "Statement[1].Condition.NumericLessThan.k: expected a number",
        ),
        (
            {"Condition": {"DateLessThan": {"k": "yesterday"}}},
            "Statement[1].Condition.DateLessThan.k: expected an ISO 8601 date/time",
        ),
        (
            {"Condition": {"Bool": {"k": "yes"}}},
            "Statement[1].Condition.Bool.k: expected true or false",
        ),
        (
            {"Condition": {"BinaryEquals": {"k": "not base64!"}}},
            "Statement[1].Condition.BinaryEquals.k: expected a base64 string",
        ),
        (
            {"Condition": {"IpAddress": {"k": "10.0.0.0/33"}}},
            "Statement[1].Condition.IpAddress.k: expected an IP address or CIDR",
        ),
        (
            {"Condition": {"ArnLike": {"k": None}}},
            "Statement[1].Condition.ArnLike.k: expected a string, number or boolean, got null",
        ),
        (
            {"Condition": {"StringEquals": {"k": "${aws:username"}}},
            "Statement[1].Condition.StringEquals.k: unterminated policy variable",
        ),
        (
            {"Resource": "arn:aws:s3:${aws:region}::b"},
            "Statement[1].Resource: policy variables are allowed only in the resource part",
        ),
        ({"Extra": 1}, "Statement[1]: unknown element 'Extra'"),
    ],
)
def test_statement_errors_name_the_place(fields: dict[str, Any], message: str) -> None:
    document = policy_with(**fields)
    with pytest.raises(PolicyError) as caught:
        parse_policy(document)
    assert str(caught.value).startswith(message), str(caught.value)


def test_single_statement_object_is_named_statement() -> None:
    with pytest.raises(PolicyError, match=r"^Statement\.Condition\.StringEquals: expected an"):
        parse_policy({"Statement": dict(ALLOW, Condition={"StringEquals": 1})})


def test_policy_error_is_an_input_error_with_a_stable_code() -> None:
    with pytest.raises(InputError) as caught:
        parse_policy("nope")
    assert caught.value.code == "INVALID_POLICY"
    assert caught.value.exit_code == 2


# --- size -------------------------------------------------------------------------------------


def _sized(total: int) -> str:
    """A valid policy text of exactly ``total`` UTF-8 bytes (padding in the Id)."""
    skeleton = json.dumps({"Id": "", "Statement": [ALLOW]})
    return skeleton.replace('"Id": ""', '"Id": "' + "x" * (total - len(skeleton)) + '"')


def test_policy_of_exactly_32_kb_is_accepted() -> None:
    """docs/aws-notes.md / KMS quotas: "Key policy document size: 32 KB (32,768 bytes)"."""
    text = _sized(MAX_POLICY_BYTES)
    assert len(text.encode()) == MAX_POLICY_BYTES
    assert parse_policy(text).size == MAX_POLICY_BYTES


def test_policy_over_32_kb_is_rejected_as_text_bytes_and_mapping() -> None:
    text = _sized(MAX_POLICY_BYTES + 1)
    for source in (text, text.encode(), json.loads(text) | {"Id": "x" * MAX_POLICY_BYTES}):
        with pytest.raises(PolicyError, match=r"^policy: \d+ bytes, over the 32768-byte"):
            parse_policy(source)


def test_size_counts_utf8_bytes_not_characters() -> None:
    skeleton = json.dumps({"Id": "", "Statement": [ALLOW]}, ensure_ascii=False)
    chars = (MAX_POLICY_BYTES - len(skeleton)) // 2 + 1  # two bytes each: just over
    text = skeleton.replace('"Id": ""', '"Id": "' + "é" * chars + '"')
    assert len(text) <= MAX_POLICY_BYTES < len(text.encode())
    with pytest.raises(PolicyError, match="bytes, over"):
        parse_policy(text)


def test_mapping_that_is_not_json_raises_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"^policy: not JSON-serialisable"):
        parse_policy({"Statement": [ALLOW], "Id": object()})
    with pytest.raises(PolicyError, match=r"^policy: not JSON-serialisable"):
        parse_policy({"Statement": [ALLOW], "Id": float("nan")})


def test_deeply_nested_json_raises_policy_error() -> None:
    with pytest.raises(PolicyError):
        parse_policy("[" * 100_000 + "]" * 100_000)


# --- requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"principal": "", "action": "kms:Decrypt"}, "principal:"),
        ({"principal": "111122223333", "action": None}, "action:"),
        ({"principal": "111122223333", "action": "kms:Decrypt", "resource": 5}, "resource:"),
        (
            {"principal": "111122223333", "action": "kms:Decrypt", "context": {"k": {"a": 1}}},
            "context['k']:",
        ),
        (
            {"principal": "111122223333", "action": "kms:Decrypt", "context": {"k": [None]}},
            "context['k']:",
        ),
    ],
)
def test_bad_requests_raise_input_error_naming_the_field(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError) as caught:
        Request(**kwargs)
    assert str(caught.value).startswith(message)


def test_principal_kinds_in_requests() -> None:
    policy = parse_policy({"Statement": [ALLOW]})
    for principal in (
        "111122223333",
        "arn:aws:iam::111122223333:root",
        "arn:aws:iam::111122223333:user/path/u",
        "arn:aws:sts::111122223333:assumed-role/r/s",
        "arn:aws:sts::111122223333:federated-user/f",
        "arn:aws-cn:iam::111122223333:role/r",
        "s3.amazonaws.com",
        "anonymous",
    ):
        assert evaluate(policy, Request(principal, "kms:Decrypt")).decision is Decision.ALLOW
