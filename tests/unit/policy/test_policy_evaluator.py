"""Evaluation logic, principals, actions and resources, cited from the AWS documentation.

Sources: IAM User Guide "Policy evaluation logic" (EVAL), "IAM JSON policy elements:
Principal" (PRINC), "NotPrincipal" (NOTPRINC), "NotAction" (NOTACT), "NotResource" (NOTRES),
"Action" (ACT); KMS Developer Guide "Key policies in AWS KMS" (KMS); docs/aws-notes.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from byok.policy import Decision, Evaluation, Request, evaluate, parse_policy

CUSTOMER = "111122223333"
PLATFORM = "444455556666"
OTHER = "999999999999"
ROLE = f"arn:aws:iam::{PLATFORM}:role/platform"
SESSION = f"arn:aws:sts::{PLATFORM}:assumed-role/platform/worker"
KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/0000abcd-12ab-34cd-56ef-1234567890ab"


def statement(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def run(statements: list[dict[str, Any]], request: Request) -> Evaluation:
    return evaluate(parse_policy({"Version": "2012-10-17", "Statement": statements}), request)


def decision(statements: list[dict[str, Any]], principal: str, **kw: Any) -> Decision:
    kw.setdefault("action", "kms:Decrypt")
    return run(statements, Request(principal, **kw)).decision


# --- decision logic ---------------------------------------------------------------------------


def test_no_matching_statement_is_implicit_deny() -> None:
    """EVAL: "By default, all requests are implicitly denied"."""
    result = run([statement(Action="kms:Encrypt")], Request(SESSION, "kms:Decrypt"))
    assert result.decision is Decision.IMPLICIT_DENY
    assert result.statements == ()
    assert result.to_dict() == {"decision": "implicit_deny", "statements": []}


def test_explicit_deny_overrides_allow_and_names_all_denies() -> None:
    """EVAL: "An explicit deny in any policy overrides any allows"; the answer names every
    matching Deny statement and no Allow."""
    statements = [
        statement(Sid="A"),
        statement(Sid="D1", Effect="Deny"),
        statement(Effect="Deny", Action="kms:*"),
    ]
    result = run(statements, Request(SESSION, "kms:Decrypt"))
    assert result.decision is Decision.EXPLICIT_DENY
    assert [(m.index, m.label, m.effect) for m in result.statements] == [
        (1, "D1", "Deny"),
        (2, "Statement[2]", "Deny"),
    ]


def test_allow_names_every_matching_allow() -> None:
    statements = [statement(Sid="One"), statement(Action="kms:*"), statement(Action="s3:*")]
    result = run(statements, Request(SESSION, "kms:Decrypt"))
    assert result.decision is Decision.ALLOW
    assert [m.label for m in result.statements] == ["One", "Statement[1]"]
    assert result.to_dict()["statements"][1] == {
        "index": 1,
        "sid": None,
        "label": "Statement[1]",
        "effect": "Allow",
        "delegated": False,
    }


# --- actions ----------------------------------------------------------------------------------


def test_action_names_are_case_insensitive() -> None:
    """ACT: action names are not case-sensitive ("kms:decrypt" = "KMS:Decrypt")."""
    assert decision([statement(Action="KMS:DECRYPT")], SESSION, action="kms:decrypt") == "allow"


def test_action_wildcards() -> None:
    """ACT: wildcards * and ? in action names."""
    statements = [statement(Action=["kms:Generate*", "kms:?ncrypt"])]
    assert decision(statements, SESSION, action="kms:GenerateDataKeyWithoutPlaintext") == "allow"
    assert decision(statements, SESSION, action="kms:Encrypt") == "allow"
    assert decision(statements, SESSION, action="kms:ReEncryptFrom") == "implicit_deny"


def test_not_action_matches_everything_but_the_listed_actions() -> None:
    """NOTACT: "NotAction ... matches everything except the specified list of actions"."""
    statements = [statement(Action=None, NotAction=["kms:ScheduleKeyDeletion", "kms:Disable*"])]
    assert decision(statements, SESSION, action="kms:Decrypt") == "allow"
    assert decision(statements, SESSION, action="kms:DisableKey") == "implicit_deny"
    assert decision(statements, SESSION, action="KMS:schedulekeydeletion") == "implicit_deny"


def test_deny_with_not_action_denies_all_other_actions() -> None:
    """NOTACT with Deny: denies every action not listed."""
    statements = [
        statement(Action="kms:*"),
        statement(Effect="Deny", Action=None, NotAction="kms:Decrypt"),
    ]
    assert decision(statements, SESSION, action="kms:Decrypt") == "allow"
    assert decision(statements, SESSION, action="kms:Encrypt") == "explicit_deny"


# --- resources --------------------------------------------------------------------------------


def test_resource_star_matches_this_key_and_any_arn() -> None:
    """KMS: "In a key policy, the value of the Resource element is "*", which means "this KMS
    key""."""
    assert decision([statement()], SESSION) == "allow"
    assert decision([statement()], SESSION, resource=KEY) == "allow"


def test_resource_of_another_key_does_not_match() -> None:
    """A statement whose Resource names another key does not apply to this key."""
    statements = [statement(Resource=OTHER_KEY)]
    assert decision(statements, SESSION, resource=KEY) == "implicit_deny"
    assert decision(statements, SESSION, resource=OTHER_KEY) == "allow"
    # resource=None ("this key", ARN unknown) is matched only by '*'
    assert decision(statements, SESSION) == "implicit_deny"


def test_resource_patterns_match_per_arn_component() -> None:
    statements = [statement(Resource=f"arn:aws:kms:*:{CUSTOMER}:key/*")]
    assert decision(statements, SESSION, resource=KEY) == "allow"
    assert decision(statements, SESSION, resource=KEY.replace(CUSTOMER, OTHER)) == "implicit_deny"


def test_not_resource_matches_everything_but_the_listed_resources() -> None:
    """NOTRES: "NotResource ... matches every resource except those specified"."""
    statements = [statement(Resource=None, NotResource=OTHER_KEY)]
    assert decision(statements, SESSION, resource=KEY) == "allow"
    assert decision(statements, SESSION, resource=OTHER_KEY) == "implicit_deny"
    assert decision([statement(Resource=None, NotResource="*")], SESSION) == "implicit_deny"


def test_resource_policy_variable() -> None:
    """VARS: "You can use a policy variable in the Resource element, but only in the resource
    portion of the ARN"."""
    statements = [statement(Resource="arn:aws:s3:::home/${aws:username}/*")]
    alice = f"arn:aws:iam::{CUSTOMER}:user/alice"
    assert decision(statements, alice, resource="arn:aws:s3:::home/alice/x") == "allow"
    assert decision(statements, alice, resource="arn:aws:s3:::home/bob/x") == "implicit_deny"
    # a role session has no aws:username: the statement is invalid, hence does not apply
    assert decision(statements, SESSION, resource="arn:aws:s3:::home/alice/x") == "implicit_deny"


