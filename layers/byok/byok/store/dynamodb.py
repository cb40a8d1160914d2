"""The DynamoDB store: the only implementation of ``byok.store.base.Storage`` that persists.

Modelled on the Powertools idempotency persistence layer: an injected boto3 client (a default is
created lazily, so importing this module costs nothing), every invariant guarded by a condition
expression evaluated by DynamoDB itself (never read-then-write), and a failed condition turned
into a domain error or answer carrying the stored record (``StaleWriteError.stored``, a
``ConflictError`` naming the owner, ``False`` from a claim). Rows become typed records here, at
the edge; nothing else in byok-guard sees DynamoDB attribute values, and every botocore error
goes through ONE translator (``translate``, built on ``byok.aws.errors.classify``). The key
scheme is ``byok.store.keys``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from byok import times
from byok.errors import (
    ByokError,
    ConflictError,
    InputError,
    NotFoundError,
    TransientError,
)
from byok.health import HealthFlag
from byok.identifiers import partition_for
from byok.models import Environment, HealthStatus, Purpose
from byok.permissions import Resource, declare
from byok.store import keys
from byok.store.base import (
    MUTABLE_FIELDS,
    concurrent_change,
    conflict_error,
    flag_moved,
    lease_expired_before,
    not_registered,
    same_key_twice,
    stale_flag,
    update_refused,
)
from byok.store.records import (
    AuditEntry,
    AuditRecord,
    EnvironmentState,
    FlagChange,
    OutboxEntry,
    RecoveryMarker,
    RememberedPolicy,
)

__all__ = ["PERMISSIONS", "DynamoDBStore", "create_tables", "translate"]

#: every DynamoDB action of the store's methods (register/deregister are transactions: AWS
#: authorises each constituent Put/Update/Delete/ConditionCheck on its table)
PERMISSIONS = declare(
    (
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:Query",
        "dynamodb:Scan",
    ),
    Resource.ENVIRONMENTS_TABLE,
) + declare(("dynamodb:PutItem", "dynamodb:Query"), Resource.AUDIT_TABLE)
# the sweep's listing and the scheduled remediation's: Scans of the sparse indexes
PERMISSIONS += declare(("dynamodb:Scan",), Resource.ENVIRONMENTS_INDEX)

#: attributes of the flag item that are not flag fields
_FLAG_ROW_ONLY = (
    "pk",
    "sk",
    "kind",
    "checked_at_key",
    "based_on_checked_at",
    "write_id",
    "queued_key",
    "swept_key",
)
#: cancellation reasons of a transaction that a retry may clear (DynamoDB API reference,
#: TransactWriteItems "TransactionCanceledException")
_TRANSIENT_CANCELLATIONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)

_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoDBStore:
    """Registry, flags, audit trail, remediation markers, outbox and policy memory on two
    DynamoDB tables (layout: ``byok.store.keys``)."""

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

            self._client = _call("create the DynamoDB client", boto3.client, "dynamodb")
        return self._client

    # ---- conversion at the edge ----------------------------------------------------------

    def _item(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._ser.serialize(v) for k, v in values.items()}

    def _plain(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self._de.deserialize(v) for k, v in item.items()}

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        out = _call(
            f"read {pk} {sk} from {self.environments_table}",
            self.client.get_item,
            TableName=self.environments_table,
            Key=self._item({"pk": pk, "sk": sk}),
            ConsistentRead=True,
        )
        return self._plain(out["Item"]) if "Item" in out else None

    def _put_if(
        self, what: str, row: Mapping[str, Any], condition: str, values: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        """Conditional put: None when written, else the stored row that failed the condition
        (``{}`` when DynamoDB returned none)."""
        extra: dict[str, Any] = {"ExpressionAttributeValues": self._item(values)} if values else {}
        return _conditional(
            what,
            self.client.put_item,
            lambda item: self._plain(item) if item else {},
            TableName=self.environments_table,
            Item=self._item(row),
            ConditionExpression=condition,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **extra,
        )

    def _paginate(self, what: str, operation: str, **params: Any) -> Iterable[dict[str, Any]]:
        def pages() -> list[dict[str, Any]]:
            paginator = self.client.get_paginator(operation)
            return [
                self._plain(i)
                for page in paginator.paginate(**params)
                for i in page.get("Items", [])
            ]

        return _call(what, pages)

    # ---- environments ---------------------------------------------------------------------

    def register(self, env: Environment) -> None:
        """Store ``env`` and claim its two keys, its cluster and its bucket, all or nothing.

        One transaction with ``attribute_not_exists(pk)`` on every item: a duplicate id, a key
        used by any environment (for either purpose), a cluster or a bucket already claimed
        cancels the whole transaction, so no partial registration is ever left behind.
        """
        if env.s3_key_arn == env.aurora_key_arn:
            raise same_key_twice(env)
        rows = [
            {
                "pk": keys.env_pk(env.environment_id),
                "sk": keys.META,
                "kind": "environment",
                **env.to_dict(),
                "registered_at": times.stamp(),
            },
            *_claim_rows(env).values(),
        ]
        what = f"register environment {env.environment_id!r}"
        from botocore.exceptions import ClientError

        try:
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
                    for row in rows
                ]
            )
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise translate(exc, what) from exc
            raise self._conflict(env, rows, exc) from None
        except Exception as exc:
            raise translate(exc, what) from exc

    def _conflict(
        self, env: Environment, rows: list[dict[str, Any]], exc: Any, offset: int = 0
    ) -> ByokError:
        """Explain a cancelled registration (or update) from the transaction's
        CancellationReasons (the stored items the conditions failed on); ``rows`` are the puts,
        starting at item ``offset`` of the transaction."""
        from byok.aws.errors import TRANSIENT_CODES

        reasons = (exc.response.get("CancellationReasons") or [])[offset:]
        duplicate, clashes, cluster_owner, bucket_owner = False, {}, None, None
        for row, reason in zip(rows, reasons, strict=False):
            if reason.get("Code") != "ConditionalCheckFailed":
                continue
            old = self._plain(reason["Item"]) if reason.get("Item") else None
            old = old or self._get(row["pk"], row["sk"]) or {}
            owner = str(old.get("environment_id", "?"))
            if row["kind"] == "environment":
                duplicate = True
            elif row["kind"] == "cluster_claim":
                cluster_owner = owner
            elif row["kind"] == "bucket_claim":
                bucket_owner = owner
            else:
                clashes[Purpose(row["purpose"])] = (owner, str(old.get("purpose", "?")))
        if duplicate or clashes or cluster_owner is not None or bucket_owner is not None:
            return conflict_error(
                env,
                duplicate_id=duplicate,
                keys=clashes,
                cluster_owner=cluster_owner,
                bucket_owner=bucket_owner,
            )
        codes = sorted({r.get("Code") for r in reasons if r.get("Code") not in (None, "None")})
        if set(codes) & TRANSIENT_CODES or "TransactionConflict" in codes:
            return TransientError(
                f"register environment {env.environment_id!r}: transaction conflict, retry"
            )
        return ByokError(
            f"register environment {env.environment_id!r}: transaction cancelled ({codes})"
        )

    def update(self, current: Environment, new: Environment) -> None:
        """Change the environment and move the claims of what changed, in ONE transaction.

        The ``META`` item is updated only while every changed field still has its ``current``
        value (a concurrent update or a deregistration cancels the transaction); a released
        claim is deleted only while it names this environment; a new claim is put only where
        none exists. ``writes_paused`` and the flag stay: the next validation judges the new
        keys, and its flag replaces the old one.
        """
        refused = update_refused(current, new)
        if refused is not None:
            raise refused
        changed = [f for f in MUTABLE_FIELDS if getattr(current, f) != getattr(new, f)]
        if not changed:
            return
        env_id = new.environment_id
        what = f"update environment {env_id!r}"
        old_claims, new_claims = _claim_rows(current), _claim_rows(new)
        names = {f"#{f}": f for f in changed}
        values = {
            **{f":new_{f}": getattr(new, f) for f in changed},
            **{f":old_{f}": getattr(current, f) for f in changed},
            ":at": times.stamp(),
        }
        meta = {
            "Update": {
                "TableName": self.environments_table,
                "Key": self._item({"pk": keys.env_pk(env_id), "sk": keys.META}),
                "UpdateExpression": "SET "
                + ", ".join(f"#{f} = :new_{f}" for f in changed)
                + ", updated_at = :at",
                "ConditionExpression": " AND ".join(
                    ["attribute_exists(pk)", *(f"#{f} = :old_{f}" for f in changed)]
                ),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": self._item(values),
            }
        }
        owned = self._item({":id": env_id})
        released = [
            {
                "Delete": {
                    "TableName": self.environments_table,
                    "Key": self._item({"pk": pk, "sk": keys.CLAIM}),
                    "ConditionExpression": "attribute_not_exists(pk) OR environment_id = :id",
                    "ExpressionAttributeValues": owned,
                }
            }
            for pk in old_claims
            if pk not in new_claims
        ]
        taken = [row for pk, row in new_claims.items() if old_claims.get(pk) != row]
        puts = [
            {
                "Put": {
                    "TableName": self.environments_table,
                    "Item": self._item(row),
                    # a key moving between this environment's purposes is already ours
                    **(
                        {
                            "ConditionExpression": "environment_id = :id",
                            "ExpressionAttributeValues": owned,
                        }
                        if row["pk"] in old_claims
                        else {"ConditionExpression": "attribute_not_exists(pk)"}
                    ),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
            for row in taken
        ]
        from botocore.exceptions import ClientError

        try:
            self.client.transact_write_items(TransactItems=[meta, *released, *puts])
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise translate(exc, what) from exc
            reasons = exc.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise concurrent_change(env_id) from None
            raise self._conflict(new, taken, exc, offset=1 + len(released)) from None
        except Exception as exc:
            raise translate(exc, what) from exc

    def deregister(self, environment_id: str) -> None:
        """Delete an environment, its claims and its flag in one transaction (audit is kept).

        Claims are deleted only while they still name this environment, so a concurrent
        re-registration of a key by another environment is never undone.
        """
        env = self.get_environment(environment_id)
        owned = {":id": {"S": environment_id}}
        claims = [
            keys.key_pk(env.s3_key_arn),
            keys.key_pk(env.aurora_key_arn),
            keys.cluster_pk(env.region, env.cluster_id),
            keys.bucket_pk(partition_for(env.region), env.bucket),
        ]
        items: list[dict[str, Any]] = [
            {
                "Delete": {
                    "TableName": self.environments_table,
                    "Key": self._item({"pk": keys.env_pk(environment_id), "sk": keys.META}),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            },
            {
                "Delete": {
                    "TableName": self.environments_table,
                    "Key": self._item({"pk": keys.env_pk(environment_id), "sk": keys.HEALTH}),
                }
            },
            *(
                {
                    "Delete": {
                        "TableName": self.environments_table,
                        "Key": self._item({"pk": pk, "sk": keys.CLAIM}),
                        "ConditionExpression": "attribute_not_exists(pk) OR environment_id = :id",
                        "ExpressionAttributeValues": owned,
                    }
                }
                for pk in claims
            ),
        ]
        _call(
            f"deregister environment {environment_id!r}",
            self.client.transact_write_items,
            TransactItems=items,
        )
        self._delete_rest(environment_id)

    def _delete_rest(self, environment_id: str) -> None:
        """Delete what else lives under ``ENV#<id>`` (remediation ``ONCE#`` steps, the outbox, a
        flag written by a validation that raced the deregistration), so a later environment
        reusing the id inherits nothing."""
        what = f"clean up environment {environment_id!r}"
        for row in self._partition(what, environment_id, projection="pk, sk"):
            _call(
                what,
                self.client.delete_item,
                TableName=self.environments_table,
                Key=self._item({"pk": row["pk"], "sk": row["sk"]}),
            )

    def _partition(
        self, what: str, environment_id: str, projection: str | None = None
    ) -> Iterable[dict[str, Any]]:
        """Every item under ``ENV#<id>``: one strongly consistent Query (paginated)."""
        params: dict[str, Any] = {
            "TableName": self.environments_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": self._item({":pk": keys.env_pk(environment_id)}),
            "ConsistentRead": True,
        }
        if projection:
            params["ProjectionExpression"] = projection
        return self._paginate(what, "query", **params)

    def get_environment(self, environment_id: str) -> Environment:
        row = self._get(keys.env_pk(environment_id), keys.META)
        if row is None:
            raise not_registered(environment_id)
        return _environment(row)

    def list_environments(self) -> list[Environment]:
        """Every registered environment, sorted by id (a filtered scan: fine for a registry)."""
        rows = self._paginate(
            f"list environments in {self.environments_table}",
            "scan",
            TableName=self.environments_table,
            FilterExpression="sk = :meta AND begins_with(pk, :env)",
            ExpressionAttributeValues=self._item({":meta": keys.META, ":env": keys.ENV_PREFIX}),
            ConsistentRead=True,
        )
        return sorted((_environment(r) for r in rows), key=lambda e: e.environment_id)

    def environment_page(
        self, after: Mapping[str, str] | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, str]], dict[str, str] | None]:
        """One Scan page (at most 1 MB of keys, about 10,000 environments) of the index."""
        params: dict[str, Any] = {
            "TableName": self.environments_table,
            "IndexName": keys.ENVIRONMENTS_INDEX,
        }
        if after:
            params["ExclusiveStartKey"] = self._item(after)
        if limit:
            params["Limit"] = limit
        page = _call("list environments (index)", self.client.scan, **params)
        rows = [{k: str(v) for k, v in self._plain(i).items()} for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return rows, ({k: str(v) for k, v in self._plain(last).items()} if last else None)

    def _claimed(self, pk: str) -> Environment | None:
        claim = self._get(pk, keys.CLAIM)
        if claim is None:
            return None
        try:
            return self.get_environment(claim["environment_id"])
        except NotFoundError:
            return None  # a claim outliving its environment names nobody

    def environments_for_key(self, key_arn: str) -> list[Environment]:
        """Environments using ``key_arn`` (at most one: claims are exclusive)."""
        env = self._claimed(keys.key_pk(key_arn))
        return [env] if env else []

    def environment_for_cluster(self, region: str, cluster_id: str) -> Environment | None:
        return self._claimed(keys.cluster_pk(region, cluster_id))

    def load_environment_state(self, environment_id: str) -> EnvironmentState:
        """The environment, its flag, its pending outbox entry, writes-paused state and claimed
        remediation steps from ONE strongly consistent Query on its ``ENV#<id>`` partition."""
        rows = {
            r["sk"]: r
            for r in self._partition(f"load the state of {environment_id!r}", environment_id)
        }
        meta = rows.get(keys.META)
        if meta is None:
            raise not_registered(environment_id)
        flag = rows.get(keys.HEALTH)
        outbox = _outbox_entry(environment_id, rows.get(keys.OUTBOX))
        policies = {
            r["key_arn"]: _policy(r)
            for sk, r in rows.items()
            if sk.startswith(keys.REMEMBERED_POLICY_PREFIX)
        }
        return EnvironmentState(
            environment=_environment(meta),
            flag=_flag(flag) if flag else None,
            pending_event=outbox if outbox and not outbox.published else None,
            writes_paused=bool(meta.get("writes_paused", False)),
            once_keys=frozenset(
                sk.removeprefix(keys.ONCE_PREFIX) for sk in rows if sk.startswith(keys.ONCE_PREFIX)
            ),
            policies=policies,
            recovery=_recovery(rows.get(keys.RECOVERY)),
        )

    # ---- health flags ---------------------------------------------------------------------

    def get_flag(self, environment_id: str) -> HealthFlag | None:
        row = self._get(keys.env_pk(environment_id), keys.HEALTH)
        return _flag(row) if row is not None else None

    def put_flag(self, flag: HealthFlag, previous_checked_at: datetime | None = None) -> None:
        """``commit_flag`` without a change (a HOLD, or tests writing a flag)."""
        self.commit_flag(flag, previous_checked_at)

    def commit_flag(
        self,
        flag: HealthFlag,
        previous_checked_at: datetime | None = None,
        change: FlagChange | None = None,
        *,
        expect_previous: bool = False,
    ) -> None:
        """Write ``flag`` unless the stored flag reflects a validation at least as recent, and
        with a change its audit record and pending outbox entry: ONE ``TransactWriteItems``.

        The condition (no flag yet, or stored ``checked_at`` strictly older) is evaluated by
        DynamoDB, so of two concurrent validations the newer result always stands, whatever the
        order the writes arrive in; the loser gets ``StaleWriteError`` carrying the stored flag.
        Every row carries a ``write_id`` unique to this call: when botocore retries a write whose
        answer was lost (a timeout after DynamoDB applied it), the retry fails the condition on
        our own row, and the ``write_id`` of the stored row says so: success, not staleness.
        ``previous_checked_at`` (the flag the decision was based on) is kept for tracing races.
        """
        import uuid

        write_id = uuid.uuid4().hex
        previous = times.to_wire_optional(
            times.parse_optional_time(previous_checked_at, "previous_checked_at")
        )
        data = flag.to_row()
        data["details"] = json.dumps(data["details"], sort_keys=True, default=str)
        new_key = keys.time_key(flag.checked_at)
        pk = keys.env_pk(flag.environment_id)
        row = {
            "pk": pk,
            "sk": keys.HEALTH,
            "kind": "health_flag",
            **data,
            "checked_at_key": new_key,
            "based_on_checked_at": previous,
            "write_id": write_id,
            # the sweep's marker and what was handled, as fixed-width text the sweep's
            # condition compares (mark_queued)
            **{
                name: keys.time_key(moment)
                for name, moment in (("queued_key", flag.queued_at), ("swept_key", flag.swept_at))
                if moment is not None
            },
            # an open incident puts the environment in the sparse attention index
            **(
                {keys.ATTENTION: flag.environment_id}
                if flag.status is not HealthStatus.HEALTHY
                else {}
            ),
        }
        # a row without checked_at_key (hand-written, older code) never blocks
        condition = (
            "attribute_not_exists(pk) OR attribute_not_exists(checked_at_key) OR "
            "checked_at_key < :new"
        )
        values: dict[str, Any] = {":new": new_key}
        if expect_previous and previous is None:
            condition = "attribute_not_exists(pk)"
            values = {}
        elif expect_previous:
            condition = f"checked_at = :previous AND ({condition})"
            values[":previous"] = previous
        if expect_previous:
            # the sweep marker carried forward must still be the stored one: a sweep that
            # marked the flag meanwhile makes this a moved flag (decided again, marker kept)
            if flag.queued_at is None:
                condition = f"attribute_not_exists(queued_key) AND ({condition})"
            else:
                condition = f"queued_key = :queued AND ({condition})"
                values[":queued"] = keys.time_key(flag.queued_at)
        put: dict[str, Any] = {
            "TableName": self.environments_table,
            "Item": self._item(row),
            "ConditionExpression": condition,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if values:
            put["ExpressionAttributeValues"] = self._item(values)
        items: list[dict[str, Any]] = [{"Put": put}]
        if change is not None:
            at = data["checked_at"]
            outbox = {
                "pk": pk,
                "sk": keys.OUTBOX,
                "kind": "outbox",
                "checked_at": at,
                "entry": json.dumps(dict(change.entry), sort_keys=True, default=str),
                "published": False,
                "write_id": write_id,
            }
            audit = {
                "pk": pk,
                "sk": keys.audit_sk(at),
                "environment_id": flag.environment_id,
                "recorded_at": at,
                "record": json.dumps(change.audit.to_body(), sort_keys=True, default=str),
            }
            # the flag's condition guards the outbox too: only a newer flag replaces it
            items.append(
                {"Put": {"TableName": self.environments_table, "Item": self._item(outbox)}}
            )
            items.append(
                {
                    "Put": {
                        "TableName": self.audit_table,
                        "Item": self._item(audit),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
            previous = change.audit.previous_status
            if flag.status is HealthStatus.HEALTHY and previous not in (None, HealthStatus.HEALTHY):
                # a recovery: the environment stays in the attention index until the scheduled
                # remediation has seen its plan (resume, all-clear, cluster start) carried out
                assert previous is not None
                recovery = {
                    "pk": pk,
                    "sk": keys.RECOVERY,
                    "kind": "recovery",
                    "checked_at": at,
                    "previous_status": previous.value,
                    keys.ATTENTION: flag.environment_id,
                }
                items.append(
                    {"Put": {"TableName": self.environments_table, "Item": self._item(recovery)}}
                )
        what = f"write the health flag of {flag.environment_id!r}"
        from botocore.exceptions import ClientError

        if change is None:
            # the flag alone (an unchanged validation, the common case): one conditional
            # PutItem, atomic by itself and half the write capacity of a transaction
            try:
                self.client.put_item(**put)
            except ClientError as exc:
                if _code(exc) != _CONDITION_FAILED:
                    raise translate(exc, what) from exc
                self._settle_refused(flag, write_id, exc.response.get("Item"))
            except Exception as exc:
                raise translate(exc, what) from exc
            return
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise translate(exc, what) from exc
            self._settle_cancelled(flag, write_id, exc, what)
        except Exception as exc:
            raise translate(exc, what) from exc

    # ---- sweep markers ----------------------------------------------------------------

    def mark_queued(self, environment_id: str, at: datetime, requeue_before: datetime) -> bool:
        """One conditional UpdateItem of the flag (``Storage.mark_queued``); the stored row on
        a refusal says whether there is a flag at all (none: sent, unmarked)."""
        key = keys.time_key(at)
        refused = _conditional(
            f"mark a sweep validation of {environment_id!r} queued",
            self.client.update_item,
            lambda item: item or {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.HEALTH}),
            UpdateExpression="SET queued_at = :at, queued_key = :key",
            ConditionExpression=(
                "attribute_exists(checked_at_key) AND (attribute_not_exists(queued_key) OR "
                "queued_key <= swept_key OR queued_key < :requeue OR queued_key = :key)"
            ),
            ExpressionAttributeValues=self._item(
                {
                    ":at": times.to_wire(at),
                    ":key": key,
                    ":requeue": keys.time_key(requeue_before),
                }
            ),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return refused is None or "checked_at_key" not in refused

    def unmark_queued(self, environment_id: str, at: datetime) -> None:
        _conditional(
            f"take back the sweep marker of {environment_id!r}",
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.HEALTH}),
            UpdateExpression="REMOVE queued_at, queued_key",
            ConditionExpression="queued_key = :key",
            ExpressionAttributeValues=self._item({":key": keys.time_key(at)}),
        )

    def note_swept(self, environment_id: str, at: datetime) -> None:
        key = keys.time_key(at)
        _conditional(
            f"note the sweep message of {environment_id!r} handled",
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.HEALTH}),
            UpdateExpression="SET swept_at = :at, swept_key = :key",
            ConditionExpression=(
                "attribute_exists(checked_at_key) AND "
                "(attribute_not_exists(swept_key) OR swept_key < :key)"
            ),
            ExpressionAttributeValues=self._item({":at": times.to_wire(at), ":key": key}),
        )

    def _settle_refused(
        self, flag: HealthFlag, write_id: str, item: Mapping[str, Any] | None
    ) -> None:
        """The flag's condition failed: our own earlier attempt (return), a newer flag
        (``StaleWriteError``) or an older one that replaced the flag decided against
        (``FlagMovedError``). ``item``: the stored row DynamoDB returned, if any."""
        stored = (
            self._plain(item) if item else self._get(keys.env_pk(flag.environment_id), keys.HEALTH)
        )
        if stored is not None and stored.get("write_id") == write_id:
            return  # the retry of a write that had landed: our own result
        current = _flag_or_none(stored or {})
        newer = current is None or keys.time_key(current.checked_at) >= keys.time_key(
            flag.checked_at
        )
        if stored and newer:
            raise stale_flag(flag, current)
        raise flag_moved(flag, current)

    def _settle_cancelled(self, flag: HealthFlag, write_id: str, exc: Any, what: str) -> None:
        """A cancelled flag transaction: our own earlier attempt (return), a newer flag
        (``StaleWriteError``), a conflict a retry clears (``TransientError``), else an error."""
        reasons = exc.response.get("CancellationReasons") or []
        codes = [str(r.get("Code") or "None") for r in reasons]
        if codes and codes[0] == "ConditionalCheckFailed":
            self._settle_refused(flag, write_id, reasons[0].get("Item"))
            return
        if set(codes) & _TRANSIENT_CANCELLATIONS:
            raise TransientError(f"{what}: transaction cancelled ({', '.join(codes)})") from exc
        raise ByokError(
            f"{what}: transaction cancelled ({', '.join(codes) or 'no reason given'})",
            code="TRANSACTION_CANCELLED",
        ) from exc

    # ---- audit ----------------------------------------------------------------------------

    def append_audit(
        self,
        environment_id: str,
        record: AuditRecord | Mapping[str, Any],
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append one audit record (kept as JSON); returns it with its keys (time-ordered)."""
        recorded_at = times.to_wire(at) if at else times.stamp()
        sk = keys.audit_sk(recorded_at)
        body = json.dumps(_body(record), sort_keys=True, default=str)
        # the sort key is unique to this call: a failed condition can only meet this very
        # record, stored by an attempt whose answer was lost (botocore retried it): success
        _conditional(
            f"append an audit record for {environment_id!r}",
            self.client.put_item,
            lambda item: {},
            TableName=self.audit_table,
            Item=self._item(
                {
                    "pk": keys.env_pk(environment_id),
                    "sk": sk,
                    "environment_id": environment_id,
                    "recorded_at": recorded_at,
                    "record": body,
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )
        return AuditEntry(environment_id, sk, recorded_at, json.loads(body))

    def list_audit(
        self, environment_id: str, limit: int | None = None, *, newest_first: bool = True
    ) -> list[AuditEntry]:
        """Audit records of one environment, newest first by default (``limit``: the N newest
        or, with ``newest_first=False``, the N oldest)."""
        if limit is not None and limit < 1:
            raise InputError(f"limit: expected a positive integer, got {limit!r}")
        query: dict[str, Any] = {
            "TableName": self.audit_table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": self._item({":pk": keys.env_pk(environment_id)}),
            "ScanIndexForward": not newest_first,
        }

        def read() -> list[AuditEntry]:
            out: list[AuditEntry] = []
            for page in self.client.get_paginator("query").paginate(**query):
                for item in page.get("Items", []):
                    row = self._plain(item)
                    body = json.loads(row["record"])
                    out.append(AuditEntry(environment_id, row["sk"], row["recorded_at"], body))
                    if limit is not None and len(out) >= limit:
                        return out
            return out

        return _call(f"list audit records of {environment_id!r}", read)

    # ---- remediation state ----------------------------------------------------------------

    def claim_once(
        self,
        environment_id: str,
        once_key: str,
        record: Mapping[str, Any],
        now: datetime | None = None,
        *,
        follow_up: bool = False,
    ) -> bool:
        """Claim the right to run one remediation step; False if it already ran (or runs).

        A conditional put on ``ENV#<id>`` / ``ONCE#<key>``: of any number of concurrent or
        repeated deliveries of the same health event, exactly one gets True. The claim carries
        a ``claim_id`` unique to this call, so botocore's retry of a claim whose answer was lost
        (it landed) finds its own claim and still gets True: the step is not skipped forever.
        """
        import uuid

        claim_id = uuid.uuid4().hex
        row = {
            "pk": keys.env_pk(environment_id),
            "sk": keys.once_sk(once_key),
            "kind": "remediation_step",
            "record": json.dumps(dict(record), sort_keys=True, default=str),
            "claimed_at": times.stamp(),
            "claim_id": claim_id,
            **({keys.ATTENTION: environment_id} if follow_up else {}),
        }
        what = f"claim remediation step {once_key!r} of {environment_id!r}"
        # a claim of older code (no claim_id) counts as done; a new one not completed within
        # the lease died with its process and may be taken again
        condition = (
            "attribute_not_exists(pk) OR (attribute_exists(claim_id) AND "
            "attribute_not_exists(done_at) AND claimed_at < :stale)"
        )
        stored = self._put_if(
            what, row, condition, {":stale": times.stamp(lease_expired_before(now))}
        )
        return stored is None or stored.get("claim_id") == claim_id

    def complete_once(self, environment_id: str, once_key: str) -> None:
        """Mark a claimed step done (a released or missing claim is left alone)."""
        _conditional(
            f"complete remediation step {once_key!r} of {environment_id!r}",
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.once_sk(once_key)}),
            UpdateExpression="SET done_at = :t",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=self._item({":t": times.stamp()}),
        )

    def end_follow_up(self, environment_id: str, once_key: str) -> None:
        """Take the step's marker out of the attention index (the marker itself stays)."""
        _conditional(
            f"end the follow-up of {once_key!r} of {environment_id!r}",
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.once_sk(once_key)}),
            UpdateExpression="REMOVE #a",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#a": keys.ATTENTION},
        )

    def end_recovery(self, environment_id: str, checked_at: datetime) -> None:
        """Delete the recovery marker of the change checked at ``checked_at`` (a newer
        recovery's marker, or none, is left alone)."""
        _conditional(
            f"end the recovery of {environment_id!r}",
            self.client.delete_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.RECOVERY}),
            ConditionExpression="checked_at = :t",
            ExpressionAttributeValues=self._item({":t": times.to_wire(checked_at)}),
        )

    def needing_attention(self) -> list[str]:
        """One Scan of the sparse ``attention`` index (keys only), paginated."""
        rows = self._paginate(
            "list the environments needing attention",
            "scan",
            TableName=self.environments_table,
            IndexName=keys.ATTENTION_INDEX,
        )
        return sorted({str(r[keys.ATTENTION]) for r in rows})

    def release_once(self, environment_id: str, once_key: str) -> None:
        """Give a claimed step back after it failed, so a retry may run it."""
        _call(
            f"release remediation step {once_key!r} of {environment_id!r}",
            self.client.delete_item,
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.once_sk(once_key)}),
        )

    def once_claimed(self, environment_id: str, once_key: str) -> bool:
        return self._get(keys.env_pk(environment_id), keys.once_sk(once_key)) is not None

    def writes_paused(self, environment_id: str) -> bool:
        """The attribute platform services read before writing an environment's data."""
        row = self._get(keys.env_pk(environment_id), keys.META)
        if row is None:
            raise not_registered(environment_id)
        return bool(row.get("writes_paused", False))

    def set_writes_paused(
        self, environment_id: str, paused: bool, reason: str, at: datetime
    ) -> bool:
        """Set ``writes_paused`` on the environment item; False when it already had that value.

        Conditional, so two remediations racing flip it once and audit it once; a write id
        unique to this call tells botocore's retry of a landed update (answer lost) that the
        flip was its own (True, so the "Writes Paused" event still goes out).
        """
        import uuid

        write_id = uuid.uuid4().hex
        stored = _conditional(
            f"set writes_paused={paused} on {environment_id!r}",
            self.client.update_item,
            lambda item: self._plain(item) if item else {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.META}),
            UpdateExpression="SET writes_paused = :p, writes_paused_reason = :r, "
            "writes_paused_changed_at = :t, writes_paused_write_id = :w",
            ConditionExpression="attribute_exists(pk) AND "
            "(attribute_not_exists(writes_paused) OR writes_paused <> :p)",
            ExpressionAttributeValues=self._item(
                {":p": paused, ":r": reason, ":t": times.to_wire(at), ":w": write_id}
            ),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        if stored is None or stored.get("writes_paused_write_id") == write_id:
            return True
        self.writes_paused(environment_id)  # NotFoundError if it is not registered
        return False

    # ---- outbox of health-changed events --------------------------------------------------

    def put_pending_event(
        self, environment_id: str, checked_at: datetime, entry: Mapping[str, Any]
    ) -> bool:
        """Record ``entry`` as to be published; an older change never replaces a newer one."""
        checked_at_text = times.to_wire(checked_at)
        row = {
            "pk": keys.env_pk(environment_id),
            "sk": keys.OUTBOX,
            "kind": "outbox",
            "checked_at": checked_at_text,
            "entry": json.dumps(dict(entry), sort_keys=True, default=str),
            "published": False,
        }
        what = f"store the pending health event of {environment_id!r}"
        condition = "attribute_not_exists(pk) OR checked_at < :t"
        return self._put_if(what, row, condition, {":t": checked_at_text}) is None

    def mark_event_published(self, environment_id: str, checked_at: datetime) -> None:
        """Mark the pending entry of ``checked_at`` published (a newer one stays pending)."""
        _conditional(
            f"mark the health event of {environment_id!r} published",
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": keys.env_pk(environment_id), "sk": keys.OUTBOX}),
            UpdateExpression="SET published = :yes",
            ConditionExpression="checked_at = :t",
            ExpressionAttributeValues=self._item({":yes": True, ":t": times.to_wire(checked_at)}),
        )

    def pending_event(self, environment_id: str) -> OutboxEntry | None:
        """The unpublished health-changed entry of the environment, or None."""
        entry = _outbox_entry(environment_id, self._get(keys.env_pk(environment_id), keys.OUTBOX))
        return entry if entry is not None and not entry.published else None

    # ---- remembered key policies ----------------------------------------------------------

    @staticmethod
    def _policy_key(key_arn: str, environment_id: str | None) -> tuple[str, str]:
        if environment_id is None:
            return keys.key_pk(key_arn), keys.POLICY
        return keys.env_pk(environment_id), keys.policy_sk(key_arn)

    def remember_policy(
        self,
        key_arn: str,
        policy: str,
        event_time: datetime,
        event_id: str,
        *,
        environment_id: str | None = None,
    ) -> bool:
        """Store ``policy`` unless a newer one is stored; True when stored.

        Conditional on the event time, so a late, older event never replaces a newer policy.
        CloudTrail times have one-second resolution, so two PutKeyPolicy calls in the same
        second tie: the one delivered last becomes ``policy`` and every text of that second is
        kept in ``ties`` (by event id), so validation can let the key's live truth decide which
        is current instead of the delivery order. The time is stored in the events' own form
        (``times.wire_z``).
        """
        pk, sk = self._policy_key(key_arn, environment_id)
        when = times.wire_z(event_time)
        row = {
            "pk": pk,
            "sk": sk,
            "kind": "key_policy",
            "key_arn": key_arn,
            "policy": policy,
            "event_time": when,
            "event_id": event_id,
            "ties": {event_id: policy},
        }
        what = f"remember the key policy of {key_arn}"
        condition = "attribute_not_exists(pk) OR event_time < :t"
        stored = self._put_if(what, row, condition, {":t": when})
        if stored is None:
            return True
        if stored.get("event_time") != when:
            return False  # a newer policy is stored
        tied = _conditional(
            what,
            self.client.update_item,
            lambda item: {},
            TableName=self.environments_table,
            Key=self._item({"pk": pk, "sk": sk}),
            UpdateExpression="SET policy = :p, event_id = :id, ties.#id = :p",
            ConditionExpression="event_time = :t AND attribute_exists(ties)",
            ExpressionAttributeNames={"#id": event_id},
            ExpressionAttributeValues=self._item({":p": policy, ":id": event_id, ":t": when}),
        )
        return tied is None

    def recall_policy(
        self, key_arn: str, *, environment_id: str | None = None
    ) -> RememberedPolicy | None:
        """The newest remembered policy of ``key_arn`` (with its same-second ties), or None."""
        row = self._get(*self._policy_key(key_arn, environment_id))
        return None if row is None else _policy({**row, "key_arn": key_arn})


