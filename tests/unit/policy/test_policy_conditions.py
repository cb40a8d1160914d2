"""Condition operators, one family at a time, each rule cited from the AWS IAM documentation.

Sources (IAM User Guide): "IAM JSON policy elements: Condition operators" (COND), "Conditions
with multiple context keys or values" (MULTI), "Set operators for multivalued context keys"
(SET), "IAM policy elements: Variables and tags" (VARS).
"""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from byok.policy.conditions import OPERATORS

Holds = Callable[..., bool]
KEY = "aws:PrincipalTag/team"


# --- String ---------------------------------------------------------------------------------


def test_string_equals_is_case_sensitive_on_values(holds: Holds) -> None:
    """COND: StringEquals is "Exact matching, case sensitive"."""
    assert holds({"StringEquals": {KEY: "Blue"}}, {KEY: "Blue"})
    assert not holds({"StringEquals": {KEY: "Blue"}}, {KEY: "blue"})


def test_string_equals_ignore_case_ignores_value_case(holds: Holds) -> None:
    """COND: StringEqualsIgnoreCase is "Exact matching, ignoring case"."""
    assert holds({"StringEqualsIgnoreCase": {KEY: "Blue"}}, {KEY: "bLUE"})
    assert not holds({"StringEqualsIgnoreCase": {KEY: "Blue"}}, {KEY: "Blues"})


def test_string_not_equals_ignore_case(holds: Holds) -> None:
    """COND: StringNotEqualsIgnoreCase is "Negated matching, ignoring case"."""
    assert not holds({"StringNotEqualsIgnoreCase": {KEY: "Blue"}}, {KEY: "BLUE"})
    assert holds({"StringNotEqualsIgnoreCase": {KEY: "Blue"}}, {KEY: "red"})


def test_string_equals_treats_wildcards_literally(holds: Holds) -> None:
    """COND: only the *Like operators take wildcards; StringEquals is exact matching."""
    assert not holds({"StringEquals": {KEY: "b*"}}, {KEY: "blue"})
    assert holds({"StringEquals": {KEY: "b*"}}, {KEY: "b*"})


def test_string_like_wildcards_star_and_question_mark(holds: Holds) -> None:
    """COND: StringLike: "The values can include multi-character match wildcards (*) and
    single-character match wildcards (?) anywhere in the string"; case-sensitive."""
    condition = {"StringLike": {KEY: ["bl?e", "gr*n"]}}
    assert holds(condition, {KEY: "blue"})
    assert holds(condition, {KEY: "green"})
    assert holds(condition, {KEY: "grn"})
    assert not holds(condition, {KEY: "BLUE"})
    assert not holds(condition, {KEY: "bluee"})


def test_string_not_like(holds: Holds) -> None:
    """COND: StringNotLike is the negated StringLike."""
    assert not holds({"StringNotLike": {KEY: "s3.*.amazonaws.com"}}, {KEY: "s3.x.amazonaws.com"})
    assert holds({"StringNotLike": {KEY: "s3.*.amazonaws.com"}}, {KEY: "rds.x.amazonaws.com"})


def test_string_equals_several_values_are_or(holds: Holds) -> None:
    """MULTI: "If a single condition operator includes multiple values for a context key, those
    values are evaluated using a logical OR"."""
    assert holds({"StringEquals": {KEY: ["red", "blue"]}}, {KEY: "blue"})
    assert not holds({"StringEquals": {KEY: ["red", "blue"]}}, {KEY: "green"})


def test_negated_operator_several_values_are_nor(holds: Holds) -> None:
    """MULTI: "If a single negated matching condition operator includes multiple values for a
    context key, those values are evaluated using a logical NOR"."""
    assert not holds({"StringNotEquals": {KEY: ["red", "blue"]}}, {KEY: "blue"})
    assert holds({"StringNotEquals": {KEY: ["red", "blue"]}}, {KEY: "green"})