def test_resource_and_not_resource_entries_with_an_unset_variable_match_no_resource() -> None:
    """A ``Resource`` / ``NotResource`` entry whose policy variable has no value in the request
    matches no resource: an Allow naming ``key/${aws:PrincipalTag/key}`` allows an untagged
    caller nothing, and a Deny with ``NotResource`` on it denies an untagged caller every key
    (nothing is excepted). IAM User Guide, "IAM policy elements: Variables and tags" > "Policy
    variables with no value"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html)."""
    templated = f"arn:aws:kms:eu-west-1:{CUSTOMER}:key/${{aws:PrincipalTag/key}}"
    key_id = KEY.rsplit("/", 1)[1]
    allow = [statement(Resource=templated)]
    assert decision(allow, SESSION, resource=KEY) == "implicit_deny"
    tagged = {"aws:PrincipalTag/key": key_id}
    assert decision(allow, SESSION, resource=KEY, context=tagged) == "allow"
    guard = [statement(), statement(Effect="Deny", Resource=None, NotResource=templated)]
    assert decision(guard, SESSION, resource=KEY) == "explicit_deny"
    assert decision(guard, SESSION, resource=KEY, context=tagged) == "allow"
    assert decision(guard, SESSION, resource=OTHER_KEY, context=tagged) == "explicit_deny"


# --- principals -------------------------------------------------------------------------------


def test_principal_star_without_conditions_allows_everyone() -> None:
    """docs/aws-notes.md: "Principal: "*" without conditions opens the key to everyone"."""
    for who in (SESSION, f"arn:aws:iam::{OTHER}:user/eve", OTHER, "s3.amazonaws.com"):
        assert decision([statement()], who) == "allow", who


def test_aws_star_principal_is_equivalent_to_star() -> None:
    """PRINC: "Principal": {"AWS": "*"} is equivalent to "Principal": "*"."""
    statements = [statement(Principal={"AWS": "*"})]
    assert decision(statements, f"arn:aws:iam::{OTHER}:user/eve") == "allow"


