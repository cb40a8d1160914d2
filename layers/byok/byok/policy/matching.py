"""Wildcard, ARN and principal matching: the string-level rules of IAM.

Everything here is compiled once (at parse time, or once per distinct pattern thanks to
``lru_cache``) so the evaluator's hot path is a ``frozenset`` lookup or one ``re.fullmatch``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

from byok.policy.variables import LITERAL_QMARK, LITERAL_STAR

#: A compiled string test: ``matcher(value) -> bool``.
Matcher = Callable[[str], bool]

ACCOUNT_ID_RE = re.compile(r"\d{12}")
#: IAM unique ids (AROA role, AIDA user, AGPA group, ... per the IAM "Unique identifiers"
#: prefixes). A key policy shows one when the principal it named was deleted; it never matches
#: a new principal of the same name.
UNIQUE_ID_RE = re.compile(
    r"(?:ABIA|ACCA|AGPA|AIDA|AIPA|AKIA|ANPA|ANVA|APKA|AROA|ASCA|ASIA)[A-Z0-9]{12,124}"
)


def has_wildcard(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


_UNSENTINEL = str.maketrans({LITERAL_STAR: "*", LITERAL_QMARK: "?"})


def literal_text(pattern: str, templated: bool) -> str:
    """A resolved template's text with its protected ``*``/``?`` turned back into characters."""
    return pattern.translate(_UNSENTINEL) if templated else pattern


@lru_cache(maxsize=4096)
def wildcard_regex(
    pattern: str, ignore_case: bool = False, templated: bool = False
) -> re.Pattern[str]:
    """``*`` = any run of characters (including none), ``?`` = exactly one; all else literal.

    IAM documents exactly these two wildcards for actions, resources, ``StringLike`` and
    ``ArnLike``; the only escapes are the policy variables ``${*}`` and ``${?}``, which a
    resolved template carries as sentinels (``templated=True``).
    """
    parts: list[str] = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        elif templated and char == LITERAL_STAR:
            parts.append(re.escape("*"))
        elif templated and char == LITERAL_QMARK:
            parts.append(re.escape("?"))
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def compile_patterns(
    patterns: Iterable[str], *, ignore_case: bool = False, templated: bool = False
) -> Matcher:
    """One matcher for "the value matches any of these wildcard patterns" (logical OR).

    Literal patterns go into a frozenset, wildcard ones into one alternation regex, so the
    cost does not grow with the number of patterns in the common case. The matcher is a pure
    function of the patterns, so it is built once per distinct pattern list (every parse of a
    policy compiles the same ``Action`` lists again).
    """
    return _patterns_matcher(tuple(patterns), ignore_case, templated)


@lru_cache(maxsize=4096)
def _patterns_matcher(patterns: tuple[str, ...], ignore_case: bool, templated: bool) -> Matcher:
    exact: set[str] = set()
    wild: list[str] = []
    for pattern in patterns:
        norm = pattern.lower() if ignore_case else pattern
        if has_wildcard(norm):
            if set(norm) == {"*"}:
                return _always
            wild.append(norm)
        else:
            exact.add(literal_text(norm, templated))
    frozen = frozenset(exact)
    if not wild:
        if ignore_case:
            return lambda value: value.lower() in frozen
        if len(frozen) == 1:
            (only,) = frozen
            return only.__eq__
        return frozen.__contains__
    regex = _alternation(tuple(sorted(wild)), templated)
    fullmatch = regex.fullmatch
    if ignore_case:

        def match_ci(value: str) -> bool:
            low = value.lower()
            return low in frozen or fullmatch(low) is not None

        return match_ci

    def match(value: str) -> bool:
        return value in frozen or fullmatch(value) is not None

    return match


@lru_cache(maxsize=1024)
def _alternation(patterns: tuple[str, ...], templated: bool) -> re.Pattern[str]:
    return re.compile(
        "|".join(f"(?:{wildcard_regex(p, False, templated).pattern})" for p in patterns),
        re.DOTALL,
    )


def _always(value: str) -> bool:
    return True


def split_arn(value: str) -> list[str] | None:
    """The six colon-separated ARN components; the resource part keeps its own colons."""
    parts = value.split(":", 5)
    if len(parts) != 6:
        return None
    return parts