# ---- rows -> records -------------------------------------------------------------------------


def _claim_rows(env: Environment) -> dict[str, dict[str, Any]]:
    """The claim items of an environment (its two keys, its cluster, its bucket), by partition
    key."""
    rows = [
        *(
            {
                "pk": keys.key_pk(env.key_arn(purpose)),
                "sk": keys.CLAIM,
                "kind": "key_claim",
                "key_arn": env.key_arn(purpose),
                "purpose": purpose.value,
                "environment_id": env.environment_id,
            }
            for purpose in (Purpose.S3, Purpose.AURORA)
        ),
        {
            "pk": keys.cluster_pk(env.region, env.cluster_id),
            "sk": keys.CLAIM,
            "kind": "cluster_claim",
            "region": env.region,
            "cluster_id": env.cluster_id,
            "environment_id": env.environment_id,
        },
        {
            "pk": keys.bucket_pk(partition_for(env.region), env.bucket),
            "sk": keys.CLAIM,
            "kind": "bucket_claim",
            "partition": partition_for(env.region),
            "bucket": env.bucket,
            "environment_id": env.environment_id,
        },
    ]
    return {row["pk"]: row for row in rows}


def _environment(row: Mapping[str, Any]) -> Environment:
    return Environment.create(**{name: row.get(name) for name in Environment.__dataclass_fields__})