def test_principal_star_limited_by_account_condition() -> None:
    """EVAL + COND: a wildcard principal narrowed by aws:PrincipalAccount (derived from the
    caller, see "aws:PrincipalAccount" in global condition keys)."""
    statements = [
        statement(
            Condition={"StringEquals": {"aws:PrincipalAccount": PLATFORM}},
        )
    ]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, f"arn:aws:sts::{OTHER}:assumed-role/platform/w") == "implicit_deny"
    # the request context, when given, wins over the derived value
    assert (
        decision(statements, "s3.amazonaws.com", context={"aws:PrincipalAccount": PLATFORM})
        == "allow"
    )


def test_explicit_deny_string_not_equals_principal_account() -> None:
    """A Deny with StringNotEquals on aws:PrincipalAccount shuts out every other account, but
    not the listed ones (NOR over values)."""
    statements = [
        statement(Principal={"AWS": f"arn:aws:iam::{CUSTOMER}:root"}, Action="kms:*"),
        statement(Principal={"AWS": ROLE}),
        statement(
            Sid="DenyOthers",
            Effect="Deny",
            Action="kms:*",
            Condition={"StringNotEquals": {"aws:PrincipalAccount": [CUSTOMER, PLATFORM]}},
        ),
    ]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, f"arn:aws:iam::{CUSTOMER}:user/admin") == "allow"
    result = run(
        statements, Request(f"arn:aws:sts::{OTHER}:assumed-role/platform/w", "kms:Decrypt")
    )
    assert result.decision is Decision.EXPLICIT_DENY
    assert [m.label for m in result.statements] == ["DenyOthers"]
    # a service principal has no aws:PrincipalAccount: negated operator on a missing key = true
    assert decision(statements, "s3.amazonaws.com") == "explicit_deny"


@pytest.mark.parametrize("principal", [f"arn:aws:iam::{PLATFORM}:root", PLATFORM])
def test_account_principal_delegates_to_every_principal_of_the_account(principal: str) -> None:
    """docs/aws-notes.md / KMS: the principal arn:aws:iam::ID:root (or the bare ID) "delegates to
    that
    account's IAM policies; it does not mean the root user"."""
    statements = [statement(Principal={"AWS": principal})]
    for who in (SESSION, f"arn:aws:iam::{PLATFORM}:user/u", f"arn:aws:iam::{PLATFORM}:root"):
        result = run(statements, Request(who, "kms:Decrypt"))
        assert result.decision is Decision.ALLOW, who
        assert result.statements[0].delegated is True
        assert result.delegated is True
    assert decision(statements, f"arn:aws:iam::{OTHER}:user/u") == "implicit_deny"


def test_direct_principal_is_not_delegated() -> None:
    result = run([statement(Principal={"AWS": [ROLE, PLATFORM]})], Request(SESSION, "kms:Decrypt"))
    assert result.statements[0].delegated is False
    assert result.delegated is False


def test_assumed_role_session_matches_the_role_principal() -> None:
    """PRINC (role sessions): a role ARN principal matches sessions of that role; the session
    ARN drops the role path, so the match is by account and role name."""
    statements = [statement(Principal={"AWS": f"arn:aws:iam::{PLATFORM}:role/app/platform"})]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, f"arn:aws:sts::{PLATFORM}:assumed-role/other/w") == "implicit_deny"
    assert decision(statements, f"arn:aws:sts::{OTHER}:assumed-role/platform/w") == "implicit_deny"


def test_session_principal_matches_only_that_session() -> None:
    """PRINC: "Role session principals" name one session."""
    statements = [statement(Principal={"AWS": SESSION})]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, SESSION + "2") == "implicit_deny"


def test_unique_id_principal_matches_nothing() -> None:
    """docs/aws-notes.md: a deleted role's principal is stored as its unique id (AROA...): "such a
    statement no longer matches the recreated role"."""
    statements = [statement(Principal={"AWS": ["AROA1234567890EXAMPLE", "AIDAJQABLZS4A3QDU576Q"]})]
    for who in (SESSION, ROLE, f"arn:aws:iam::{PLATFORM}:user/u", PLATFORM):
        assert decision(statements, who) == "implicit_deny", who


def test_service_principal() -> None:
    """PRINC (service principals): {"Service": "s3.amazonaws.com"} matches that service only."""
    statements = [statement(Principal={"Service": ["s3.amazonaws.com"]})]
    assert decision(statements, "s3.amazonaws.com") == "allow"
    assert decision(statements, "rds.amazonaws.com") == "implicit_deny"
    assert decision(statements, SESSION) == "implicit_deny"