@lru_cache(maxsize=4096)
def arn_matcher(pattern: str, templated: bool = False) -> Matcher:
    """ArnLike / ArnEquals: each of the six ARN components is compared separately.

    IAM docs (condition operators, ARN): "Each of the six colon-delimited components of the ARN
    is checked separately and each can include multi-character match wildcards (*) or
    single-character match wildcards (?)". A ``*`` therefore never spans a colon between
    components (``arn:aws:kms:*:111122223333:key/*`` does not match an ``iam`` ARN), while the
    resource component (the sixth) may itself contain colons. A pattern that is not a 6-part ARN
    (e.g. ``*`` or ``arn:aws:kms:*``) is matched against the whole value as a wildcard string.
    """
    if set(pattern) == {"*"}:
        return _always
    parts = split_arn(pattern)
    if parts is None:
        fullmatch = wildcard_regex(pattern, False, templated).fullmatch
        return lambda value: fullmatch(value) is not None
    if not has_wildcard(pattern):
        return literal_text(pattern, templated).__eq__
    component_tests: list[Matcher] = []
    for part in parts:
        if has_wildcard(part):
            regex = wildcard_regex(part, False, templated)
            component_tests.append(regex.fullmatch)  # type: ignore[arg-type]
        else:
            component_tests.append(literal_text(part, templated).__eq__)
    tests = tuple(component_tests)

    def match(value: str) -> bool:
        value_parts = value.split(":", 5)
        if len(value_parts) != 6:
            return False
        return all(test(part) for test, part in zip(tests, value_parts, strict=True))

    return match


def compile_arn_patterns(patterns: Iterable[str], templated: bool = False) -> Matcher:
    """OR over several ARN patterns (see :func:`arn_matcher`), built once per distinct list."""
    return _arn_patterns_matcher(tuple(patterns), templated)


@lru_cache(maxsize=4096)
def _arn_patterns_matcher(patterns: tuple[str, ...], templated: bool) -> Matcher:
    matchers = tuple(arn_matcher(p, templated) for p in patterns)
    if len(matchers) == 1:
        return matchers[0]

    def match(value: str) -> bool:
        return any(m(value) for m in matchers)

    return match


# --- principals -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Caller:
    """A request principal, parsed once: who is calling and the identities it carries.

    ``identities`` is the chain IAM evaluates ``NotPrincipal`` against: an assumed-role session
    is the session, its role and its account; an IAM user is the user and its account.
    """

    raw: str
    #: account | user | role | assumed-role | federated-user | service | other
    kind: str
    account: str | None
    partition: str | None
    #: ``arn:<p>:iam::<acct>:role/<name>`` of an assumed-role session (path unknown) or a role
    role_arn: str | None
    #: lower-case role name, for matching a role principal against a session of that role
    role_name: str | None
    identities: tuple[str, ...]
    principal_type: str | None
    username: str | None