def _policy(row: Mapping[str, Any]) -> RememberedPolicy:
    ties = {str(k): str(v) for k, v in (row.get("ties") or {}).items()}
    return RememberedPolicy(row["key_arn"], row["policy"], row["event_time"], row["event_id"], ties)


def _recovery(row: Mapping[str, Any] | None) -> RecoveryMarker | None:
    if not row:
        return None
    return RecoveryMarker(row["checked_at"], HealthStatus(row["previous_status"]))


def _flag(row: Mapping[str, Any]) -> HealthFlag:
    data = {k: v for k, v in row.items() if k not in _FLAG_ROW_ONLY}
    data["details"] = json.loads(data.get("details") or "[]")
    return HealthFlag.from_dict(data)


def _flag_or_none(row: Mapping[str, Any]) -> HealthFlag | None:
    """The stored flag a write lost against (None when DynamoDB did not return it)."""
    try:
        return _flag(row) if row else None
    except ByokError:
        return None


def _outbox_entry(environment_id: str, row: Mapping[str, Any] | None) -> OutboxEntry | None:
    if not row:
        return None
    return OutboxEntry(
        environment_id=environment_id,
        checked_at=row["checked_at"],
        entry=json.loads(row["entry"]),
        published=bool(row.get("published", True)),
    )


