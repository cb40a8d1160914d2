"""S3 SSE-KMS that really calls KMS (moto 5.2 stores and returns SSE-KMS objects whatever the key).

AWS (S3 User Guide, "Using server-side encryption with AWS KMS keys"): PutObject with SSE-KMS,
requested by header or by the bucket's default encryption, makes S3 call ``GenerateDataKey``;
GetObject of such an object makes S3 call ``Decrypt``. S3 calls KMS *on behalf of the requester*:
the key policy sees the S3 request's principal, ``kms:ViaService = s3.<region>.amazonaws.com``,
``kms:CallerAccount`` / ``aws:PrincipalAccount`` = the requester's account and the encryption
context ``aws:s3:arn`` = the object ARN. The key may live in another account (a customer's key
used by a bucket in the platform account): the call goes to the key owner's account, in the
bucket's region.

Errors S3 returns (docs/aws-notes.md): key disabled -> 400 ``KMS.DisabledException``; pending
deletion
(or pending import / unavailable) -> 400 ``KMS.KMSInvalidStateException``; key missing or in
another region -> 400 ``KMS.NotFoundException``; denied by the key policy -> 403 ``AccessDenied``
naming the KMS action. The KMS message is passed through, as S3 does.

Order of checks, as in KMS: key exists -> key policy (``authz.authorize``, see ``KeyPolicyMode``)
-> key state. The data key that KMS returns (moto ciphertext) is kept on the stored object, so
GetObject really decrypts it with the key.

Patched (response level: that is where the request's credentials are known): ``put_object``
(GenerateDataKey), ``get_object`` (Decrypt), ``copy_object`` (Decrypt of an SSE-KMS source,
GenerateDataKey for an SSE-KMS destination), ``_key_response_post`` for CreateMultipartUpload
(GenerateDataKey; the upload remembers the key) and ``upload_part`` (kms:Decrypt on the upload's
key, per the S3 multipart permissions documentation). Not modelled: UploadPartCopy,
CompleteMultipartUpload's own KMS use, Bucket Keys (S3 would cache the data key and call KMS
less often; here every call goes to KMS, so a disabled key is noticed at once); ``aws:kms:dsse``
is treated like ``aws:kms``. HeadObject does not call KMS, in AWS either.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from moto.core.exceptions import JsonRESTError
from moto.kms.models import Key, KmsBackend, kms_backends
from moto.s3.exceptions import S3ClientError
from moto.s3.models import FakeBucket, FakeKey
from moto.s3.responses import S3Response
from moto.utilities.utils import get_partition

from ._patching import Patch
from .authz import authorize
from .iam_resources import identity_denial
from .kms_states import state_error
from .principals import Caller, resolve_caller
from .wire import s3_error

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
_AWS_MANAGED_S3_ALIAS = "alias/aws/s3"

Response = tuple[int, dict[str, Any], str | bytes]


class S3KmsError(Exception):
    """A refusal S3 reports for a KMS failure; ``response`` is the S3 error to send."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @property
    def response(self) -> Response:
        return self.status, {"content-type": "application/xml"}, s3_error(self.code, self.message)


def _not_found(message: str) -> S3KmsError:
    return S3KmsError(400, "KMS.NotFoundException", message)


def _from_kms(error: JsonRESTError) -> S3KmsError:
    return S3KmsError(400, f"KMS.{error.error_type}", error.message)


@dataclass(frozen=True)
class KmsTarget:
    """The key an SSE-KMS request uses, resolved in its owner's account and the bucket's region."""

    backend: KmsBackend
    key: Key


def resolve_key(key_ref: str | None, *, default_account: str, region: str) -> KmsTarget:
    """Find the KMS key S3 would use.

    ``key_ref`` may be a key id, key ARN, alias name or alias ARN; ``None`` means the AWS managed
    key ``aws/s3`` of ``default_account``. Ids and alias names resolve in ``default_account`` (the
    requester's account for a header, the bucket owner's for bucket default encryption); an ARN
    names its account. An ARN in another region than the bucket is not found, as in AWS.
    """
    account = default_account
    ref = key_ref or _AWS_MANAGED_S3_ALIAS
    if ref.startswith("arn:"):
        parts = ref.split(":", 5)
        if len(parts) != 6 or parts[2] != "kms":
            raise _not_found(f"Invalid keyId {ref}")
        if parts[3] != region:
            raise _not_found(f"Invalid arn {parts[3]}")
        account = parts[4]
    backend = kms_backends[account][region]
    try:
        key_id = backend.any_id_to_key_id(ref)
    except (KeyError, TypeError, AttributeError):
        key_id = None
    key = backend.keys.get(key_id) if key_id else None
    if key is None:
        shown = ref if ref.startswith("arn:") else _arn(backend, region, account, ref)
        raise _not_found(f"Key '{shown}' does not exist")
    return KmsTarget(backend=backend, key=key)


