"""moto's own IAM authoriser, told which resource a request is on and who a trust policy names.

moto can decide every request by the caller's identity policies
(``set_initial_no_auth_action_count`` in process, ``POST /moto-api/reset-auth`` in server mode;
``byok_emulator.authoriser`` does either): the caller's inline and attached
policies, moto's own matcher, moto's ``AccessDenied``. byok-guard's evaluator plays no part, which
is the point: the tests that turn it on check the deployed roles against an authoriser we did not
write. Two gaps would make that useless for scoped policies, so they are filled here:

1. **Resources.** moto checks most services against ``Resource: "*"``, so a statement scoped to a
   table, bus, key, cluster or topic never matches and everything is denied. Here the request's
   resource ARN is given, as AWS's Service Authorization Reference names it: DynamoDB
   ``table/<TableName>`` (a transaction or batch: every constituent action on its table, as AWS
   authorises them), EventBridge PutEvents the ``event-bus/<name>`` of each entry, KMS the key ARN
   (a key id or alias of the caller's account resolved), RDS ``cluster:<id>``, SNS the topic ARN.
   IAM a managed policy's ARN; S3, IAM roles and STS AssumeRole already have theirs in moto; SQS
   has its queue, and its batch calls are authorised as the single action (``SendMessageBatch``
   needs ``sqs:SendMessage``).
2. **Trust policies.** moto compares a trust policy's ``Principal`` with the caller's *session*
   ARN only (and raises ``TypeError`` on a ``Service`` principal). AWS matches the role ARN of an
   assumed-role session, the user ARN, or the caller's account root. Here each of those is tried.

Not modelled by moto (documented in ``docs/emulator.md``): conditions other than ``StringEquals``
on ``sts:ExternalId`` (so ``events:source``, ``kms:ViaService``, ``aws:PrincipalArn`` are not
checked by moto; the byok.policy tests check them), permissions boundaries, resource policies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

from moto import settings as moto_settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import IAMRequest, IAMRequestBase, PermissionResult
from moto.iam.responses import IamResponse
from moto.kms.responses import KmsResponse
from moto.rds.responses import RDSResponse
from moto.sns.responses import SNSResponse
from moto.sqs.responses import SQSResponse
from moto.utilities.utils import get_partition

from ._patching import Patch

__all__ = ["PATCHES", "authoriser_on", "identity_denial", "recording"]

#: (action without the service prefix, resource ARN) pairs one request is authorised for
Checks = list[tuple[str, str]]


def authoriser_on() -> bool:
    """moto's IAM authoriser decides requests now (its no-auth request budget is spent)."""
    return ActionAuthenticatorMixin.request_count >= moto_settings.INITIAL_NO_AUTH_ACTION_COUNT


def _arn(response: Any, service: str, resource: str, *, account: str | None = None) -> str:
    partition = get_partition(response.region)
    owner = account if account is not None else response.current_account
    return f"arn:{partition}:{service}:{response.region}:{owner}:{resource}"


# --- resources per service ------------------------------------------------------------------


_DYNAMODB_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}


def _table_arn(response: Any, name: str) -> str:
    return name if name.startswith("arn:") else _arn(response, "dynamodb", f"table/{name}")


def _dynamodb(response: Any) -> Checks | None:
    action = response._get_action()
    params = getattr(response, "params", None) or {}
    if action == "TransactWriteItems":
        checks: Checks = []
        for item in params.get("TransactItems") or []:
            for kind, body in item.items():
                iam_action = _DYNAMODB_TRANSACT.get(kind, "ConditionCheckItem")
                checks.append((iam_action, _table_arn(response, body["TableName"])))
        return checks
    if action == "TransactGetItems":
        return [
            ("GetItem", _table_arn(response, item["Get"]["TableName"]))
            for item in params.get("TransactItems") or []
        ]
    if action in ("BatchGetItem", "BatchWriteItem"):
        return [(action, _table_arn(response, t)) for t in params.get("RequestItems") or {}]
    table = params.get("TableName")
    if isinstance(table, str):
        return [(action, _table_arn(response, table))]
    return None


def _events(response: Any) -> Checks | None:
    if response._get_action() != "PutEvents":
        return None
    checks: Checks = []
    for entry in response._get_param("Entries") or []:
        bus = entry.get("EventBusName") or "default"
        arn = bus if bus.startswith("arn:") else _arn(response, "events", f"event-bus/{bus}")
        checks.append(("PutEvents", arn))
    return checks or None


