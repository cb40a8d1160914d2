"""The condition operator registry: every IAM operator family, compiled once per policy.

Each base operator (``StringEquals``, ``NumericLessThan``, ...) is registered with a
*value compiler*: it validates the policy's values (raising :class:`PolicyError` naming the
place) and returns a per-request-value predicate in the positive sense. The predicate answers
``True`` (matches one of the policy values), ``False`` (matches none) or ``None`` (the request
value cannot be compared: wrong type, not a number, not a date, not an IP...).

:func:`compile_clause` then wraps the predicate with the rules that are the same for every
family (IAM "Condition operators" and "Conditions with multiple context keys or values"):

- several values for one key: OR; for a negated operator: NOR ("If a single negated matching
  condition operator includes multiple values for a context key, those values are evaluated
  using a logical NOR");
- key missing from the request: plain operators are false, negated operators are true ("If the
  policy condition requires that the key is not matched, such as StringNotLike or ArnNotLike,
  and the right key is not present, the condition is true"), ``...IfExists`` is true, ``Null``
  tests presence;
- ``ForAllValues:`` is true for a missing or empty key, ``ForAnyValue:`` false;
- a request value that cannot be compared satisfies neither the positive nor the negated sense
  (fail closed: we never guess that "abc" is "not equal" to 5).

A multi-valued request key used *without* a set prefix matches when any of its values matches
(the negated operator: when none does). IAM documents set operators for multi-valued keys and
warns against plain operators on them; "any value" is the only reading that agrees with
``ForAnyValue`` and with the NOR rule for negated operators, so it is what we chose.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

from byok.errors import PolicyError
from byok.policy.matching import compile_arn_patterns, compile_patterns
from byok.policy.variables import Template, Unresolved, parse_template
from byok.times import epoch_seconds

#: a JSON scalar as it appears in a policy or in a request context
Scalar = str | bool | int | float | bytes
#: per-request-value predicate: True = matches a policy value, False = none, None = incomparable
ValuePredicate = Callable[[object], bool | None]
#: request context after normalisation: lower-case key -> non-empty tuple of values
Context = Mapping[str, tuple[object, ...]]
ClauseTest = Callable[[Context], bool]
#: (policy values, place for errors, values are resolved templates) -> predicate
ValueCompiler = Callable[[tuple[Scalar, ...], str, bool], ValuePredicate]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    negated: bool
    compile_values: ValueCompiler
    #: policy variables allowed in values (IAM: String, ARN and Bool operators)
    variables: bool = False
    #: values are wildcard patterns (``${*}`` / ``${?}`` escapes apply)
    wildcards: bool = False


OPERATORS: dict[str, OperatorSpec] = {}
SET_PREFIXES = ("ForAllValues", "ForAnyValue")


def _register(
    *names: tuple[str, bool], variables: bool = False, wildcards: bool = False
) -> Callable[[ValueCompiler], ValueCompiler]:
    """Register one value compiler under its positive and negated operator names."""

    def wrap(fn: ValueCompiler) -> ValueCompiler:
        for name, negated in names:
            OPERATORS[name] = OperatorSpec(name, negated, fn, variables, wildcards)
        return fn

    return wrap


def _convert_all(
    values: tuple[Scalar, ...], path: str, convert: Callable[[object], T | None], expected: str
) -> list[T]:
    """Convert every policy value or raise PolicyError naming the value's place."""
    out: list[T] = []
    for i, value in enumerate(values):
        converted = convert(value)
        if converted is None:
            where = f"{path}[{i}]" if len(values) > 1 else path
            raise PolicyError(f"{where}: expected {expected}, got {value!r}")
        out.append(converted)
    return out


# --- String -----------------------------------------------------------------------------------


