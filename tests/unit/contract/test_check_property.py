"""Property: ``check`` of ``render`` output is ``pass`` for both purposes and any valid key ARN /
platform role ARN (issue 2 acceptance), full policy or statements only, with or without the
health-check statement."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from byok.contract import check_policy, render_policy, render_statements
from byok.identifiers import KeyArn, RoleArn, partition_for

REGIONS = (
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "sa-east-1",
    "cn-north-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-isob-east-1",
    "eu-central-2",
    "il-central-1",
    "eu-isoe-west-1",
    "us-isof-south-1",
    "eusc-de-east-1",
)
accounts = st.from_regex(r"\A[0-9]{12}\Z")
hex_ = "0123456789abcdef"
key_ids = st.one_of(
    st.uuids().map(str),
    st.text(hex_, min_size=32, max_size=32).map(lambda h: f"mrk-{h}"),
)
name_chars = st.sampled_from(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+=,.@-"
)
role_names = st.text(name_chars, min_size=1, max_size=64)
path_segments = st.lists(st.text(name_chars, min_size=1, max_size=12), max_size=3)


@st.composite
def parties(draw: st.DrawFn) -> tuple[str, str, str]:
    region = draw(st.sampled_from(REGIONS))
    partition = partition_for(region)  # an ARN's partition is its region's
    customer = draw(accounts)
    platform = draw(accounts.filter(lambda a: a != customer))
    key = f"arn:{partition}:kms:{region}:{customer}:key/{draw(key_ids)}"
    segments = draw(path_segments)
    path = "/" + "".join(f"{s}/" for s in segments)
    role = f"arn:{partition}:iam::{platform}:role{path}{draw(role_names)}"
    # the generators only produce what the project's identifier parsers accept
    assert str(KeyArn.parse(key)) == key
    assert str(RoleArn.parse(role)) == role
    return draw(st.sampled_from(("s3", "aurora"))), key, role


@settings(max_examples=300, deadline=None)
@given(parties(), st.booleans(), st.booleans())
def test_check_of_render_passes_for_any_valid_arns(
    drawn: tuple[str, str, str], full: bool, health_checks: bool
) -> None:
    purpose, key, role = drawn
    policy = render_policy(purpose, key, role, full=full, health_checks=health_checks)
    report = check_policy(policy, purpose, key, role)
    assert report.verdict == "pass", report.to_text()
    assert [c.id for c in report.checks] == [
        "required-access",
        "no-public-access",
        "no-direct-access",
        "no-other-service",
        "principal-scope",
        "grants-for-aws-resources-only",
    ]
    assert report.health_checks is health_checks


@settings(max_examples=100, deadline=None)
@given(parties())
def test_statements_alone_wrapped_in_a_policy_pass(drawn: tuple[str, str, str]) -> None:
    purpose, key, role = drawn
    policy = {"Version": "2012-10-17", "Statement": render_statements(purpose, key, role)}
    assert check_policy(policy, purpose, key, role).verdict == "pass"