def _kms(response: Any) -> Checks | None:
    try:
        params = json.loads(response.body or "{}")
    except ValueError:
        return None
    if not isinstance(params, dict):
        return None
    key = params.get("KeyId") or params.get("DestinationKeyId")
    if not isinstance(key, str):
        return None
    action = response._get_action()
    if key.startswith("arn:") and ":key/" in key:
        return [(action, key)]
    own = response.kms_backend
    try:
        key_id = own.get_key_id(key)
        if key_id.startswith("alias/"):
            key_id = own.get_key_id_from_alias(key_id) or ""
    except Exception:
        return None
    if key_id in own.keys:
        return [(action, own.keys[key_id].arn)]
    return None


def _rds(response: Any) -> Checks | None:
    cluster = response._get_param("DBClusterIdentifier")
    if not isinstance(cluster, str):
        return None
    arn = cluster if cluster.startswith("arn:") else _arn(response, "rds", f"cluster:{cluster}")
    return [(response._get_action(), arn)]


def _sns(response: Any) -> Checks | None:
    topic = response._get_param("TopicArn")
    return [(response._get_action(), topic)] if isinstance(topic, str) else None


#: SQS batch calls are authorised as their single action (there is no sqs:SendMessageBatch)
_SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _sqs(response: Any) -> Checks | None:
    action = response._get_action()
    return [(_SQS_BATCH.get(action, action), response._determine_resource())]


def _iam(response: Any) -> Checks | None:
    """A managed policy's ARN (moto knows only roles: everything else is checked against ``*``)."""
    policy = response._get_param("PolicyArn")
    if isinstance(policy, str):
        return [(response._get_action(), policy)]
    return None


def _authorise_each(checks_of: Callable[[Any], Checks | None]) -> Callable[[Any], Any]:
    def factory(original: Callable[..., None]) -> Callable[..., None]:
        def authorise(self: Any, resource: str = "*") -> None:
            if not authoriser_on():
                original(self, resource)  # counts the request towards moto's no-auth budget
                return
            checks = checks_of(self)
            if not checks:
                original(self, resource)
                return
            parsed = urlparse(self.uri)
            path = self.raw_path + (f"?{parsed.query}" if parsed.query else "")
            for action, arn in checks:
                request = IAMRequest(
                    account_id=self.current_account,
                    method=self.method,
                    path=path,
                    data=self.data,
                    body=self.raw_body,
                    headers=self.headers,
                    action=action,
                )
                request.check_signature()
                try:
                    request.check_action_permitted(arn)
                except AccessDeniedError:
                    raise _access_denied(self, request, arn) from None

        authorise.__wrapped__ = original  # type: ignore[attr-defined]
        return authorise

    return factory


_JSON_SERVICES = frozenset({"dynamodb", "events", "kms", "sqs"})


def _denial_message(principal: str, action: str, resource: str, explicit: bool) -> str:
    """AWS's wording for an identity-side denial (IAM "access denied error messages")."""
    reason = (
        "with an explicit deny in an identity-based policy"
        if explicit
        else f"because no identity-based policy allows the {action} action"
    )
    return (
        f"User: {principal} is not authorized to perform: {action} on resource: {resource} {reason}"
    )


def _explicitly_denied(key: Any, action: str, resource: str) -> bool:
    from moto.iam.access_control import IAMPolicy

    return any(
        IAMPolicy(policy).is_action_permitted(action, resource) == PermissionResult.DENIED
        for policy in key.collect_policies()
    )


def _access_denied(response: Any, request: IAMRequest, resource: str) -> Exception:
    """The denial as the service answers it: JSON protocols ``AccessDeniedException`` with AWS's
    message (moto sends an XML ``AccessDenied`` botocore cannot read for them)."""
    action = request._action
    explicit = _explicitly_denied(request._access_key, action, resource)
    message = _denial_message(request._access_key.arn, action, resource, explicit)
    if request._service in _JSON_SERVICES:
        return JsonRESTError("AccessDeniedException", message)
    return AccessDeniedError(user_arn=request._access_key.arn, action=action)


def identity_denial(response: Any, action: str, resource: str) -> str | None:
    """Why the requester's identity policies refuse ``action`` on ``resource`` (moto decides),
    or None. For calls a service makes on the requester's behalf (S3 -> KMS), which moto never
    authorises itself; only while the authoriser is on."""
    if not authoriser_on():
        return None
    from moto.iam.access_control import IAMPolicy, create_access_key

    try:
        key = create_access_key(
            response.current_account,
            get_partition(response.region),
            response.access_key,
            response.headers,
        )
    except Exception:
        return None  # moto's own check of the S3 request already refused unknown keys
    _record(key.arn, action, resource)
    results = [IAMPolicy(p).is_action_permitted(action, resource) for p in key.collect_policies()]
    if PermissionResult.DENIED in results:
        return _denial_message(key.arn, action, resource, explicit=True)
    if PermissionResult.PERMITTED in results:
        return None
    return _denial_message(key.arn, action, resource, explicit=False)