def _as_text(value: object) -> str | None:
    """Request/policy scalar as IAM compares it as a string (JSON spelling for bool/number)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return None


def _text_predicate(test: Callable[[str], bool]) -> ValuePredicate:
    def predicate(value: object) -> bool | None:
        text = value if type(value) is str else _as_text(value)
        if text is None:
            return None
        return test(text)

    return predicate


@_register(("StringEquals", False), ("StringNotEquals", True), variables=True)
def _string_equals(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    # Exact and case-sensitive; wildcards are literal characters for StringEquals.
    exact = frozenset(_convert_all(values, path, _as_text, "a string"))
    return _text_predicate(exact.__contains__)


@_register(("StringEqualsIgnoreCase", False), ("StringNotEqualsIgnoreCase", True), variables=True)
def _string_equals_ic(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    exact = frozenset(t.lower() for t in _convert_all(values, path, _as_text, "a string"))
    return _text_predicate(lambda text: text.lower() in exact)


@_register(("StringLike", False), ("StringNotLike", True), variables=True, wildcards=True)
def _string_like(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    patterns = _convert_all(values, path, _as_text, "a string")
    return _text_predicate(compile_patterns(patterns, templated=templated))


# --- Numeric and Date -------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _as_number(value: object) -> float | None:
    """JSON numbers or numeric strings ("NumericLessThan": {"s3:max-keys": "10"}), finite only."""
    if isinstance(value, bool):
        return None
    numeric = isinstance(value, int | float)
    if not numeric and not (isinstance(value, str) and _NUMBER_RE.fullmatch(value.strip())):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int too large for a float
        return None
    return number if math.isfinite(number) else None


def _as_epoch(value: object) -> float | None:
    """ISO 8601 date/time (naive = UTC) or epoch seconds, as IAM date operators accept."""
    if isinstance(value, datetime):
        return epoch_seconds(value)
    if isinstance(value, str):
        text = value.strip()
        return _as_number(text) if _NUMBER_RE.fullmatch(text) else epoch_seconds(text)
    return _as_number(value)


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": float.__eq__,
    "LessThan": float.__lt__,
    "LessThanEquals": float.__le__,
    "GreaterThan": float.__gt__,
    "GreaterThanEquals": float.__ge__,
}


def _ordered_compiler(
    convert: Callable[[object], float | None],
    expected: str,
    compare: Callable[[float, float], bool],
) -> ValueCompiler:
    """Numeric and Date operators: request value <op> any policy value (OR)."""

    def compile_values(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
        bounds = tuple(_convert_all(values, path, convert, expected))

        def predicate(value: object) -> bool | None:
            converted = convert(value)
            if converted is None:
                return None
            return any(compare(converted, bound) for bound in bounds)

        return predicate

    return compile_values


_NUMBER = "a number"
_DATE = "an ISO 8601 date/time or epoch seconds"
for _suffix, _compare in _COMPARE.items():
    OPERATORS[f"Numeric{_suffix}"] = OperatorSpec(
        f"Numeric{_suffix}", False, _ordered_compiler(_as_number, _NUMBER, _compare)
    )
    OPERATORS[f"Date{_suffix}"] = OperatorSpec(
        f"Date{_suffix}", False, _ordered_compiler(_as_epoch, _DATE, _compare)
    )
OPERATORS["NumericNotEquals"] = OperatorSpec(
    "NumericNotEquals", True, OPERATORS["NumericEquals"].compile_values
)
OPERATORS["DateNotEquals"] = OperatorSpec(
    "DateNotEquals", True, OPERATORS["DateEquals"].compile_values
)


# --- Bool, Binary, IP address -----------------------------------------------------------------


def _as_bool(value: object) -> bool | None:
    """JSON booleans or the strings "true"/"false" in any case (IAM docs, Boolean operators)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low == "true":
            return True
        if low == "false":
            return False
    return None


def _policy_bools(values: tuple[Scalar, ...], path: str) -> frozenset[bool]:
    return frozenset(_convert_all(values, path, _as_bool, "true or false"))


def _set_predicate(convert: Callable[[object], T | None], wanted: frozenset[T]) -> ValuePredicate:
    """Equality families (Bool, Binary): request value, converted, is one of the policy values."""

    def predicate(value: object) -> bool | None:
        converted = convert(value)
        if converted is None:
            return None
        return converted in wanted

    return predicate


