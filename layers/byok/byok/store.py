"""DynamoDB registry of environments, their key / cluster claims, health flags and audit records.

Modelled on the Powertools idempotency persistence layer: an injected boto3 client (a default is
created lazily, so importing this module costs nothing), every invariant guarded by a condition
expression evaluated by DynamoDB itself (never read-then-write), and ``ConditionalCheckFailed``
turned into a domain error (``ConflictError``, ``StaleWriteError``). Rows become models here, at
the edge; nothing else in byok-guard sees DynamoDB attribute values.

Table layout (``template.yaml`` mirrors it; see ``create_tables``)::

    environments  pk (S, HASH) + sk (S, RANGE)
        ENV#<id>                     META    the environment
        ENV#<id>                     HEALTH  its health flag
        ENV#<id>                     ONCE#<step>  a remediation step that ran (exactly once)
        KEY#<key arn>                CLAIM   which environment (and purpose) owns a key
        CLUSTER#<region>#<cluster>   CLAIM   which environment owns an Aurora cluster
    audit         pk = ENV#<id> (S, HASH), sk = <time>#<uuid> (S, RANGE)
    idempotency   id (S, HASH), TTL on ``expiration`` (Powertools defaults)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from byok.errors import (
    ByokError,
    ConflictError,
    InputError,
    NotFoundError,
    StaleWriteError,
    TransientError,
)
from byok.health import HealthFlag, parse_time
from byok.models import Environment, Purpose

__all__ = ["Store", "create_tables", "time_key"]

META: Final = "META"
HEALTH: Final = "HEALTH"
CLAIM: Final = "CLAIM"
ONCE: Final = "ONCE"

_TRANSIENT_CODES: Final = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)

#: attributes of the flag item that are not flag fields
_FLAG_ROW_ONLY: Final = ("pk", "sk", "kind", "checked_at_key", "based_on_checked_at")


def env_pk(environment_id: str) -> str:
    return f"ENV#{environment_id}"


def key_pk(key_arn: str) -> str:
    return f"KEY#{key_arn}"


def cluster_pk(region: str, cluster_id: str) -> str:
    return f"CLUSTER#{region}#{cluster_id}"


def time_key(value: str) -> str:
    """A fixed-width UTC form of an ISO time, so string order is time order in DynamoDB.

    ``...:24Z`` and ``...:24.5Z`` would compare the wrong way as given; both become
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` here.
    """
    return parse_time(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Store:
    """Registry, flags and audit trail on two DynamoDB tables (see the module docstring)."""

    def __init__(self, environments_table: str, audit_table: str, client: Any = None) -> None:
        self.environments_table = environments_table
        self.audit_table = audit_table
        self._client = client
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        self._ser = TypeSerializer()
        self._de = TypeDeserializer()

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            with _aws("create the DynamoDB client"):
                self._client = boto3.client("dynamodb")
        return self._client

    # ---- conversion at the edge ----------------------------------------------------------

    def _item(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in values.items()}

    def _plain(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    @staticmethod
    def _environment(row: Mapping[str, Any]) -> Environment:
        fields = Environment.__dataclass_fields__
        return Environment.create(**{name: row.get(name) for name in fields})

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        with _aws(f"read {pk} {sk} from {self.environments_table}"):
            out = self.client.get_item(
                TableName=self.environments_table,
                Key=self._item({"pk": pk, "sk": sk}),
                ConsistentRead=True,
            )
        return self._plain(out["Item"]) if "Item" in out else None

    # ---- environments ---------------------------------------------------------------------

    def register(self, env: Environment) -> None:
        """Store ``env`` and claim its two keys and its cluster, all or nothing.

        One transaction with ``attribute_not_exists(pk)`` on every item: a duplicate id, a key
        used by any environment (for either purpose) or a cluster already claimed cancels the
        whole transaction, so no partial registration is ever left behind.
        """
        if env.s3_key_arn == env.aurora_key_arn:
            raise ConflictError(
                f"aurora_key_arn: key {env.aurora_key_arn} is also the s3 key of environment "
                f"{env.environment_id!r} (one key per purpose)"
            )
        now = _now()
        rows: list[tuple[str, dict[str, Any]]] = [
            (
                "environment",
                {
                    "pk": env_pk(env.environment_id),
                    "sk": META,
                    "kind": "environment",
                    **env.to_dict(),
                    "registered_at": now,
                },
            ),
            *(
                (
                    f"{purpose.value}_key_arn",
                    {
                        "pk": key_pk(env.key_arn(purpose)),
                        "sk": CLAIM,
                        "kind": "key_claim",
                        "key_arn": env.key_arn(purpose),
                        "purpose": purpose.value,
                        "environment_id": env.environment_id,
                    },
                )
                for purpose in (Purpose.S3, Purpose.AURORA)
            ),
            (
                "cluster_id",
                {
                    "pk": cluster_pk(env.region, env.cluster_id),
                    "sk": CLAIM,
                    "kind": "cluster_claim",
                    "region": env.region,
                    "cluster_id": env.cluster_id,
                    "environment_id": env.environment_id,
                },
            ),
        ]
        from botocore.exceptions import ClientError

        try:
            with _aws(f"register environment {env.environment_id!r}", passthrough=ClientError):
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": self.environments_table,
                                "Item": self._item(row),
                                "ConditionExpression": "attribute_not_exists(pk)",
                                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                            }
                        }
                        for _, row in rows
                    ]
                )
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise _translate(exc, f"register environment {env.environment_id!r}") from exc
            raise self._conflict(env, rows, exc) from None

    def _conflict(
        self, env: Environment, rows: list[tuple[str, dict[str, Any]]], exc: Exception
    ) -> ByokError:
        """Explain a cancelled registration from the transaction's CancellationReasons."""
        reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
        problems: list[str] = []
        for (field, row), reason in zip(rows, reasons, strict=False):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            old = self._plain(reason["Item"]) if reason.get("Item") else None
            old = old or self._get(row["pk"], row["sk"]) or {}
            owner = old.get("environment_id", "?")
            if field == "environment":
                problems.append(
                    f"environment_id: environment {env.environment_id!r} is already registered"
                )
            elif field == "cluster_id":
                problems.append(
                    f"cluster_id: cluster {env.cluster_id} in {env.region} is already used by "
                    f"environment {owner!r}"
                )
            else:
                problems.append(
                    f"{field}: key {row['key_arn']} is already used by environment {owner!r} "
                    f"as its {old.get('purpose', '?')} key"
                )
        if problems:
            return ConflictError("; ".join(problems))
        codes = sorted({r.get("Code") for r in reasons if r.get("Code") not in (None, "None")})
        if set(codes) & _TRANSIENT_CODES or "TransactionConflict" in codes:
            return TransientError(
                f"register environment {env.environment_id!r}: transaction conflict, retry"
            )
        return ByokError(
            f"register environment {env.environment_id!r}: transaction cancelled ({codes})"
        )

    def deregister(self, environment_id: str) -> None:
        """Delete an environment, its claims and its flag in one transaction (audit is kept).

        Claims are deleted only while they still name this environment, so a concurrent
        re-registration of a key by another environment is never undone.
        """
        env = self.get_environment(environment_id)
        owned = {":id": {"S": environment_id}}
        claims = [
            key_pk(env.s3_key_arn),
            key_pk(env.aurora_key_arn),
            cluster_pk(env.region, env.cluster_id),
        ]
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.environments_table,
                    "Key": self._item({"pk": env_pk(environment_id), "sk": META}),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self.environments_table,
                    "Key": self._item({"pk": env_pk(environment_id), "sk": HEALTH}),
                }
            },
            *(
                {
                    "Delete": {
                        "TableName": self.environments_table,
                        "Key": self._item({"pk": pk, "sk": CLAIM}),
                        "ConditionExpression": "attribute_not_exists(pk) OR environment_id = :id",
                        "ExpressionAttributeValues": owned,
                    }
                }
                for pk in claims
            ),
        ]
        with _aws(f"deregister environment {environment_id!r}"):
            self.client.transact_write_items(TransactItems=items)
        self._delete_rest(environment_id)

    def _delete_rest(self, environment_id: str) -> None:
        """Delete what else lives under ``ENV#<id>`` (remediation ``ONCE#`` steps, a flag written
        by a validation that raced the deregistration), so a later environment reusing the id
        inherits nothing."""
        with _aws(f"clean up environment {environment_id!r}"):
            pages = self.client.get_paginator("query").paginate(
                TableName=self.environments_table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues=self._item({":pk": env_pk(environment_id)}),
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            )
            for page in pages:
                for key in page.get("Items", []):
                    self.client.delete_item(TableName=self.environments_table, Key=key)

    def get_environment(self, environment_id: str) -> Environment:
        row = self._get(env_pk(environment_id), META)
        if row is None:
            raise NotFoundError(f"environment_id: no environment {environment_id!r} is registered")
        return self._environment(row)

    def list_environments(self) -> list[Environment]:
        """Every registered environment, sorted by id (a filtered scan: fine for a registry)."""
        found: list[Environment] = []
        with _aws(f"list environments in {self.environments_table}"):
            pages = self.client.get_paginator("scan").paginate(
                TableName=self.environments_table,
                FilterExpression="sk = :meta AND begins_with(pk, :env)",
                ExpressionAttributeValues=self._item({":meta": META, ":env": "ENV#"}),
                ConsistentRead=True,
            )
            for page in pages:
                found.extend(self._environment(self._plain(i)) for i in page.get("Items", []))
        return sorted(found, key=lambda e: e.environment_id)

    def _claimed(self, pk: str) -> Environment | None:
        claim = self._get(pk, CLAIM)
        if claim is None:
            return None
        try:
            return self.get_environment(claim["environment_id"])
        except NotFoundError:
            return None  # a claim outliving its environment names nobody

    def environments_for_key(self, key_arn: str) -> list[Environment]:
        """Environments using ``key_arn`` (at most one: claims are exclusive)."""
        env = self._claimed(key_pk(key_arn))
        return [env] if env else []

    def environment_for_cluster(self, region: str, cluster_id: str) -> Environment | None:
        return self._claimed(cluster_pk(region, cluster_id))

    # ---- health flags ---------------------------------------------------------------------

    def get_flag(self, environment_id: str) -> HealthFlag | None:
        row = self._get(env_pk(environment_id), HEALTH)
        if row is None:
            return None
        data = {k: v for k, v in row.items() if k not in _FLAG_ROW_ONLY}
        data["details"] = json.loads(data.get("details") or "[]")
        return HealthFlag.from_dict(data)

    def put_flag(self, flag: HealthFlag, previous_checked_at: str | None = None) -> None:
        """Write ``flag`` unless the stored flag reflects a validation at least as recent.

        The condition (no flag yet, or stored ``checked_at`` strictly older) is evaluated by
        DynamoDB, so of two concurrent validations the newer result always stands, whatever the
        order the writes arrive in; the loser gets ``StaleWriteError``. ``previous_checked_at``
        (the flag the decision was based on) is kept on the row for tracing races.
        """
        data = flag.to_dict()
        data["details"] = json.dumps(data["details"], sort_keys=True, default=str)
        new_key = time_key(flag.checked_at)
        row = {
            "pk": env_pk(flag.environment_id),
            "sk": HEALTH,
            "kind": "health_flag",
            **data,
            "checked_at_key": new_key,
            "based_on_checked_at": previous_checked_at,
        }
        from botocore.exceptions import ClientError

        what = f"write the health flag of {flag.environment_id!r}"
        try:
            with _aws(what, passthrough=ClientError):
                self.client.put_item(
                    TableName=self.environments_table,
                    Item=self._item(row),
                    # a row without checked_at_key (hand-written, older code) never blocks
                    ConditionExpression="attribute_not_exists(pk) OR "
                    "attribute_not_exists(checked_at_key) OR checked_at_key < :new",
                    ExpressionAttributeValues=self._item({":new": new_key}),
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise _translate(exc, what) from exc
            old = exc.response.get("Item")
            stored = self._plain(old).get("checked_at") if old else "a time not older"
            raise StaleWriteError(
                f"health flag of {flag.environment_id!r}: stored result checked at {stored} "
                f"is not older than {flag.checked_at}; the newer result stands"
            ) from None

    # ---- audit ----------------------------------------------------------------------------

    def append_audit(
        self, environment_id: str, record: Mapping[str, Any], at: str | None = None
    ) -> dict[str, Any]:
        """Append one audit record (kept as JSON, any shape); returns it with its keys.

        ``sk`` = ``<fixed-width UTC time>#<uuid>``: time order, and two records in the same
        microsecond never collide.
        """
        recorded_at = at or _now()
        sk = f"{time_key(recorded_at)}#{uuid.uuid4()}"
        body = json.dumps(dict(record), sort_keys=True, default=str)
        with _aws(f"append an audit record for {environment_id!r}"):
            self.client.put_item(
                TableName=self.audit_table,
                Item=self._item(
                    {
                        "pk": env_pk(environment_id),
                        "sk": sk,
                        "environment_id": environment_id,
                        "recorded_at": recorded_at,
                        "record": body,
                    }
                ),
                ConditionExpression="attribute_not_exists(pk)",
            )
        return _audit_view(environment_id, sk, recorded_at, json.loads(body))

    def list_audit(
        self, environment_id: str, limit: int | None = None, *, newest_first: bool = True
    ) -> list[dict[str, Any]]:
        """Audit records of one environment, newest first by default (``limit``: the N newest
        or, with ``newest_first=False``, the N oldest)."""
        if limit is not None and limit < 1:
            raise InputError(f"limit: expected a positive integer, got {limit!r}")
        query: dict[str, Any] = {
            "TableName": self.audit_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": self._item({":pk": env_pk(environment_id)}),
            "ScanIndexForward": not newest_first,
        }
        out: list[dict[str, Any]] = []
        with _aws(f"list audit records of {environment_id!r}"):
            for page in self.client.get_paginator("query").paginate(**query):
                for item in page.get("Items", []):
                    row = self._plain(item)
                    out.append(
                        _audit_view(
                            environment_id,
                            row["sk"],
                            row["recorded_at"],
                            json.loads(row["record"]),
                        )
                    )
                    if limit is not None and len(out) >= limit:
                        return out
        return out

    # ---- remediation state ----------------------------------------------------------------

    def claim_once(self, environment_id: str, once_key: str, record: Mapping[str, Any]) -> bool:
        """Claim the right to run one remediation step; False if it already ran (or runs).

        A conditional put on ``ENV#<id>`` / ``ONCE#<key>``: of any number of concurrent or
        repeated deliveries of the same health event, exactly one gets True.
        """
        from botocore.exceptions import ClientError

        what = f"claim remediation step {once_key!r} of {environment_id!r}"
        try:
            with _aws(what, passthrough=ClientError):
                self.client.put_item(
                    TableName=self.environments_table,
                    Item=self._item(
                        {
                            "pk": env_pk(environment_id),
                            "sk": f"{ONCE}#{once_key}",
                            "kind": "remediation_step",
                            "record": json.dumps(dict(record), sort_keys=True, default=str),
                            "claimed_at": _now(),
                        }
                    ),
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise _translate(exc, what) from exc
        return True

    def release_once(self, environment_id: str, once_key: str) -> None:
        """Give a claimed step back after it failed, so a retry may run it."""
        with _aws(f"release remediation step {once_key!r} of {environment_id!r}"):
            self.client.delete_item(
                TableName=self.environments_table,
                Key=self._item({"pk": env_pk(environment_id), "sk": f"{ONCE}#{once_key}"}),
            )

    def once_claimed(self, environment_id: str, once_key: str) -> bool:
        return self._get(env_pk(environment_id), f"{ONCE}#{once_key}") is not None

    def writes_paused(self, environment_id: str) -> bool:
        """The attribute platform services read before writing an environment's data."""
        row = self._get(env_pk(environment_id), META)
        if row is None:
            raise NotFoundError(f"environment_id: no environment {environment_id!r} is registered")
        return bool(row.get("writes_paused", False))

    def set_writes_paused(self, environment_id: str, paused: bool, reason: str, at: str) -> bool:
        """Set ``writes_paused`` on the environment item; False when it already had that value.

        Conditional, so two remediations racing flip it once and audit it once.
        """
        from botocore.exceptions import ClientError

        what = f"set writes_paused={paused} on {environment_id!r}"
        try:
            with _aws(what, passthrough=ClientError):
                self.client.update_item(
                    TableName=self.environments_table,
                    Key=self._item({"pk": env_pk(environment_id), "sk": META}),
                    UpdateExpression="SET writes_paused = :p, writes_paused_reason = :r, "
                    "writes_paused_changed_at = :t",
                    ConditionExpression="attribute_exists(pk) AND "
                    "(attribute_not_exists(writes_paused) OR writes_paused <> :p)",
                    ExpressionAttributeValues=self._item({":p": paused, ":r": reason, ":t": at}),
                )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                self.writes_paused(environment_id)  # NotFoundError if it is not registered
                return False
            raise _translate(exc, what) from exc
        return True


def _audit_view(
    environment_id: str, sk: str, recorded_at: str, record: dict[str, Any]
) -> dict[str, Any]:
    return {**record, "environment_id": environment_id, "sk": sk, "recorded_at": recorded_at}


# ---- errors: translated in one place ---------------------------------------------------------


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _translate(exc: Exception, what: str) -> ByokError:
    """botocore errors -> byok errors: transient ones retryable, nothing leaks a traceback."""
    from botocore.exceptions import (
        ClientError,
        ConnectionError,
        NoCredentialsError,
        NoRegionError,
        ReadTimeoutError,
    )

    if isinstance(exc, NoRegionError):
        return InputError(
            "AWS_DEFAULT_REGION: no AWS region configured for the registry tables "
            "(set AWS_DEFAULT_REGION or AWS_REGION)"
        )
    if isinstance(exc, NoCredentialsError):
        return ByokError(f"{what}: no AWS credentials found", code="NO_CREDENTIALS")
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return TransientError(f"{what}: {exc}")
    if isinstance(exc, ClientError):
        code = _code(exc)
        message = exc.response.get("Error", {}).get("Message", "")
        if (
            code in _TRANSIENT_CODES
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
        ):
            return TransientError(f"{what}: {code}: {message}")
        if code == "TransactionCanceledException":
            return ConflictError(f"{what}: the registry changed meanwhile ({message})")
        if code == "ResourceNotFoundException":
            return NotFoundError(f"{what}: {code}: {message} (are the tables created?)")
        return ByokError(f"{what}: {code}: {message}", code=code or "AWS_ERROR")
    return ByokError(f"{what}: {exc}")


@contextmanager
def _aws(what: str, passthrough: type[Exception] | None = None) -> Iterator[None]:
    """Run a DynamoDB call, translating botocore errors (except ``passthrough``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ByokError:
        raise
    except (BotoCoreError, ClientError) as exc:
        if passthrough is not None and isinstance(exc, passthrough):
            raise
        raise _translate(exc, what) from exc


# ---- tables (tests, demo) ------------------------------------------------------------------


def create_tables(
    client: Any,
    environments_table: str,
    audit_table: str,
    idempotency_table: str | None = None,
) -> None:
    """Create the tables with the layout of the module docstring (on-demand billing).

    Idempotent: an existing table is left as it is. ``template.yaml`` declares the same layout.
    """
    specs: list[tuple[str, list[tuple[str, str]]]] = [
        (environments_table, [("pk", "HASH"), ("sk", "RANGE")]),
        (audit_table, [("pk", "HASH"), ("sk", "RANGE")]),
    ]
    if idempotency_table:
        specs.append((idempotency_table, [("id", "HASH")]))
    from botocore.exceptions import ClientError

    for name, keys in specs:
        try:
            with _aws(f"create table {name}", passthrough=ClientError):
                client.create_table(
                    TableName=name,
                    BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[
                        {"AttributeName": attr, "AttributeType": "S"} for attr, _ in keys
                    ],
                    KeySchema=[{"AttributeName": attr, "KeyType": kind} for attr, kind in keys],
                )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise _translate(exc, f"create table {name}") from exc
            continue
        with _aws(f"wait for table {name}"):
            client.get_waiter("table_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
    if idempotency_table:
        with _aws(f"enable TTL on {idempotency_table}"):
            status = client.describe_time_to_live(TableName=idempotency_table)
            if status["TimeToLiveDescription"].get("TimeToLiveStatus") not in (
                "ENABLED",
                "ENABLING",
            ):
                client.update_time_to_live(
                    TableName=idempotency_table,
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
                )