def _arn(backend: KmsBackend, region: str, account: str, ref: str) -> str:
    kind = "" if ref.startswith("alias/") else "key/"
    return f"arn:{get_partition(region)}:kms:{region}:{account}:{kind}{ref}"


def _authorize_and_check(
    target: KmsTarget, response: S3Response, action: str, region: str, object_arn: str
) -> None:
    denial = authorize(
        target.key,
        _caller(response),
        action,
        via_service=f"s3.{region}.amazonaws.com",
        extra_context={"kms:EncryptionContext:aws:s3:arn": object_arn},
    )
    if denial is not None:
        raise S3KmsError(403, "AccessDenied", denial.message)
    # the requester's identity policies must allow the KMS action too (moto's authoriser decides;
    # only while it is on: S3's call to KMS never passes through moto's own check)
    identity = identity_denial(response, action, target.key.arn)
    if identity is not None:
        raise S3KmsError(403, "AccessDenied", identity)
    error = state_error(target.key)
    if error is not None:
        raise _from_kms(error)


def _caller(response: S3Response) -> Caller:
    return resolve_caller(response.access_key, response.current_account, response.region)


def _object_arn(bucket: FakeBucket, key_name: str) -> str:
    return f"arn:{bucket.partition}:s3:::{bucket.name}/{key_name}"


def _requested_sse(response: S3Response, bucket: FakeBucket) -> tuple[str | None, str | None, str]:
    """(algorithm, key reference, account ids/aliases resolve in) for a PutObject."""
    algorithm = response.headers.get("x-amz-server-side-encryption")
    key_ref = response.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
    if algorithm:
        return algorithm, key_ref, response.current_account
    default = (bucket.encryption or {}).get("Rule", {}).get("ApplyServerSideEncryptionByDefault")
    if default:
        return (
            default.get("SSEAlgorithm"),
            key_ref or default.get("KMSMasterKeyID"),
            bucket.account_id,
        )
    return None, None, bucket.account_id


def _generate_data_key(
    response: S3Response, bucket: FakeBucket, key_name: str, key_ref: str | None, resolve_in: str
) -> tuple[KmsTarget, bytes]:
    """S3's GenerateDataKey for a new object (raises ``S3KmsError``)."""
    object_arn = _object_arn(bucket, key_name)
    target = resolve_key(key_ref, default_account=resolve_in, region=bucket.region_name)
    _authorize_and_check(target, response, "kms:GenerateDataKey", bucket.region_name, object_arn)
    try:
        _, blob, _ = target.backend.generate_data_key(
            key_id=target.key.id,
            encryption_context={"aws:s3:arn": object_arn},
            number_of_bytes=None,  # type: ignore[arg-type]
            key_spec="AES_256",
        )
    except JsonRESTError as kms_error:
        raise _from_kms(kms_error) from None
    return target, blob


def _decrypt(response: S3Response, bucket: FakeBucket, stored: FakeKey) -> None:
    """S3's Decrypt of an SSE-KMS object's data key (raises ``S3KmsError``)."""
    object_arn = _object_arn(bucket, stored.name)
    target = resolve_key(
        stored.kms_key_id, default_account=bucket.account_id, region=bucket.region_name
    )
    _authorize_and_check(target, response, "kms:Decrypt", bucket.region_name, object_arn)
    blob = getattr(stored, "byok_data_key", None)
    if blob is None:  # stored before install(): state and policy checked, nothing to decrypt
        return
    try:
        target.backend.decrypt(ciphertext_blob=blob, encryption_context={"aws:s3:arn": object_arn})
    except JsonRESTError as kms_error:
        raise _from_kms(kms_error) from None


def _stamp(response: S3Response, key_name: str, target: KmsTarget, blob: bytes | None) -> None:
    """Keep the data key with the new object; AWS reports the key ARN whatever the request said."""
    stored = response.backend.get_object(response.bucket_name, key_name)
    if stored is not None and stored.encryption in KMS_ALGORITHMS:
        stored.kms_key_id = target.key.arn
        stored.byok_data_key = blob  # type: ignore[attr-defined]


def _put_object(original: Callable[[S3Response], Response]) -> Callable[[S3Response], Response]:
    def put_object(self: S3Response) -> Response:
        bucket = self.backend.get_bucket(self.bucket_name)
        algorithm, key_ref, resolve_in = _requested_sse(self, bucket)
        if algorithm not in KMS_ALGORITHMS:
            return original(self)
        key_name = self.parse_key_name()
        try:
            target, blob = _generate_data_key(self, bucket, key_name, key_ref, resolve_in)
        except S3KmsError as refusal:
            return refusal.response
        result = original(self)
        _stamp(self, key_name, target, blob)
        return result

    put_object.__wrapped__ = original  # type: ignore[attr-defined]
    return put_object


