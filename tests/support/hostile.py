"""Hypothesis strategies for hostile input, shared by the fuzz tests (``tests/fuzz``).

What an attacker sends: valid values spelled another way (case, white space, digits of another
script, full-width letters, a trailing newline), arbitrary text and JSON, JSON nested deeper than
any parser should recurse, and the project's own sample events with one leaf replaced, one key
dropped or one value of the wrong type. Details of each edit come from a seeded ``Random`` so
generation stays cheap at 10,000 examples.
"""

from __future__ import annotations

import copy
import json
import random
import unicodedata
from typing import Any

from hypothesis import strategies as st

#: every Unicode decimal digit, by ASCII value (full-width, Arabic-Indic, Devanagari...)
DIGITS: dict[str, list[str]] = {}
for _cp in range(0x110000):
    if unicodedata.category(chr(_cp)) == "Nd":
        DIGITS.setdefault(str(unicodedata.digit(chr(_cp))), []).append(chr(_cp))

SPACES = (" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x00", "\u00a0", "\u2003", "\u3000", "\ufeff")
SPELLING_EDITS = ("case", "space", "digits", "newline", "alias", "bare", "full-width", "cut")

#: values that have broken parsers before
NASTY = (
    "",
    "-",
    "null",
    "None",
    "NaN",
    "\n",
    "/dev/zero",
    "'",
    '"',
    "${AWS::AccountId}",
    "*",
    "?",
    "arn:",
    "arn:aws:",
    "arn:aws:kms:::",
    "%s%s%n",
    "\ud800",
)
#: long values (a label-friendly strategy: the statistics print strategies, not 3,000 x's)
LONG = st.integers(300, 5000).map(lambda n: "x" * n)


def respell(value: str, seed: int, edits: list[str]) -> str:
    """``value`` with each edit applied (details from ``Random(seed)``)."""
    rnd = random.Random(seed)
    text = value
    for edit in edits:
        if edit == "case":
            text = "".join(c.swapcase() if rnd.random() < 0.5 else c for c in text)
        elif edit == "space":
            at = rnd.randint(0, len(text))
            text = text[:at] + rnd.choice(SPACES) + text[at:]
        elif edit == "digits":
            text = "".join(
                rnd.choice(DIGITS[c]) if c in "0123456789" and rnd.random() < 0.5 else c
                for c in text
            )
        elif edit == "newline":
            text += rnd.choice(("\n", "\r\n", "\n\n"))
        elif edit == "alias" and ":key/" in text:
            text = text.replace(":key/", ":alias/", 1)
        elif edit == "bare" and ":key/" in text:
            text = text.split(":key/", 1)[1]
        elif edit == "full-width":
            text = "".join(
                chr(ord(c) + 0xFEE0) if "!" <= c <= "~" and rnd.random() < 0.5 else c for c in text
            )
        elif edit == "cut" and text:
            at = rnd.randint(0, len(text) - 1)
            text = text[:at] + text[at + 1 :]
    return text


@st.composite
def spelling(draw: st.DrawFn, value: str) -> str:
    """Another spelling of ``value`` (one to three edits)."""
    edits = draw(st.lists(st.sampled_from(SPELLING_EDITS), min_size=1, max_size=3))
    return respell(value, draw(st.integers(0, 2**32)), edits)


def text_like(valid: str) -> st.SearchStrategy[str]:
    """What a hostile caller puts where ``valid`` belongs (half the time ``valid`` itself, so
    the other fields' handling is reached too)."""
    return st.one_of(
        st.just(valid),
        st.one_of(
            spelling(valid),
            st.sampled_from(NASTY),
            LONG,
            st.text(max_size=40),
            st.text(alphabet=st.characters(codec="ascii"), max_size=80),
        ),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Arbitrary JSON values (including ones no schema expects)."""
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(NASTY),
        LONG,
    )
    return st.recursive(
        leaves,
        lambda kids: st.one_of(
            st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=10), kids, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value nested ``depth`` levels deep (arrays and objects alternating)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += _paths(child, (*prefix, i))
    return found


MUTATIONS = ("replace", "drop", "respell", "wrap", "deep", "huge", "type")


def mutate(sample: Any, seed: int, kind: str, replacement: Any) -> Any:
    """``sample`` with one place changed: replaced by ``replacement``, dropped, respelled, wrapped
    in a list, nested deep, made huge, or given another type."""
    rnd = random.Random(seed)
    out = copy.deepcopy(sample)
    paths = _paths(out)
    path = rnd.choice(paths)
    if not path:
        return replacement if kind == "replace" else out
    parent = out
    for step in path[:-1]:
        parent = parent[step]
    key = path[-1]
    current = parent[key]
    if kind == "replace":
        parent[key] = replacement
    elif kind == "drop":
        del parent[key]
    elif kind == "respell" and isinstance(current, str):
        parent[key] = respell(current, seed, [rnd.choice(SPELLING_EDITS)])
    elif kind == "wrap":
        parent[key] = [current]
    elif kind == "deep":
        parent[key] = nested(rnd.choice((70, 200, 300)), current)  # hypothesis reprs draws
    elif kind == "huge":
        parent[key] = "x" * rnd.choice((300_000, 40_000))
    elif kind == "type":
        parent[key] = rnd.choice((None, 0, 1.5, True, "", [], {}, json.dumps(current)))
    return out


@st.composite
def mutated(draw: st.DrawFn, samples: list[Any]) -> Any:
    """One of ``samples`` with one to two places changed."""
    value = draw(st.sampled_from(samples))
    for _ in range(draw(st.integers(1, 2))):
        value = mutate(
            value,
            draw(st.integers(0, 2**32)),
            draw(st.sampled_from(MUTATIONS)),
            draw(json_values(4)),
        )
    return value


def events_like(samples: list[Any]) -> st.SearchStrategy[Any]:
    """Hostile events: mutated samples (mostly), arbitrary JSON, deep nesting, foreign payloads."""
    return st.one_of(
        mutated(samples),
        mutated(samples),
        mutated(samples),
        json_values(),
        st.sampled_from(
            [
                None,
                [],
                "event",
                {},
                nested(300),
                {"Records": [{"eventSource": "aws:sqs", "body": "{}"}]},
                {"Records": [{"eventSource": "aws:s3", "s3": {}}]},
                {"eventVersion": "1.08", "eventName": "DisableKey"},
            ]
        ),
    )