def test_several_keys_and_several_operators_are_and(holds: Holds) -> None:
    """MULTI: "multiple condition operators ... logical AND"; "multiple context keys attached to
    a single condition operator ... logical AND"."""
    condition = {
        "StringEquals": {KEY: "blue", "kms:ViaService": "s3.eu-west-1.amazonaws.com"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    full = {
        KEY: "blue",
        "kms:ViaService": "s3.eu-west-1.amazonaws.com",
        "aws:SecureTransport": True,
    }
    assert holds(condition, full)
    for missing in full:
        partial = {k: v for k, v in full.items() if k != missing}
        assert not holds(condition, partial), missing


def test_condition_key_names_are_case_insensitive(holds: Holds) -> None:
    """VARS: "Key names are case-insensitive. For example, aws:CurrentTime is equivalent to
    AWS:currenttime" (both in the policy and in the request)."""
    assert holds({"StringEquals": {"KMS:VIASERVICE": "s3.x"}}, {"kms:viaservice": "s3.x"})
    assert holds({"StringEquals": {"kms:viaservice": "s3.x"}}, {"Kms:ViaService": "s3.x"})


def test_string_operator_compares_json_numbers_and_booleans_as_text(holds: Holds) -> None:
    """A context value given as a number or boolean is compared by its JSON spelling."""
    assert holds({"StringEquals": {KEY: "10"}}, {KEY: 10})
    assert holds({"StringEquals": {KEY: "true"}}, {KEY: True})


# --- missing keys -----------------------------------------------------------------------------

NEGATED = [
    {"StringNotEquals": {KEY: "x"}},
    {"StringNotEqualsIgnoreCase": {KEY: "x"}},
    {"StringNotLike": {KEY: "x*"}},
    {"NumericNotEquals": {KEY: "1"}},
    {"DateNotEquals": {KEY: "2024-01-01T00:00:00Z"}},
    {"NotIpAddress": {KEY: "10.0.0.0/8"}},
    {"ArnNotEquals": {KEY: "arn:aws:iam::111122223333:role/x"}},
    {"ArnNotLike": {KEY: "arn:aws:iam::*:role/x"}},
]
POSITIVE = [
    {"StringEquals": {KEY: "x"}},
    {"StringEqualsIgnoreCase": {KEY: "x"}},
    {"StringLike": {KEY: "*"}},
    {"NumericEquals": {KEY: "1"}},
    {"NumericLessThan": {KEY: "1"}},
    {"NumericLessThanEquals": {KEY: "1"}},
    {"NumericGreaterThan": {KEY: "1"}},
    {"NumericGreaterThanEquals": {KEY: "1"}},
    {"DateEquals": {KEY: "2024-01-01T00:00:00Z"}},
    {"DateLessThan": {KEY: "2024-01-01T00:00:00Z"}},
    {"DateLessThanEquals": {KEY: "2024-01-01T00:00:00Z"}},
    {"DateGreaterThan": {KEY: "2024-01-01T00:00:00Z"}},
    {"DateGreaterThanEquals": {KEY: "2024-01-01T00:00:00Z"}},
    {"Bool": {KEY: "true"}},
    {"BinaryEquals": {KEY: "QmluYXJ5"}},
    {"IpAddress": {KEY: "0.0.0.0/0"}},
    {"ArnEquals": {KEY: "*"}},
    {"ArnLike": {KEY: "arn:*"}},
]


@pytest.mark.parametrize("condition", POSITIVE, ids=lambda c: next(iter(c)))
def test_missing_key_makes_plain_operators_false(holds: Holds, condition: dict) -> None:
    """COND: "If the key that you specify in a policy condition is not present in the request
    context, the values do not match and the condition is false"."""
    assert not holds(condition, {})


@pytest.mark.parametrize("condition", NEGATED, ids=lambda c: next(iter(c)))
def test_missing_key_makes_negated_operators_true(holds: Holds, condition: dict) -> None:
    """COND: "If the policy condition requires that the key is not matched, such as StringNotLike
    or ArnNotLike, and the right key is not present, the condition is true"."""
    assert holds(condition, {})


@pytest.mark.parametrize("condition", POSITIVE, ids=lambda c: next(iter(c)))
def test_if_exists_is_true_when_key_missing(holds: Holds, condition: dict) -> None:
    """COND (...IfExists): "If the policy key is present in the context of the request, process
    the key as specified in the policy. If the key is not present, evaluate the condition
    element as true"."""
    ((operator, block),) = condition.items()
    assert holds({f"{operator}IfExists": block}, {})


def test_if_exists_applies_the_operator_when_key_present(holds: Holds) -> None:
    """COND (...IfExists): a present key is processed as the plain operator."""
    condition = {"StringEqualsIfExists": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert holds(condition, {"kms:ViaService": "s3.eu-west-1.amazonaws.com"})
    assert not holds(condition, {"kms:ViaService": "rds.eu-west-1.amazonaws.com"})


def test_negated_if_exists_on_present_key(holds: Holds) -> None:
    """COND (...IfExists) with a negated operator: present key = the negated test."""
    assert not holds({"StringNotEqualsIfExists": {KEY: "a"}}, {KEY: "a"})
    assert holds({"StringNotEqualsIfExists": {KEY: "a"}}, {KEY: "b"})


def test_null_true_means_key_absent(holds: Holds) -> None:
    """COND (Null): use "true (the key doesn't exist — it is null)"."""
    assert holds({"Null": {KEY: "true"}}, {})
    assert not holds({"Null": {KEY: "true"}}, {KEY: "x"})


def test_null_false_means_key_present(holds: Holds) -> None:
    """COND (Null): use "false (the key exists and its value is not null)"."""
    assert holds({"Null": {KEY: "false"}}, {KEY: "x"})
    assert not holds({"Null": {KEY: False}}, {})


def test_empty_list_context_value_is_an_absent_key(holds: Holds) -> None:
    """A context key given as an empty list carries no value: Null true, plain false."""
    assert holds({"Null": {KEY: "true"}}, {KEY: []})
    assert not holds({"StringLike": {KEY: "*"}}, {KEY: []})


# --- set operators ----------------------------------------------------------------------------

OPS = "kms:GrantOperations"


def test_for_all_values_on_missing_key_is_true(holds: Holds) -> None:
    """SET: the ForAllValues set operator "also returns true if there are no context keys in
    the request"."""
    assert holds({"ForAllValues:StringEquals": {OPS: ["Decrypt", "Encrypt"]}}, {})


def test_for_all_values_on_empty_set_is_true(holds: Holds) -> None:
    """SET: ForAllValues is also true when the request's key resolves to no values (a null
    data set); an empty list in the request context is that case."""
    assert holds({"ForAllValues:StringEquals": {OPS: ["Decrypt"]}}, {OPS: []})


def test_for_all_values_requires_every_request_value_to_match(holds: Holds) -> None:
    """SET: ForAllValues is true if every context key value in the request matches at least one
    value in the policy."""
    condition = {"ForAllValues:StringEquals": {OPS: ["Decrypt", "Encrypt"]}}
    assert holds(condition, {OPS: ["Decrypt", "Encrypt"]})
    assert holds(condition, {OPS: ["Decrypt"]})
    assert not holds(condition, {OPS: ["Decrypt", "CreateGrant"]})


def test_for_any_value_on_missing_or_empty_key_is_false(holds: Holds) -> None:
    """SET: ForAnyValue needs at least one request value to match, so it is false when the
    request has no value for the key (unlike ForAllValues)."""
    assert not holds({"ForAnyValue:StringEquals": {OPS: ["Decrypt"]}}, {})
    assert not holds({"ForAnyValue:StringEquals": {OPS: ["Decrypt"]}}, {OPS: []})


def test_for_any_value_needs_one_matching_request_value(holds: Holds) -> None:
    """SET: ForAnyValue is true if at least one context key value in the request matches at
    least one value in the policy."""
    condition = {"ForAnyValue:StringLike": {OPS: ["Re*"]}}
    assert holds(condition, {OPS: ["Decrypt", "RetireGrant"]})
    assert not holds(condition, {OPS: ["Decrypt", "Encrypt"]})


def test_for_all_values_with_negated_operator(holds: Holds) -> None:
    """SET + MULTI: ForAllValues:StringNotEquals: no request value may equal a policy value."""
    condition = {"ForAllValues:StringNotEquals": {OPS: ["CreateGrant"]}}
    assert holds(condition, {OPS: ["Decrypt", "Encrypt"]})
    assert not holds(condition, {OPS: ["Decrypt", "CreateGrant"]})


@pytest.mark.parametrize(
    ("tag_keys", "denied"),
    [(["key1:legal"], False), (["key1:hr", "key1:personnel"], False), (["key2:audit"], True)],
)
def test_aws_example_deny_for_all_values_string_not_like(
    holds: Holds, tag_keys: list[str], denied: bool
) -> None:
    """IAM "Multivalued context key examples": "ForAllValues:StringNotLike": {"aws:TagKeys":
    "key1*"} matches (denies) [key2:audit] and a request without aws:TagKeys, and does not match
    [key1:legal] or [key1:hr, key1:personnel]."""
    condition = {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}
    assert holds(condition, {"aws:TagKeys": tag_keys}) is denied
    assert holds(condition, {})


def test_for_any_value_with_negated_operator(holds: Holds) -> None:
    """SET + MULTI: ForAnyValue:StringNotEquals: some request value equals no policy value."""
    condition = {"ForAnyValue:StringNotEquals": {OPS: ["Decrypt"]}}
    assert holds(condition, {OPS: ["Decrypt", "Encrypt"]})
    assert not holds(condition, {OPS: ["Decrypt"]})


def test_for_any_value_if_exists_on_missing_key_is_true(holds: Holds) -> None:
    """COND (...IfExists) composes with a set operator: a missing key evaluates true."""
    assert holds({"ForAnyValue:StringEqualsIfExists": {OPS: ["Decrypt"]}}, {})


def test_multivalued_key_without_set_operator_matches_any_value(holds: Holds) -> None:
    """Our documented choice: a plain operator on a multi-valued key matches if any request
    value matches (the negated operator: if none does), consistent with the NOR rule."""
    assert holds({"StringEquals": {OPS: "Decrypt"}}, {OPS: ["Encrypt", "Decrypt"]})
    assert not holds({"StringNotEquals": {OPS: "Decrypt"}}, {OPS: ["Encrypt", "Decrypt"]})
    assert holds({"StringNotEquals": {OPS: "Sign"}}, {OPS: ["Encrypt", "Decrypt"]})


# --- Numeric ----------------------------------------------------------------------------------


def test_numeric_less_than_with_string_numbers(holds: Holds) -> None:
    """COND (Numeric): policy values such as "NumericLessThan": {"s3:max-keys": "10"} are
    strings holding numbers; request values may be numbers or numeric strings."""
    assert holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"})
    assert holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": 9.5})
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"})
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "100"})


@pytest.mark.parametrize(
    ("operator", "results"),
    [
        ("NumericEquals", (False, True, False)),
        ("NumericNotEquals", (True, False, True)),
        ("NumericLessThan", (True, False, False)),
        ("NumericLessThanEquals", (True, True, False)),
        ("NumericGreaterThan", (False, False, True)),
        ("NumericGreaterThanEquals", (False, True, True)),
    ],
)
def test_numeric_operators(holds: Holds, operator: str, results: tuple[bool, ...]) -> None:
    """COND (Numeric): the six numeric comparisons, request value <op> policy value."""
    got = tuple(holds({operator: {KEY: 5}}, {KEY: value}) for value in (4, "5.0", 6))
    assert got == results


def test_numeric_request_value_that_is_not_a_number_matches_nothing(holds: Holds) -> None:
    """Fail closed: an incomparable value satisfies neither the operator nor its negation."""
    assert not holds({"NumericEquals": {KEY: 5}}, {KEY: "five"})
    assert not holds({"NumericNotEquals": {KEY: 5}}, {KEY: "five"})


# --- Date -------------------------------------------------------------------------------------


def test_date_greater_than_with_iso_dates(holds: Holds) -> None:
    """COND (Date): values in "W3C implementations of the ISO 8601 date formats"."""
    condition = {"DateGreaterThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}}
    assert holds(condition, {"aws:CurrentTime": "2024-07-01T12:00:00Z"})
    assert holds(condition, {"aws:CurrentTime": "2024-07-01"})
    assert not holds(condition, {"aws:CurrentTime": "2024-06-29T23:59:59+00:00"})
    assert not holds(condition, {"aws:CurrentTime": "2024-06-30T01:00:00+02:00"})


def test_date_greater_than_with_epoch(holds: Holds) -> None:
    """COND (Date): "or in epoch (UNIX) time"; policy and request may mix the two forms."""
    condition = {"DateGreaterThan": {"aws:EpochTime": 1719705600}}  # 2024-06-30T00:00:00Z
    assert holds(condition, {"aws:EpochTime": "1719705601"})
    assert holds(condition, {"aws:EpochTime": "2024-06-30T00:00:01Z"})
    assert not holds(condition, {"aws:EpochTime": 1719705600})
    assert holds({"DateGreaterThan": {KEY: "1719705600"}}, {KEY: 1719705601})


@pytest.mark.parametrize(
    ("operator", "results"),
    [
        ("DateEquals", (False, True, False)),
        ("DateNotEquals", (True, False, True)),
        ("DateLessThan", (True, False, False)),
        ("DateLessThanEquals", (True, True, False)),
        ("DateGreaterThan", (False, False, True)),
        ("DateGreaterThanEquals", (False, True, True)),
    ],
)
def test_date_operators(holds: Holds, operator: str, results: tuple[bool, ...]) -> None:
    """COND (Date): the six date comparisons."""
    values = ("2023-12-31T23:59:59Z", "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z")
    got = tuple(holds({operator: {KEY: "2024-01-01T00:00:00Z"}}, {KEY: v}) for v in values)
    assert got == results


# --- Bool -------------------------------------------------------------------------------------


def test_bool_given_as_json_true(holds: Holds) -> None:
    """docs/aws-notes.md / COND (Boolean): Bool values may be JSON booleans or "true"/"false"."""
    condition = {"Bool": {"kms:GrantIsForAWSResource": True}}
    assert holds(condition, {"kms:GrantIsForAWSResource": True})
    assert holds(condition, {"kms:GrantIsForAWSResource": "true"})
    assert not holds(condition, {"kms:GrantIsForAWSResource": False})


def test_bool_strings_are_case_insensitive(holds: Holds) -> None:
    """Our choice (the docs only show lower case): "true"/"false" are compared
    case-insensitively on both sides; any other string matches neither."""
    assert holds({"Bool": {"aws:SecureTransport": "TRUE"}}, {"aws:SecureTransport": "True"})
    assert holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": False})
    assert not holds({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": "yes"})


# --- Binary -----------------------------------------------------------------------------------


def test_binary_equals_compares_base64_values(holds: Holds) -> None:
    """COND (Binary): BinaryEquals "compares the value of the specified key byte for byte
    against a base-64 encoded representation of the binary value in the policy"; the request
    carries bytes (or base-64 text)."""
    encoded = base64.b64encode(b"\x00\x01secret").decode()
    assert holds({"BinaryEquals": {KEY: encoded}}, {KEY: b"\x00\x01secret"})
    assert holds({"BinaryEquals": {KEY: encoded}}, {KEY: encoded})
    assert not holds({"BinaryEquals": {KEY: encoded}}, {KEY: b"other"})


# --- IP address -------------------------------------------------------------------------------


def test_ip_address_cidr(holds: Holds) -> None:
    """COND (IP address): "The value must be in the standard CIDR format (for example,
    203.0.113.0/24 or 2001:DB8:1234:5678::/64)"."""
    condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8:1234:5678::/64"]}}
    assert holds(condition, {"aws:SourceIp": "203.0.113.77"})
    assert holds(condition, {"aws:SourceIp": "2001:db8:1234:5678::1"})
    assert not holds(condition, {"aws:SourceIp": "198.51.100.1"})
    assert not holds(condition, {"aws:SourceIp": "not-an-ip"})


def test_not_ip_address(holds: Holds) -> None:
    """COND (IP address): NotIpAddress matches addresses outside every listed range."""
    condition = {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "10.0.0.1"]}}
    assert holds(condition, {"aws:SourceIp": "198.51.100.1"})
    assert not holds(condition, {"aws:SourceIp": "10.0.0.1"})


# --- ARN --------------------------------------------------------------------------------------

ARN_KEY = "aws:SourceArn"


def test_arn_like_wildcards_stay_within_their_component(holds: Holds) -> None:
    """COND (ARN): "Each of the six colon-delimited components of the ARN is checked separately
    and each can include multi-character match wildcards (*) or single-character match
    wildcards (?)"."""
    condition = {"ArnLike": {ARN_KEY: "arn:aws:s3:::bucket-*"}}
    assert holds(condition, {ARN_KEY: "arn:aws:s3:::bucket-a/key:with:colons"})
    per_component = {"ArnLike": {ARN_KEY: "arn:aws:iam::*:role/platform"}}
    assert holds(per_component, {ARN_KEY: "arn:aws:iam::444455556666:role/platform"})
    # a whole-string '*' would swallow "1:2"; per component, the account is "1" and the
    # resource "2:role/platform", which does not match
    assert not holds(per_component, {ARN_KEY: "arn:aws:iam::1:2:role/platform"})
    region = {"ArnLike": {ARN_KEY: "arn:aws:kms:eu-west-?:*:key/*"}}
    assert holds(region, {ARN_KEY: "arn:aws:kms:eu-west-1:111122223333:key/abc"})
    assert not holds(region, {ARN_KEY: "arn:aws:kms:us-east-1:111122223333:key/abc"})


def test_aws_example_string_like_matches_where_arn_like_does_not(holds: Holds) -> None:
    """COND (ARN), the documented example: with pattern arn:aws:someservice:*:111122223333:
    finance/* "With a StringLike condition, the match succeeds ... With an ArnLike condition,
    which matches elements between colons, the match fails"."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert holds({"StringLike": {ARN_KEY: pattern}}, {ARN_KEY: value})
    assert not holds({"ArnLike": {ARN_KEY: pattern}}, {ARN_KEY: value})
    assert not holds({"ArnEquals": {ARN_KEY: pattern}}, {ARN_KEY: value})


def test_arn_like_is_case_sensitive(holds: Holds) -> None:
    """COND (ARN): "Case-sensitive matching of the ARN"."""
    assert not holds(
        {"ArnLike": {ARN_KEY: "arn:aws:iam::*:role/Platform"}},
        {ARN_KEY: "arn:aws:iam::444455556666:role/platform"},
    )


def test_arn_equals_and_not_like(holds: Holds) -> None:
    """COND (ARN): "The ArnEquals and ArnLike condition operators behave identically";
    ArnNotEquals / ArnNotLike are their negation."""
    arn = "arn:aws:iam::444455556666:role/platform"
    assert holds({"ArnEquals": {ARN_KEY: arn}}, {ARN_KEY: arn})
    assert not holds({"ArnEquals": {ARN_KEY: arn}}, {ARN_KEY: arn + "2"})
    assert not holds({"ArnNotLike": {ARN_KEY: "arn:aws:iam::*:role/*"}}, {ARN_KEY: arn})
    assert holds({"ArnNotEquals": {ARN_KEY: arn}}, {ARN_KEY: arn + "2"})


def test_arn_operator_on_a_value_that_is_not_an_arn(holds: Holds) -> None:
    """An ARN pattern never matches a value without the six ARN components."""
    assert not holds({"ArnLike": {ARN_KEY: "arn:aws:iam::*:role/*"}}, {ARN_KEY: "platform"})


# --- policy variables -------------------------------------------------------------------------


def test_policy_variable_substituted_from_request_context(holds: Holds) -> None:
    """VARS: "When the policy is evaluated, the policy variables are replaced with values that
    come from the conditional context keys passed in the request"."""
    condition = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    user = "arn:aws:iam::111122223333:user/alice"
    assert holds(condition, {"s3:prefix": "home/alice/docs"}, principal=user)
    assert not holds(condition, {"s3:prefix": "home/bob/docs"}, principal=user)


def test_policy_variable_without_value_matches_nothing(holds: Holds) -> None:
    """A variable with no value in the request matches no value: a positive operator is false,
    a negated operator is true. IAM User Guide, "IAM policy elements: Variables and tags" >
    "Policy variables with no value"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)."""
    missing = "${aws:PrincipalTag/missing}"
    assert holds({"StringNotEquals": {KEY: missing}}, {KEY: "x"})
    assert not holds({"StringEquals": {KEY: missing}}, {KEY: "x"})
    assert not holds({"StringLike": {KEY: missing}}, {KEY: "x"})
    assert holds({"StringNotLike": {KEY: missing}}, {KEY: "x"})
    assert holds({"ArnNotEquals": {ARN_KEY: "arn:aws:iam::1:role/" + missing}}, {ARN_KEY: "a"})
    # the other values of the clause still count
    assert holds({"StringEquals": {KEY: [missing, "x"]}}, {KEY: "x"})
    assert not holds({"StringNotEquals": {KEY: [missing, "x"]}}, {KEY: "x"})


def test_deny_with_negated_operator_on_unset_tag_denies() -> None:
    """A Deny with ``StringNotEquals`` against an unset ``${aws:PrincipalTag/team}`` denies: the
    variable has no value, so the negated operator matches. IAM User Guide, "IAM policy
    elements: Variables and tags" > "Policy variables with no value"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)."""
    from byok.policy import Request, evaluate, parse_policy

    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {
                        "StringNotEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}
                    },
                },
            ],
        }
    )
    caller = "arn:aws:iam::111122223333:role/app"
    untagged = Request(caller, "kms:Decrypt", context={"aws:ResourceTag/team": "blue"})
    assert evaluate(policy, untagged).decision.value == "explicit_deny"
    tagged = Request(
        caller,
        "kms:Decrypt",
        context={"aws:ResourceTag/team": "blue", "aws:PrincipalTag/team": "blue"},
    )
    assert evaluate(policy, tagged).decision.value == "allow"