def _get_object(original: Callable[[S3Response], Response]) -> Callable[[S3Response], Response]:
    def get_object(self: S3Response) -> Response:
        bucket = self.backend.get_bucket(self.bucket_name)
        try:
            stored = self.backend.get_object(
                self.bucket_name, self.parse_key_name(), version_id=self._get_param("versionId")
            )
        except S3ClientError:  # missing version etc.: moto answers as usual
            return original(self)
        if stored is None or stored.encryption not in KMS_ALGORITHMS:
            return original(self)
        try:
            _decrypt(self, bucket, stored)
        except S3KmsError as refusal:
            return refusal.response
        return original(self)

    get_object.__wrapped__ = original  # type: ignore[attr-defined]
    return get_object


def _copy_source(response: S3Response) -> FakeKey | None:
    source = response.headers.get("x-amz-copy-source") or ""
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    parsed = urlparse(source)
    path = unquote(parsed.path).lstrip("/")
    if "/" not in path:
        return None
    bucket_name, key_name = path.split("/", 1)
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    try:
        return response.backend.get_object(bucket_name, key_name, version_id=version)
    except S3ClientError:
        return None


def _copy_object(original: Callable[[S3Response], Response]) -> Callable[[S3Response], Response]:
    """CopyObject: Decrypt of an SSE-KMS source, GenerateDataKey for an SSE-KMS destination."""

    def copy_object(self: S3Response) -> Response:
        source = _copy_source(self)
        bucket = self.backend.get_bucket(self.bucket_name)
        key_name = self.parse_key_name()
        algorithm, key_ref, resolve_in = _requested_sse(self, bucket)
        target: KmsTarget | None = None
        blob: bytes | None = None
        try:
            if source is not None and source.encryption in KMS_ALGORITHMS:
                _decrypt(self, self.backend.get_bucket(source.bucket_name), source)
            if algorithm in KMS_ALGORITHMS:
                target, blob = _generate_data_key(self, bucket, key_name, key_ref, resolve_in)
        except S3KmsError as refusal:
            return refusal.response
        result = original(self)
        if target is not None:
            _stamp(self, key_name, target, blob)
        return result

    copy_object.__wrapped__ = original  # type: ignore[attr-defined]
    return copy_object


_UPLOAD_ID = re.compile(rb"<UploadId>([^<]+)</UploadId>")


def _key_response_post(original: Callable[..., Response]) -> Callable[..., Response]:
    """CreateMultipartUpload with SSE-KMS: GenerateDataKey (the upload then remembers the key)."""

    def key_response_post(
        self: S3Response,
        request: Any,
        body: bytes,
        bucket_name: str,
        query: dict[str, Any],
        key_name: str,
    ) -> Response:
        if body != b"" or "uploads" not in query:
            return original(self, request, body, bucket_name, query, key_name)
        bucket = self.backend.get_bucket(bucket_name)
        algorithm, key_ref, resolve_in = _requested_sse(self, bucket)
        if algorithm not in KMS_ALGORITHMS:
            return original(self, request, body, bucket_name, query, key_name)
        try:
            target, _ = _generate_data_key(self, bucket, key_name, key_ref, resolve_in)
        except S3KmsError as refusal:
            return refusal.response
        result = original(self, request, body, bucket_name, query, key_name)
        text = result[2] if isinstance(result[2], bytes) else str(result[2]).encode()
        match = _UPLOAD_ID.search(text)
        multipart = bucket.multiparts.get(match.group(1).decode()) if match else None
        if multipart is not None:
            multipart.byok_kms_key_arn = target.key.arn  # type: ignore[attr-defined]
        return result

    key_response_post.__wrapped__ = original  # type: ignore[attr-defined]
    return key_response_post


def _upload_part(original: Callable[[S3Response], Response]) -> Callable[[S3Response], Response]:
    """UploadPart of an SSE-KMS upload: S3 needs kms:Decrypt on the upload's key."""

    def upload_part(self: S3Response) -> Response:
        bucket = self.backend.get_bucket(self.bucket_name)
        multipart = bucket.multiparts.get(self._get_param("uploadId") or "")
        key_arn = getattr(multipart, "byok_kms_key_arn", None)
        if key_arn is None:
            return original(self)
        object_arn = _object_arn(bucket, self.parse_key_name())
        try:
            region = bucket.region_name
            target = resolve_key(key_arn, default_account=bucket.account_id, region=region)
            _authorize_and_check(target, self, "kms:Decrypt", region, object_arn)
        except S3KmsError as refusal:
            return refusal.response
        return original(self)

    upload_part.__wrapped__ = original  # type: ignore[attr-defined]
    return upload_part


PATCHES: list[Patch] = [
    Patch(S3Response, "put_object", _put_object, why="SSE-KMS PutObject: GenerateDataKey"),
    Patch(S3Response, "get_object", _get_object, why="SSE-KMS GetObject: Decrypt"),
    Patch(S3Response, "copy_object", _copy_object, why="CopyObject: Decrypt + GenerateDataKey"),
    Patch(
        S3Response,
        "_key_response_post",
        _key_response_post,
        why="CreateMultipartUpload: GenerateDataKey",
    ),
    Patch(S3Response, "upload_part", _upload_part, why="UploadPart: Decrypt"),
]