def test_user_and_federated_principals() -> None:
    saml = f"arn:aws:iam::{PLATFORM}:saml-provider/corp"
    statements = [
        statement(Principal={"AWS": f"arn:aws:iam::{PLATFORM}:user/alice", "Federated": saml})
    ]
    assert decision(statements, f"arn:aws:iam::{PLATFORM}:user/alice") == "allow"
    assert decision(statements, saml) == "allow"
    web = [statement(Principal={"Federated": "cognito-identity.amazonaws.com"})]
    assert decision(web, "cognito-identity.amazonaws.com") == "allow"
    assert decision(web, "s3.amazonaws.com") == "implicit_deny"
    assert decision(statements, f"arn:aws:iam::{PLATFORM}:user/bob") == "implicit_deny"


def test_not_principal_with_deny_spares_only_fully_listed_identities() -> None:
    """NOTPRINC: with Deny, "the actions ... are explicitly denied to all principals except for
    the ones specified"; for an assumed-role session the docs require listing the session (or
    role) and the account: every identity of the caller must be listed to be spared."""
    deny_others = statement(
        Effect="Deny",
        Principal=None,
        NotPrincipal={"AWS": [ROLE, f"arn:aws:iam::{PLATFORM}:root", SESSION]},
    )
    statements = [statement(), deny_others]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, f"arn:aws:iam::{PLATFORM}:user/u") == "explicit_deny"
    assert decision(statements, f"arn:aws:sts::{OTHER}:assumed-role/platform/w") == "explicit_deny"
    # without the account the account identity is denied
    role_only = statement(Effect="Deny", Principal=None, NotPrincipal={"AWS": ROLE})
    assert decision([statement(), role_only], SESSION) == "explicit_deny"


def test_not_principal_deny_spares_a_session_only_by_its_session_arn() -> None:
    """NotPrincipal in a Deny exempts a role's session only when the session ARN
    (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``) is listed; the role ARN alone does not.
    IAM User Guide, "AWS JSON policy elements: NotPrincipal" > "Specifying NotPrincipal with
    Deny" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html)."""
    role_and_account = statement(
        Effect="Deny", Principal=None, NotPrincipal={"AWS": [ROLE, PLATFORM]}
    )
    assert decision([statement(), role_and_account], SESSION) == "explicit_deny"
    with_session = statement(
        Effect="Deny", Principal=None, NotPrincipal={"AWS": [ROLE, PLATFORM, SESSION]}
    )
    assert decision([statement(), with_session], SESSION) == "allow"
    other_session = SESSION.rsplit("/", 1)[0] + "/another"
    assert decision([statement(), with_session], other_session) == "explicit_deny"
    # Allow + NotPrincipal: the role ARN alone does not name its session either
    allow_but_role = statement(Principal=None, NotPrincipal={"AWS": ROLE})
    assert decision([allow_but_role], SESSION) == "allow"
    assert decision([allow_but_role], ROLE) == "implicit_deny"


def test_not_principal_with_allow_allows_everyone_else() -> None:
    """NOTPRINC: with Allow, "the permissions ... will be granted to all principals except for
    the ones specified"."""
    statements = [statement(Principal=None, NotPrincipal={"AWS": f"arn:aws:iam::{OTHER}:user/e"})]
    assert decision(statements, SESSION) == "allow"
    assert decision(statements, f"arn:aws:iam::{OTHER}:user/e") == "implicit_deny"


# --- derived context keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("aws:PrincipalAccount", PLATFORM),
        ("kms:CallerAccount", PLATFORM),
        ("aws:PrincipalArn", ROLE),
        ("aws:PrincipalType", "AssumedRole"),
    ],
)
def test_principal_keys_derived_from_an_assumed_role_session(key: str, value: str) -> None:
    """Global condition keys: aws:PrincipalArn of an assumed-role session is the role ARN;
    aws:PrincipalAccount / kms:CallerAccount are the caller's account."""
    statements = [statement(Condition={"StringEquals": {key: value}})]
    assert decision(statements, SESSION) == "allow"


def test_principal_type_and_username_for_users_and_accounts() -> None:
    users = [statement(Condition={"StringEquals": {"aws:PrincipalType": "User"}})]
    assert decision(users, f"arn:aws:iam::{PLATFORM}:user/u") == "allow"
    root = [statement(Condition={"StringEquals": {"aws:PrincipalType": "Account"}})]
    assert decision(root, PLATFORM) == "allow"
    assert decision(root, f"arn:aws:iam::{PLATFORM}:root") == "allow"


def test_request_context_overrides_derived_keys() -> None:
    statements = [statement(Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}})]
    assert decision(statements, SESSION) == "implicit_deny"
    assert decision(statements, SESSION, context={"AWS:PRINCIPALACCOUNT": OTHER}) == "allow"
