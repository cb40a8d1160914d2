"""The one JSON reader for untrusted input: key policies, events and queue messages.

Why one reader: the policy parser and the event parser used to disagree (one refused duplicate
keys and ``NaN``, the other took them; one accepted a UTF-8 BOM, the other refused it), and both
read a whole file before any limit applied (``--policy /dev/zero`` ate memory) and recursed
into any nesting (``[[[...]]]`` 1,000 deep ended in a ``RecursionError`` traceback). Here:

- at most ``limit + 1`` bytes are ever read from a file or stdin, then the size is checked;
- bracket depth is counted (outside strings) before ``json.loads`` runs, so nesting deeper than
  ``MAX_DEPTH`` is refused before anything can recurse;
- a UTF-8 BOM is skipped; the text must be UTF-8;
- duplicate object keys, ``NaN`` / ``Infinity`` and numbers that overflow a float are refused
  (which value AWS would keep is not documented: refuse rather than guess);
- every failure is the caller's ``InputError`` subclass whose message names the field and
  quotes values as JSON on one line.

Limits (``docs/identifiers.md``): a KMS key policy is at most 32 KB (32,768 bytes); an
EventBridge event entry at most 256 KB; an SQS message at most 256 KiB as the validate queue is
configured.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Final

from byok.errors import InputError, quote

#: KMS key policy document limit (bytes)
KEY_POLICY_LIMIT: Final = 32 * 1024
#: EventBridge PutEvents entry limit (bytes)
EVENT_LIMIT: Final = 256 * 1024
#: SQS message body limit (bytes), as the validate queue is configured
SQS_MESSAGE_LIMIT: Final = 256 * 1024
#: deepest nesting of arrays / objects accepted (key policies need 6, CloudTrail records ~10)
MAX_DEPTH: Final = 64

_BOM: Final = b"\xef\xbb\xbf"
_STRING_OR_BRACKET: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def read_bytes(path: str, *, limit: int, field: str, error: type[InputError] = InputError) -> bytes:
    """At most ``limit + 1`` bytes of the file ``path`` (``-``: stdin); too many is an error."""
    name = "stdin" if path == "-" else path
    try:
        if path == "-":
            data = _read_stdin(limit + 1, field)
        else:
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
    except FileNotFoundError:
        raise InputError(f"{field}: file not found: {quote(path)}") from None
    except IsADirectoryError:
        raise InputError(f"{field}: {quote(path)} is a directory, expected a JSON file") from None
    except OSError as exc:
        raise InputError(f"{field}: cannot read {quote(name)}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise error(f"{field}: {quote(name)} is larger than the {limit}-byte limit")
    return data


def _read_stdin(count: int, field: str) -> bytes:
    stream = sys.stdin
    if stream is None or getattr(stream, "closed", False):
        raise InputError(f"{field}: stdin is closed, nothing to read")
    binary = getattr(stream, "buffer", None)
    if binary is not None:
        return bytes(binary.read(count))
    text = stream.read(count)  # a text stream (tests): characters, each at least one byte
    return text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)


def read_json(path: str, *, limit: int, field: str, error: type[InputError] = InputError) -> Any:
    """The JSON value in the file ``path`` (``-``: stdin), read and parsed within the bounds."""
    data = read_bytes(path, limit=limit, field=field, error=error)
    return loads(data, limit=limit, field=field, error=error)


def decode(
    data: bytes | bytearray | str, *, limit: int, field: str, error: type[InputError] = InputError
) -> str:
    """Text of at most ``limit`` UTF-8 bytes, a leading BOM removed."""
    if isinstance(data, str):
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise error(f"{field}: contains characters that are not valid UTF-8") from None
        if size > limit:
            raise error(f"{field}: {size} bytes, over the {limit}-byte limit")
        return data[1:] if data.startswith("\ufeff") else data
    raw = bytes(data)
    if len(raw) > limit:
        raise error(f"{field}: {len(raw)} bytes, over the {limit}-byte limit")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{field}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def loads(
    data: bytes | bytearray | str,
    *,
    limit: int,
    field: str,
    error: type[InputError] = InputError,
) -> Any:
    """Parse JSON text within the bounds (size, depth, no duplicate keys, finite numbers)."""
    text = decode(data, limit=limit, field=field, error=error)
    check_depth(text, field=field, error=error)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out:
                raise error(f"{field}: duplicate JSON key {quote(key)} in one object")
            out[key] = value
        return out

    def constant(name: str) -> Any:
        raise error(f"{field}: {name} is not valid JSON")

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise error(f"{field}: number {quote(text)} is too large")
        return value

    try:
        value = json.loads(
            text, object_pairs_hook=pairs, parse_constant=constant, parse_float=number
        )
    except json.JSONDecodeError as exc:
        raise error(
            f"{field}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError:  # int() refuses integers of more than 4,300 digits
        raise error(f"{field}: not valid JSON (a number with too many digits)") from None
    except RecursionError:  # unreachable after check_depth; kept as the last guard
        raise error(f"{field}: JSON nested too deeply") from None
    if "\\u" in text:  # only an escape can make a lone surrogate, which no output can print
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise error(f"{field}: a \\u escape names half a UTF-16 surrogate pair") from None
    return value


def check_depth(text: str, *, field: str, error: type[InputError] = InputError) -> None:
    """Refuse nesting deeper than ``MAX_DEPTH`` (brackets inside strings do not count)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for match in _STRING_OR_BRACKET.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise error(f"{field}: JSON nested deeper than {MAX_DEPTH} levels")
        elif token in ("]", "}"):
            depth -= 1


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of an already-parsed value, counted iteratively (never recurses), stopping
    once past ``limit``: handlers receive events Lambda has parsed, and check them with this."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list | tuple):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_value(
    value: Any, *, limit: int, field: str, error: type[InputError] = InputError
) -> None:
    """Refuse an already-decoded value nested deeper than ``MAX_DEPTH`` or larger than ``limit``
    bytes as compact JSON (Lambda hands events over parsed: EventBridge itself accepts 1,000
    levels, more than anything downstream should have to recurse through)."""
    if depth_of(value) > MAX_DEPTH:
        raise error(f"{field}: nested deeper than {MAX_DEPTH} levels")
    if dumps_size(value) > limit:
        raise error(f"{field}: larger than the {limit}-byte limit")


def dumps_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (for size limits on parsed values)."""
    return len(
        json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode(
            "utf-8", "surrogatepass"
        )
    )