@lru_cache(maxsize=4096)
def parse_caller(principal: str) -> Caller:
    """Interpret a request principal: an IAM/STS ARN, a bare account id or a service name."""
    if ACCOUNT_ID_RE.fullmatch(principal):
        root = f"arn:aws:iam::{principal}:root"
        return Caller(principal, "account", principal, "aws", None, None, (root,), "Account", None)
    parts = split_arn(principal)
    if parts is not None and parts[0] == "arn":
        _, partition, service, _, account, resource = parts
        acct = account if ACCOUNT_ID_RE.fullmatch(account) else None
        root = f"arn:{partition}:iam::{account}:root"
        if service == "iam" and resource == "root":
            return Caller(
                principal, "account", acct, partition, None, None, (root,), "Account", None
            )
        if service == "iam" and resource.startswith("user/"):
            name = resource.rsplit("/", 1)[-1]
            return Caller(
                principal, "user", acct, partition, None, None, (principal, root), "User", name
            )
        if service == "iam" and resource.startswith("role/"):
            name = resource.rsplit("/", 1)[-1]
            return Caller(
                principal,
                "role",
                acct,
                partition,
                principal,
                name.lower(),
                (principal, root),
                "AssumedRole",
                None,
            )
        if service == "sts" and resource.startswith("assumed-role/"):
            pieces = resource.split("/")
            if len(pieces) >= 3:
                role_arn = f"arn:{partition}:iam::{account}:role/{pieces[1]}"
                return Caller(
                    principal,
                    "assumed-role",
                    acct,
                    partition,
                    role_arn,
                    pieces[1].lower(),
                    (principal, role_arn, root),
                    "AssumedRole",
                    None,
                )
        if service == "sts" and resource.startswith("federated-user/"):
            return Caller(
                principal,
                "federated-user",
                acct,
                partition,
                None,
                None,
                (principal, root),
                "FederatedUser",
                None,
            )
        return Caller(principal, "other", acct, partition, None, None, (principal,), None, None)
    if "." in principal and ":" not in principal and "/" not in principal:
        return Caller(
            principal.lower(), "service", None, None, None, None, (principal.lower(),), None, None
        )
    return Caller(principal, "other", None, None, None, None, (principal,), None, None)


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A compiled ``Principal`` / ``NotPrincipal`` element.

    ``everyone``: ``"*"`` or ``{"AWS": "*"}``. ``accounts``: account ids named by
    ``arn:aws:iam::ID:root`` or a bare ``ID`` (a delegation to that account's IAM policies).
    ``arns``: exact principal ARNs (users, sessions, federated, SAML providers). ``roles``:
    ``(account, lower-case role name)`` of role ARNs, which also match the role's sessions.
    ``services`` / ``others``: service principals (lower case), canonical users, federated ids.
    ``unique_ids``: ``AROA...``-style ids, kept for reporting; they match nothing.
    """

    everyone: bool
    accounts: frozenset[str]
    arns: frozenset[str]
    roles: frozenset[tuple[str, str]]
    services: frozenset[str]
    any_service: bool
    others: frozenset[str]
    unique_ids: tuple[str, ...]
    raw: object

    def match(self, caller: Caller) -> tuple[bool, bool]:
        """``(matches, delegated)`` for a ``Principal`` element."""
        if self.everyone:
            return True, False
        if caller.kind == "service":  # or a web identity provider named in Federated
            hit = self.any_service or caller.raw in self.services or caller.raw in self.others
            return hit, False
        if caller.raw in self.arns or caller.raw in self.others:
            return True, False
        if (
            caller.role_name is not None
            and caller.account is not None
            and (caller.account, caller.role_name) in self.roles
        ):
            return True, False
        if caller.account is not None and caller.account in self.accounts:
            return True, True
        return False, False

    def names_identity(self, identity: str) -> bool:
        """Whether this element lists one identity of a caller's chain (for ``NotPrincipal``).

        An account root listed in ``NotPrincipal`` names the account's own identity, not every
        principal in it; a role ARN names the role only. A role's session is named only by its
        own session ARN (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``): IAM User Guide,
        "AWS JSON policy elements: NotPrincipal" ("you must include the ARN for the
        assumed-role session"; the role ARN alone does not exempt its sessions).
        """
        if self.everyone:
            return True
        if identity in self.arns or identity in self.others:
            return True
        if ":" not in identity:  # a service principal
            return self.any_service or identity in self.services
        parts = split_arn(identity)
        if parts is None:
            return False
        resource = parts[5]
        if resource == "root":
            return parts[4] in self.accounts
        if parts[2] == "iam" and resource.startswith("role/"):
            return (parts[4], resource.rsplit("/", 1)[-1].lower()) in self.roles
        return False

    def not_match(self, caller: Caller, *, deny: bool) -> bool:
        """Whether a ``NotPrincipal`` statement applies to ``caller``.

        AWS docs (NotPrincipal with Deny): "If an assumed-role user ... is being evaluated, AWS
        might validate the account first, then the role, and then the assumed-role user", so
        the docs list the session, the role *and* the account to spare a session. We model
        that chain: a Deny applies unless every identity of the caller is listed; an Allow
        ("granted to all principals except for the ones specified") applies unless the caller
        itself is listed. Both readings err toward the documented warning, never toward an
        exemption the docs do not promise.
        """
        if deny:
            return not all(self.names_identity(identity) for identity in caller.identities)
        return not self.names_identity(caller.identities[0])