def test_policy_variables_in_bool_operator(holds: Holds) -> None:
    """Policy variables are supported in the Boolean operators. IAM User Guide, "IAM JSON
    policy elements: Condition operators" > "Boolean condition operators" ("Policy variables
    - Supported")
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    condition = {"Bool": {"aws:SecureTransport": "${aws:PrincipalTag/tls}"}}
    assert holds(condition, {"aws:SecureTransport": "true", "aws:PrincipalTag/tls": "true"})
    assert not holds(condition, {"aws:SecureTransport": "true", "aws:PrincipalTag/tls": "false"})
    # a substituted value that is not a boolean matches nothing
    assert not holds(condition, {"aws:SecureTransport": "true", "aws:PrincipalTag/tls": "maybe"})
    assert not holds(condition, {"aws:SecureTransport": "true"})


def test_policy_variable_default_value(holds: Holds) -> None:
    """VARS: "${aws:userid, 'anonymous'}" falls back to the quoted default."""
    assert holds({"StringEquals": {KEY: "${aws:PrincipalTag/x, 'none'}"}}, {KEY: "none"})


def test_policy_variable_special_characters_are_literal(holds: Holds) -> None:
    """VARS: "${*} - use where you need an * (asterisk) character"."""
    assert holds({"StringLike": {KEY: "a${*}b"}}, {KEY: "a*b"})
    assert not holds({"StringLike": {KEY: "a${*}b"}}, {KEY: "axxb"})


def test_policy_variables_need_version_2012_10_17(holds: Holds) -> None:
    """VARS: variables require "Version": "2012-10-17"; in 2008-10-17 the text is literal."""
    condition = {"StringEquals": {KEY: "${aws:username}"}}
    assert holds(condition, {KEY: "${aws:username}"}, version="2008-10-17")
    assert not holds(condition, {KEY: "${aws:username}"})


def test_regex_metacharacters_in_patterns_are_literal(holds: Holds) -> None:
    """COND: only * and ? are wildcards; '.', '+', '(' and friends match themselves."""
    assert holds({"StringLike": {KEY: "a.b+(c)"}}, {KEY: "a.b+(c)"})
    assert not holds({"StringLike": {KEY: "a.b+(c)"}}, {KEY: "aXbb(c)"})
    assert not holds({"StringLike": {KEY: "a.*"}}, {KEY: "ab"})


def test_multivalued_key_cannot_be_a_policy_variable(holds: Holds) -> None:
    """VARS: a variable needs a single value; a multivalued key (or none at all, without a
    default) cannot be substituted, so that value matches nothing."""
    condition = {"StringEquals": {KEY: "${k:multi}"}}
    assert holds(condition, {KEY: "a", "k:multi": "a"})
    assert not holds(condition, {KEY: "a", "k:multi": ["a", "b"]})
    assert holds({"StringEquals": {KEY: "${k:multi, 'd'}"}}, {KEY: "d", "k:multi": ["a", "b"]})


def test_policy_variable_in_arn_like_keeps_substituted_text_literal(holds: Holds) -> None:
    """VARS: variables work in ARN operators; a substituted value is text, not a pattern."""
    condition = {"ArnLike": {ARN_KEY: "arn:aws:iam::*:role/${aws:PrincipalTag/team}-*"}}
    arn = "arn:aws:iam::444455556666:role/blue-app"
    assert holds(condition, {ARN_KEY: arn, "aws:PrincipalTag/team": "blue"})
    assert not holds(condition, {ARN_KEY: arn, "aws:PrincipalTag/team": "b*"})
    assert holds(condition, {ARN_KEY: "arn:aws:iam::1:role/b*-x", "aws:PrincipalTag/team": "b*"})


#: a value that matches only when its variable resolves, per operator (positive sense)
_VARIABLE_CASES = {
    "String": ("${aws:PrincipalTag/v}", "blue", "blue"),
    "Arn": ("arn:aws:iam::1:role/${aws:PrincipalTag/v}", "arn:aws:iam::1:role/blue", "blue"),
    "Bool": ("${aws:PrincipalTag/v}", "true", "true"),
}
_NOT_NEGATED = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
                "Bool"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_policy_variables_in_every_family_the_docs_list(holds: Holds, name: str) -> None:
    """Policy variables are supported by the String, ARN and Boolean condition operators and
    not by the Numeric, Date, Binary and IP address ones. IAM User Guide, "IAM JSON policy
    elements: Condition operators", each family's "Use of policy variables" / "Policy
    variables" note
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
    and "IAM policy elements: Variables and tags" > "Where you can use policy variables"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
    A supported family resolves the variable per request; another refuses it as a value of
    the wrong type, naming the place (never a silent literal)."""
    from byok.errors import PolicyError

    family = next((f for f in _VARIABLE_CASES if name.startswith(f)), None)
    if family is None:
        with pytest.raises(PolicyError, match=rf"Condition\.{name}\.k:x: expected"):
            holds({name: {"k:x": "${aws:PrincipalTag/v}"}}, {})
        return
    value, request_value, tag = _VARIABLE_CASES[family]
    condition = {name: {"k:x": value}}
    matched = holds(condition, {"k:x": request_value, "aws:PrincipalTag/v": tag})
    other = holds(condition, {"k:x": request_value, "aws:PrincipalTag/v": "false-other"})
    assert (matched, other) == ((True, False) if name in _NOT_NEGATED else (False, True))