def _body(record: AuditRecord | Mapping[str, Any]) -> dict[str, Any]:
    return dict(record) if isinstance(record, Mapping) else record.to_body()


# ---- errors: translated in one place ---------------------------------------------------------


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def translate(exc: BaseException, what: str) -> ByokError:
    """Any failure of a DynamoDB call -> a ``ByokError`` (``retryable`` when transient).

    Transient or not is decided by ``byok.aws.errors.classify`` (the one list of transient
    codes); this adds only what the store knows: a missing table, a cancelled transaction,
    missing region or credentials. An ``AccessDenied`` stays definitive: retrying cannot fix it.
    """
    from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

    from byok.aws.errors import classify

    if isinstance(exc, ByokError):
        return exc
    if isinstance(exc, NoRegionError):
        return InputError(
            "AWS_DEFAULT_REGION: no AWS region configured for the registry tables "
            "(set AWS_DEFAULT_REGION or AWS_REGION)"
        )
    if isinstance(exc, NoCredentialsError):
        return ByokError(f"{what}: no AWS credentials found", code="NO_CREDENTIALS")
    fact = classify(exc)
    if fact.transient:
        return TransientError(f"{what}: {fact.context}")
    if not isinstance(exc, ClientError):
        return ByokError(f"{what}: {exc}")
    if fact.code == "TransactionCanceledException":
        return ConflictError(f"{what}: the registry changed meanwhile ({fact.message})")
    if fact.code == "ResourceNotFoundException":
        return NotFoundError(f"{what}: {fact.context} (are the tables created?)")
    return ByokError(f"{what}: {fact.context}", code=fact.code or "AWS_ERROR")


