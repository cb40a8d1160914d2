"""IAM policy variables (``${aws:username}``, ``${key, 'default'}``, ``${*}``, ``${?}``, ``${$}``).

IAM docs ("Policy elements: variables and tags"): variables work in policies with
``"Version": "2012-10-17"``, in the resource part of a ``Resource`` ARN (after the fifth colon)
and in the values of String, ARN and Bool condition operators. A variable whose key is absent
(or multi-valued) and has no default has no value: :class:`Unresolved` is raised and the caller
makes that one policy value match nothing ("Policy variables with no value": a positive
operator does not match, a negated one does; a ``Resource`` entry matches no resource).

In wildcard operators, text that came from a substitution (and ``${*}`` / ``${?}``) is matched
literally; we mark those characters with private-use sentinels that only the template-aware
regex compiler (``wildcard_regex(..., templated=True)``) understands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from byok.errors import PolicyError

#: literal '*' / '?' inside a resolved wildcard pattern (see module doc)
LITERAL_STAR = "\ue000"
LITERAL_QMARK = "\ue001"
_SENTINEL_MAP = str.maketrans({"*": LITERAL_STAR, "?": LITERAL_QMARK})
_VARIABLE_RE = re.compile(r"\$\{([^}]*)\}")
_INNER_RE = re.compile(r"\s*([^\s,'{}$]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")


class Unresolved(Exception):
    """A variable with no value and no default: the statement containing it is invalid."""


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # lower case
    default: str | None


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string with variables, pre-split into literal text and variables."""

    raw: str
    parts: tuple[str | Variable, ...]

    def resolve(self, context: Mapping[str, tuple[object, ...]], *, wildcards: bool) -> str:
        """Substitute from the request context; ``wildcards``: protect substituted * and ?."""
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            values = context.get(part.key)
            text: str | None = None
            if values is not None and len(values) == 1:
                value = values[0]
                if isinstance(value, str):
                    text = value
                elif isinstance(value, bool):
                    text = "true" if value else "false"
                elif isinstance(value, int | float):
                    text = str(value)
            if text is None:
                if part.default is None:
                    raise Unresolved(part.key)
                text = part.default
            out.append(text.translate(_SENTINEL_MAP) if wildcards else text)
        return "".join(out)


def parse_template(value: str, path: str, *, wildcards: bool) -> Template | None:
    """``None`` if ``value`` has no ``${``; else the compiled template (or PolicyError).

    ``wildcards``: the value is a wildcard pattern, so ``${*}``/``${?}`` become sentinels.
    """
    if "${" not in value:
        return None
    if LITERAL_STAR in value or LITERAL_QMARK in value:
        raise PolicyError(f"{path}: unsupported private-use character in {value!r}")
    parts: list[str | Variable] = []
    position = 0
    for match in _VARIABLE_RE.finditer(value):
        literal = value[position : match.start()]
        _reject_open(literal, value, path)
        parts.append(literal)
        inner = match.group(1).strip()
        if inner in ("*", "?"):
            parts.append((LITERAL_STAR if inner == "*" else LITERAL_QMARK) if wildcards else inner)
        elif inner == "$":
            parts.append("$")
        else:
            parsed = _INNER_RE.fullmatch(match.group(1))
            if parsed is None:
                raise PolicyError(f"{path}: malformed policy variable {match.group(0)!r}")
            default = parsed.group(2)
            parts.append(
                Variable(
                    parsed.group(1).lower(), None if default is None else default.replace("''", "'")
                )
            )
        position = match.end()
    tail = value[position:]
    _reject_open(tail, value, path)
    parts.append(tail)
    return Template(value, tuple(p for p in parts if p != ""))


def _reject_open(literal: str, value: str, path: str) -> None:
    if "${" in literal:
        raise PolicyError(f"{path}: unterminated policy variable in {value!r}")