# --- trust policies ---------------------------------------------------------------------------


def _principal_candidates(request: IAMRequestBase) -> list[str]:
    """What a trust policy's ``Principal: {"AWS": ...}`` may name for this caller."""
    key = request._access_key
    arn = key.arn
    account = request.account_id
    partition = get_partition(request._region)
    out = [arn, f"arn:{partition}:iam::{account}:root"]
    role_name = getattr(key, "_owner_role_name", None)
    if role_name:
        try:
            out.insert(1, request.backend.get_role(role_name).arn)
        except Exception:
            out.insert(1, f"arn:{partition}:iam::{account}:role/{role_name}")
    return out


def _account_root(name: str, request: IAMRequestBase) -> str:
    """A bare account id in a principal means that account's root."""
    if name.isdigit() and len(name) == 12:
        return f"arn:{get_partition(request._region)}:iam::{name}:root"
    return name


def _trust(original: Callable[..., bool]) -> Callable[..., bool]:
    def check_role_trust_relationship(self: IAMRequestBase, role_arn: str) -> bool:
        from moto.iam.access_control import IAMPolicy
        from moto.iam.utils import format_incoming_conditional_values

        role = self.backend.get_role_by_arn(role_arn)
        document = json.loads(role.assume_role_policy_document)
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        # a statement naming only services (lambda.amazonaws.com) never admits an IAM principal;
        # AWS principals as a list of ARNs (moto tests a string with ``in``: a substring match)
        aws_statements = []
        for statement in statements:
            principal = statement.get("Principal")
            if principal == "*" or principal == {"AWS": "*"}:
                aws_statements.append({**statement, "Principal": {"AWS": "*"}})
            elif isinstance(principal, dict) and "AWS" in principal:
                names = (
                    principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
                )
                arns = [_account_root(n, self) for n in names]
                aws_statements.append({**statement, "Principal": {"AWS": arns}})
        conditions = format_incoming_conditional_values(self._data)
        # one statement at a time: moto answers DENIED (not "no match") for another principal
        for statement in aws_statements:
            if statement.get("Effect") != "Allow":
                continue  # trust-policy Deny statements are not modelled
            policy = IAMPolicy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
            for candidate in _principal_candidates(self):
                result = policy.is_action_permitted(self._action, role_arn, candidate, conditions)
                if result == PermissionResult.PERMITTED:
                    return True
        return False

    check_role_trust_relationship.__wrapped__ = original  # type: ignore[attr-defined]
    return check_role_trust_relationship


# --- recording (which calls each principal made: the declared-permissions test) -----------------

_recorders: list[list[tuple[str, str, str]]] = []


@contextmanager
def recording() -> Iterator[list[tuple[str, str, str]]]:
    """Collect ``(principal ARN, action, resource)`` of every request moto's authoriser decides
    (and of S3's calls to KMS on the requester's behalf) while the block runs."""
    calls: list[tuple[str, str, str]] = []
    _recorders.append(calls)
    try:
        yield calls
    finally:
        _recorders.remove(calls)


def _record(principal: str, action: str, resource: str) -> None:
    for calls in _recorders:
        calls.append((principal, action, resource))


def _recorded(original: Callable[..., None]) -> Callable[..., None]:
    def check_action_permitted(self: IAMRequestBase, resource: str) -> None:
        _record(self._access_key.arn, self._action, resource)
        original(self, resource)

    check_action_permitted.__wrapped__ = original  # type: ignore[attr-defined]
    return check_action_permitted


def _patch(owner: type, checks_of: Callable[[Any], Checks | None], service: str) -> Patch:
    return Patch(
        owner,
        "_authenticate_and_authorize_normal_action",
        _authorise_each(checks_of),
        why=f"moto's IAM authoriser checks {service} requests against their resource ARN",
    )


PATCHES: list[Patch] = [
    _patch(DynamoHandler, _dynamodb, "DynamoDB"),
    _patch(EventsHandler, _events, "EventBridge"),
    _patch(KmsResponse, _kms, "KMS"),
    _patch(RDSResponse, _rds, "RDS"),
    _patch(SNSResponse, _sns, "SNS"),
    _patch(SQSResponse, _sqs, "SQS"),
    _patch(IamResponse, _iam, "IAM"),
    Patch(
        IAMRequestBase,
        "check_action_permitted",
        _recorded,
        why="the declared-permissions test records what each principal called",
    ),
    Patch(
        IAMRequestBase,
        "_check_role_trust_relationship",
        _trust,
        why="a trust policy naming a role, user or account admits that caller (moto: session ARN)",
    ),
]
