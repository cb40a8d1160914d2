"""Both halves decide a KMS request (``byok.policy.handshake``), by AWS's cross-account rules."""

from __future__ import annotations

import json

import pytest

from byok.errors import PolicyError
from byok.policy import Decision, Request, parse_policy
from byok.policy.handshake import Side, decide, identity_from_texts

CUSTOMER, PLATFORM = "111122223333", "444455556666"
ROLE = f"arn:aws:iam::{PLATFORM}:role/byok-platform"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OWN_KEY = f"arn:aws:kms:eu-west-1:{PLATFORM}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def key_policy(principal: str, effect: str = "Allow") -> object:
    return parse_policy(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": effect,
                        "Principal": {"AWS": principal},
                        "Action": "kms:Decrypt",
                        "Resource": "*",
                    }
                ]
            }
        )
    )


def identity(*statements: dict, boundary: dict | None = None):
    texts = [(f"p{i}", json.dumps({"Statement": [s]})) for i, s in enumerate(statements)]
    return identity_from_texts(
        texts, ROLE, json.dumps({"Statement": [boundary]}) if boundary else None
    )


ALLOW = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY}
ALLOW_OWN = {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": OWN_KEY}
DENY = {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}


def req(resource: str = KEY) -> Request:
    return Request(principal=ROLE, action="kms:Decrypt", resource=resource)


@pytest.mark.parametrize(
    ("key_principal", "statements", "decision", "denied_by"),
    [
        # cross-account: both halves must allow (the key policy may name the account or role)
        (f"arn:aws:iam::{PLATFORM}:root", [ALLOW], Decision.ALLOW, ()),
        (ROLE, [ALLOW], Decision.ALLOW, ()),
        (f"arn:aws:iam::{PLATFORM}:root", [], Decision.IMPLICIT_DENY, (Side.IDENTITY,)),
        (ROLE, [], Decision.IMPLICIT_DENY, (Side.IDENTITY,)),
        (f"arn:aws:iam::{CUSTOMER}:root", [ALLOW], Decision.IMPLICIT_DENY, (Side.KEY_POLICY,)),
        (
            f"arn:aws:iam::{CUSTOMER}:root",
            [],
            Decision.IMPLICIT_DENY,
            (Side.KEY_POLICY, Side.IDENTITY),
        ),
        # an explicit Deny in an identity policy wins over both allows
        (ROLE, [ALLOW, DENY], Decision.EXPLICIT_DENY, (Side.IDENTITY,)),
    ],
)
def test_cross_account(key_principal, statements, decision, denied_by) -> None:
    got = decide(req(), key_policy(key_principal), identity(*statements))
    assert (got.decision, got.denied_by) == (decision, denied_by)


def test_an_explicit_deny_in_the_key_policy_wins() -> None:
    got = decide(req(), key_policy(ROLE, "Deny"), identity(ALLOW))
    assert got.decision is Decision.EXPLICIT_DENY and got.denied_by == (Side.KEY_POLICY,)


def test_the_permissions_boundary_must_allow_too() -> None:
    other = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    assert not decide(req(), key_policy(ROLE), identity(ALLOW, boundary=other)).allowed
    assert decide(req(), key_policy(ROLE), identity(ALLOW, boundary=ALLOW)).allowed
    denied = decide(req(), key_policy(ROLE), identity(ALLOW, boundary=DENY))
    assert denied.decision is Decision.EXPLICIT_DENY


def test_same_account_key_policy_naming_the_role_suffices() -> None:
    """One account: a key-policy statement naming the role needs no identity policy; one that
    only delegates to the account (root) needs the identity half."""
    assert decide(req(OWN_KEY), key_policy(ROLE), identity()).allowed
    root = key_policy(f"arn:aws:iam::{PLATFORM}:root")
    assert not decide(req(OWN_KEY), root, identity()).allowed
    assert decide(req(OWN_KEY), root, identity(ALLOW_OWN)).allowed
    # and the key policy is required even in one account (KMS)
    nobody = key_policy(f"arn:aws:iam::{CUSTOMER}:root")
    got = decide(req(OWN_KEY), nobody, identity(ALLOW_OWN))
    assert got.denied_by == (Side.KEY_POLICY,)


def test_unknown_key_policy_decides_the_identity_half_only() -> None:
    assert decide(req(), None, identity(ALLOW)).allowed
    assert decide(req(), None, identity()).denied_by == (Side.IDENTITY,)


def test_an_identity_policy_with_a_principal_is_refused() -> None:
    bad = json.dumps({"Statement": [{**ALLOW, "Principal": "*"}]})
    with pytest.raises(
        PolicyError, match="p: Statement\\[0\\]: an identity-based policy has no Principal"
    ):
        identity_from_texts([("p", bad)], ROLE)