def _call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one DynamoDB call (or a few, in ``fn``), translating whatever botocore raises."""
    try:
        return fn(*args, **kwargs)
    except ByokError:
        raise
    except Exception as exc:
        raise translate(exc, what) from exc


def _conditional(
    what: str,
    fn: Callable[..., Any],
    stored: Callable[[Mapping[str, Any] | None], dict[str, Any]],
    **kwargs: Any,
) -> dict[str, Any] | None:
    """A conditional write: None when it was applied, else the stored record (``stored`` of the
    item DynamoDB returned) the condition failed on."""
    from botocore.exceptions import ClientError

    try:
        fn(**kwargs)
    except ClientError as exc:
        if _code(exc) != _CONDITION_FAILED:
            raise translate(exc, what) from exc
        return stored(exc.response.get("Item"))
    except Exception as exc:
        raise translate(exc, what) from exc
    return None


# ---- tables (tests, demo) ------------------------------------------------------------------


def create_tables(
    client: Any,
    environments_table: str,
    audit_table: str,
    idempotency_table: str | None = None,
) -> None:
    """Create the tables with the layout of ``byok.store.keys`` (on-demand billing).

    Idempotent: an existing table is left as it is. ``template.yaml`` declares the same layout.
    """
    from botocore.exceptions import ClientError

    specs: list[tuple[str, list[tuple[str, str]]]] = [
        (environments_table, [("pk", "HASH"), ("sk", "RANGE")]),
        (audit_table, [("pk", "HASH"), ("sk", "RANGE")]),
    ]
    indexes: dict[str, list[tuple[str, tuple[str, ...]]]] = {
        environments_table: [
            (keys.ATTENTION_INDEX, (keys.ATTENTION,)),
            (keys.ENVIRONMENTS_INDEX, keys.ENVIRONMENTS_INDEX_KEYS),
        ],
    }
    if idempotency_table:
        specs.append((idempotency_table, [("id", "HASH")]))
    for name, key_schema in specs:
        try:
            extra: dict[str, Any] = {}
            attrs = [attr for attr, _ in key_schema]
            if name in indexes:
                attrs += [a for _, index_keys in indexes[name] for a in index_keys]
                extra["GlobalSecondaryIndexes"] = [
                    {
                        "IndexName": index,
                        "KeySchema": [
                            {"AttributeName": a, "KeyType": kind}
                            for a, kind in zip(index_keys, ("HASH", "RANGE"), strict=False)
                        ],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                    for index, index_keys in indexes[name]
                ]
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attrs],
                KeySchema=[{"AttributeName": attr, "KeyType": kind} for attr, kind in key_schema],
                **extra,
            )
        except ClientError as exc:
            if _code(exc) != "ResourceInUseException":
                raise translate(exc, f"create table {name}") from exc
            continue
        except Exception as exc:
            raise translate(exc, f"create table {name}") from exc
        _call(
            f"wait for table {name}",
            client.get_waiter("table_exists").wait,
            TableName=name,
            WaiterConfig={"Delay": 1, "MaxAttempts": 60},
        )
    if idempotency_table:
        what = f"enable TTL on {idempotency_table}"
        status = _call(what, client.describe_time_to_live, TableName=idempotency_table)
        if status["TimeToLiveDescription"].get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            _call(
                what,
                client.update_time_to_live,
                TableName=idempotency_table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
            )