@_register(("Bool", False), variables=True)
def _bool(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    return _set_predicate(_as_bool, _policy_bools(values, path))


def _as_bytes(value: object) -> bytes | None:
    """Binary values are base64 text in policies; requests may give bytes or base64 text."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
    return None


def _policy_bytes(value: object) -> bytes | None:
    return _as_bytes(value) if isinstance(value, str) else None


@_register(("BinaryEquals", False))
def _binary_equals(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    wanted = frozenset(_convert_all(values, path, _policy_bytes, "a base64 string"))
    return _set_predicate(_as_bytes, wanted)


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _as_network(value: object) -> IpNetwork | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _as_address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


@_register(("IpAddress", False), ("NotIpAddress", True))
def _ip_address(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    nets = tuple(
        _convert_all(values, path, _as_network, "an IP address or CIDR such as '203.0.113.0/24'")
    )

    def predicate(value: object) -> bool | None:
        address = _as_address(value)
        if address is None:
            return None
        return any(address.version == net.version and address in net for net in nets)

    return predicate


# --- ARN --------------------------------------------------------------------------------------


def _as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


@_register(
    ("ArnEquals", False),
    ("ArnLike", False),
    ("ArnNotEquals", True),
    ("ArnNotLike", True),
    variables=True,
    wildcards=True,
)
def _arn(values: tuple[Scalar, ...], path: str, templated: bool) -> ValuePredicate:
    # IAM docs list ArnEquals and ArnLike together: case-sensitive, per-component, wildcards.
    patterns = _convert_all(values, path, _as_str, "an ARN string")
    match = compile_arn_patterns(patterns, templated)

    def predicate(value: object) -> bool | None:
        if not isinstance(value, str):
            return None
        return match(value)

    return predicate


# --- clause assembly --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParsedOperator:
    name: str
    base: str
    set_operator: str | None
    if_exists: bool


@lru_cache(maxsize=1024)
def parse_operator(name: str, path: str) -> ParsedOperator:
    """Split ``ForAnyValue:StringLikeIfExists`` into prefix, base and suffix; reject unknowns.
    (Cached: a pure function of its text; an error is never cached.)"""
    set_operator: str | None = None
    base = name
    if ":" in name:
        prefix, _, base = name.partition(":")
        if prefix not in SET_PREFIXES:
            raise PolicyError(
                f"{path}: unknown set operator {prefix!r} (expected ForAllValues or ForAnyValue)"
            )
        set_operator = prefix
    if_exists = False
    if base.endswith("IfExists") and base != "IfExists":
        base = base[: -len("IfExists")]
        if_exists = True
    if base == "Null":
        if if_exists or set_operator:
            raise PolicyError(f"{path}: Null cannot take IfExists or a set operator")
        return ParsedOperator(name, base, None, False)
    if base not in OPERATORS:
        raise PolicyError(f"{path}: unknown condition operator {name!r}")
    return ParsedOperator(name, base, set_operator, if_exists)


@dataclass(frozen=True, slots=True)
class ConditionClause:
    """One ``operator: {key: values}`` entry; ``test(context)`` decides it for a request."""

    operator: str
    base: str
    key: str
    values: tuple[Scalar, ...]
    set_operator: str | None
    if_exists: bool
    negated: bool
    test: ClauseTest
    #: ``key`` in lower case, as the request context spells it (read for every candidate and
    #: request of a check: set once here, not lowered on every read)
    key_lower: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key_lower", self.key.lower())


def compile_clause(
    op: ParsedOperator,
    key: str,
    values: tuple[Scalar, ...],
    path: str,
    *,
    variables: bool = False,
) -> ConditionClause:
    """Compile one key's clause. ``variables``: the policy is Version 2012-10-17, so ``${...}``
    in String/ARN operator values are policy variables (resolved per request).

    A clause is immutable and a pure function of these arguments (``path`` only names the
    place in an error, and an error is never cached), so each distinct clause is compiled
    once: a check parses the policy it is given, and the same policies come back. Only text
    values (what :func:`normalise_values` gives the parser) are cached: ``True == 1`` would
    let a cache confuse two clauses."""
    values = tuple(values)
    if all(type(v) is str for v in values):
        # keyed by the operator's fields: a tuple of them hashes in C, the dataclass in Python
        fields = (op.name, op.base, op.set_operator, op.if_exists)
        return _cached_clause(fields, key, values, path, variables)
    return _compile_clause(op, key, values, path, variables)


def _compile_clause(
    op: ParsedOperator, key: str, values: tuple[Scalar, ...], path: str, variables: bool
) -> ConditionClause:
    key_lower = key.lower()
    if op.base == "Null":
        test = _null_test(key_lower, _policy_bools(values, path))
        return ConditionClause(op.name, "Null", key, values, None, False, False, test)
    spec = OPERATORS[op.base]
    templates: tuple[Template | None, ...] = ()
    if variables and spec.variables:
        templates = tuple(
            parse_template(v, f"{path}[{i}]" if len(values) > 1 else path, wildcards=spec.wildcards)
            if isinstance(v, str)
            else None
            for i, v in enumerate(values)
        )
    if any(templates):
        literals = tuple(v for v, t in zip(values, templates, strict=True) if t is None)
        spec.compile_values(literals, path, False)  # type-check the literal values now
        test = _templated_test(spec, key_lower, values, templates, op.if_exists, op.set_operator)
    else:
        predicate = spec.compile_values(values, path, False)
        test = _clause_test(key_lower, predicate, spec.negated, op.if_exists, op.set_operator)
    return ConditionClause(
        op.name, op.base, key, values, op.set_operator, op.if_exists, spec.negated, test
    )


@lru_cache(maxsize=4096)
def _cached_clause(
    operator: tuple[str, str, str | None, bool],
    key: str,
    values: tuple[str, ...],
    path: str,
    variables: bool,
) -> ConditionClause:
    """The cache of :func:`compile_clause` (text values only)."""
    return _compile_clause(ParsedOperator(*operator), key, values, path, variables)


def _templated_test(
    spec: OperatorSpec,
    key: str,
    values: tuple[Scalar, ...],
    templates: tuple[Template | None, ...],
    if_exists: bool,
    set_operator: str | None,
) -> ClauseTest:
    """Resolve the values' variables per request, then test as usual.

    A variable with no value in the request (and no default) makes its policy value match
    nothing (IAM User Guide, "Policy variables with no value"): a positive operator does not
    match it, a negated operator does (NOR over no matching value is true)."""
    pairs = tuple(zip(values, templates, strict=True))
    wildcards = spec.wildcards

    def test(context: Context) -> bool:
        resolved: list[Scalar] = []
        for value, template in pairs:
            if template is None:
                resolved.append(value)
                continue
            try:
                resolved.append(template.resolve(context, wildcards=wildcards))
            except Unresolved:
                continue
        return _resolved_test(spec.name, key, tuple(resolved), if_exists, set_operator)(context)

    return test


@lru_cache(maxsize=2048)
def _resolved_test(
    base: str,
    key: str,
    resolved: tuple[Scalar, ...],
    if_exists: bool,
    set_operator: str | None,
) -> ClauseTest:
    spec = OPERATORS[base]
    try:
        predicate = spec.compile_values(resolved, key, True)
    except PolicyError:
        # a substituted value the operator cannot read (Bool given "maybe"): it matches nothing
        usable = []
        for value in resolved:
            try:
                spec.compile_values((value,), key, True)
            except PolicyError:
                continue
            usable.append(value)
        predicate = spec.compile_values(tuple(usable), key, True)
    return _clause_test(key, predicate, spec.negated, if_exists, set_operator)


def _null_test(key: str, wanted: frozenset[bool]) -> ClauseTest:
    """Null: ``true`` = the key is absent (or has no values), ``false`` = it is present."""

    def test(context: Context) -> bool:
        absent = key not in context
        return absent in wanted

    return test


def _clause_test(
    key: str,
    predicate: ValuePredicate,
    negated: bool,
    if_exists: bool,
    set_operator: str | None,
) -> ClauseTest:
    """Missing-key, multi-value and set-operator rules, identical for every operator family."""
    # Value that "satisfies" the operator: True for positive, False for negated; None never does.
    want = not negated
    if set_operator == "ForAllValues":

        def for_all(context: Context) -> bool:
            values = context.get(key)
            if values is None:
                return True  # "ForAllValues ... returns true if there are no keys in the request"
            if len(values) == 1:  # the common case without a generator (hot: every request)
                return predicate(values[0]) is want
            return all(predicate(v) is want for v in values)

        return for_all
    if set_operator == "ForAnyValue":

        def for_any(context: Context) -> bool:
            values = context.get(key)
            if values is None:
                return if_exists  # ForAnyValue on a missing key: false (unless IfExists)
            if len(values) == 1:
                return predicate(values[0]) is want
            return any(predicate(v) is want for v in values)

        return for_any
    if negated:

        def plain_negated(context: Context) -> bool:
            values = context.get(key)
            if values is None:
                return True  # negated operator, key absent: true
            # NOR over policy values, and no request value may match or be incomparable
            if len(values) == 1:
                return predicate(values[0]) is False
            return all(predicate(v) is False for v in values)

        return plain_negated

    def plain(context: Context) -> bool:
        values = context.get(key)
        if values is None:
            return if_exists  # plain: false; ...IfExists: true
        if len(values) == 1:
            return predicate(values[0]) is True
        return any(predicate(v) is True for v in values)

    return plain


def normalise_values(value: object, path: str) -> tuple[str, ...]:
    """A condition value: a scalar or a non-empty list of scalars (no null, no objects), each
    in the string form IAM compares it by.

    IAM compares condition values as text: a JSON number is its digits
    (``"aws:PrincipalAccount": 123456789012`` is the account ``"123456789012"``) and a JSON
    boolean is ``"true"`` / ``"false"``. Normalising here, once, means the evaluator, the
    contract's candidate requests and the fixes all see the same strings.
    """
    items: Sequence[object]
    if type(value) is str:  # the common shapes first: text needs neither checks nor spelling
        return (value,)
    if type(value) is list and value and all(type(item) is str for item in value):
        return tuple(value)
    if isinstance(value, list | tuple):
        if not value:
            raise PolicyError(f"{path}: expected at least one value, got an empty list")
        items = value
        for i, item in enumerate(items):
            _check_scalar(item, f"{path}[{i}]")
    else:
        _check_scalar(value, path)
        items = (value,)
    return tuple(scalar_text(item) for item in items)  # type: ignore[arg-type]


def scalar_text(value: str | bool | int | float) -> str:
    """The text of a JSON scalar as IAM compares it (``true``, ``123456789012``, ``1.5``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return repr(value)  # shortest round-tripping spelling of a float, e.g. 1.5 or 1e+20


def _check_scalar(value: object, path: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise PolicyError(f"{path}: expected a finite number, got {value!r}")
    if not isinstance(value, str | bool | int | float):
        kind = "null" if value is None else type(value).__name__
        raise PolicyError(f"{path}: expected a string, number or boolean, got {kind}")
