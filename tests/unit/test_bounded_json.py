"""One bounded JSON reader for policies, events and queue messages: the same answers for both."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from byok import bounded_json
from byok.errors import EventError, InputError, PolicyError
from byok.events import normalise
from byok.policy import parse_policy

DEEP = "[" * 1000 + "]" * 1000


def test_nesting_is_refused_before_it_can_recurse() -> None:
    with pytest.raises(InputError, match=r"^x: JSON nested deeper than 64 levels$"):
        bounded_json.loads(DEEP, limit=10_000, field="x")
    with pytest.raises(PolicyError, match="nested deeper"):
        parse_policy('{"Statement": ' + DEEP + "}")
    ok = "[" * 64 + "]" * 64
    assert bounded_json.loads(ok, limit=10_000, field="x") is not None


def test_brackets_inside_strings_do_not_count() -> None:
    text = '["' + "[" * 500 + '\\"[[["]'
    assert bounded_json.loads(text, limit=10_000, field="x") == ["[" * 500 + '"[[[']


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', 'duplicate JSON key "a"'),
        ('{"a": NaN}', "NaN is not valid JSON"),
        ('{"a": Infinity}', "Infinity is not valid JSON"),
        ('{"a": 1e999}', 'number "1e999" is too large'),
        ('{"a": "\\ud800"}', "surrogate"),
        ("1" * 5000, "too many digits"),
        ('{"a": ', "not valid JSON"),
    ],
)
def test_policies_and_events_refuse_the_same_things(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=f"^policy: .*{message}"):
        parse_policy(text)
    with pytest.raises(EventError, match=f"^FILE: .*{message}"):
        bounded_json.loads(text, limit=bounded_json.EVENT_LIMIT, field="FILE", error=EventError)


def test_a_utf8_bom_is_accepted_by_both() -> None:
    policy = b'\xef\xbb\xbf{"Version": "2012-10-17", "Statement": []}'
    assert parse_policy(policy).statements == ()
    assert bounded_json.loads(b'\xef\xbb\xbf{"a": 1}', limit=100, field="FILE") == {"a": 1}


def test_reads_at_most_limit_plus_one_byte(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r'^--policy: "/dev/zero" is larger than the 32768-byte'):
        bounded_json.read_bytes("/dev/zero", limit=32768, field="--policy")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 40_000)
    with pytest.raises(InputError, match="larger than the 32768-byte limit"):
        bounded_json.read_bytes(str(big), limit=32768, field="--policy")


def test_read_errors_name_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match=r"^FILE: file not found: "):
        bounded_json.read_bytes(str(tmp_path / "nope"), limit=10, field="FILE")
    with pytest.raises(InputError, match=r"^FILE: .* is a directory"):
        bounded_json.read_bytes(str(tmp_path), limit=10, field="FILE")
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(InputError, match=r"^FILE: stdin is closed"):
        bounded_json.read_bytes("-", limit=10, field="FILE")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"a": 1}')))
    assert bounded_json.read_json("-", limit=10, field="FILE") == {"a": 1}


def test_depth_of_parsed_values_never_recurses() -> None:
    value: list[object] = []
    node = value
    for _ in range(5000):
        child: list[object] = []
        node.append(child)
        node = child
    assert bounded_json.depth_of(value) == 65  # stops counting past the limit
    assert bounded_json.depth_of({"a": [1, {"b": 2}]}) == 3


def test_sqs_and_s3_payloads_are_named() -> None:
    with pytest.raises(EventError, match=r"^event: this is an SQS message batch .*aws:sqs"):
        normalise({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
    with pytest.raises(EventError, match=r"^event: this is an S3 event notification"):
        normalise({"Records": [{"eventSource": "aws:s3", "s3": {}}]})
    with pytest.raises(EventError, match=r"^event: this is a bare CloudTrail record"):
        normalise({"eventVersion": "1.08", "eventName": "DisableKey"})


def test_decoded_events_are_bounded_before_normalise_walks_them() -> None:
    """EventBridge accepts 1,000 levels; a trigger carrying such evidence used to end in a
    RecursionError when it was hashed or sent on."""
    from event_samples import load

    event = load("rotate_key_service_event")
    deep: object = 1
    for _ in range(995):
        deep = {"a": deep}
    event["detail"]["serviceEventDetails"] = {"x": deep}
    with pytest.raises(EventError, match=r"^event: nested deeper than 64 levels$"):
        normalise(event)
    event["detail"]["serviceEventDetails"] = {"x": "y" * 300_000}
    with pytest.raises(EventError, match=r"^event: larger than the 262144-byte limit$"):
        normalise(event)
