"""Schemas compiled into predicates: the fast path of ``core.schema``'s checks.

Called by ``core.schema`` only. ``compile_schema(schema, documents=..., base=...)`` turns a
JSON Schema into a function that says whether data is valid, as jsonschema's draft 2020-12
validator extended by ``core.schema`` decides it (patterns read as ECMA-262 reads them),
without building a single error. It compiles only what it decides exactly that way: the
keywords below, ``$ref`` to JSON pointers inside known documents (recursion included), and
keywords jsonschema ignores. A schema that uses anything else (``if``, ``prefixItems``,
``uniqueItems``, ``multipleOf``, ``contains``, anchors, a ``$id`` or ``$schema`` below the
root, a keyword value of an odd type, a pattern that does not compile) compiles to None, and
``core.schema`` checks with jsonschema alone. A predicate may raise on data that is not
JSON; ``core.schema`` then asks jsonschema too.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Any], bool]
#: A URI with a scheme (``urn:...``, ``https://...``): a ``$ref`` to another document.
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")

#: What jsonschema's draft 2020-12 validator asserts (its ``VALIDATORS``); any other key of a
#: schema is an annotation it ignores. A test keeps this list equal to jsonschema's.
ASSERTING_KEYWORDS = frozenset(
    {
        "$dynamicRef",
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "dependentRequired",
        "dependentSchemas",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "if",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "prefixItems",
        "properties",
        "propertyNames",
        "required",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
    }
)
_OBJECT_KEYWORDS = (
    "properties",
    "patternProperties",
    "additionalProperties",
    "required",
    "minProperties",
    "maxProperties",
)
_ARRAY_KEYWORDS = ("items", "minItems", "maxItems")
_STRING_KEYWORDS = ("pattern", "minLength", "maxLength")
_NUMBER_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
#: ``format`` asserts nothing without a format checker, and ``core.schema`` sets none.
_HANDLED = frozenset(
    {"type", "enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "format"}
    | set(_OBJECT_KEYWORDS + _ARRAY_KEYWORDS + _STRING_KEYWORDS + _NUMBER_KEYWORDS)
)


class UnsupportedError(Exception):
    """Something the compiler cannot decide exactly as jsonschema does."""


def compile_schema(
    schema: Any,
    *,
    documents: Mapping[str, Any] | None = None,
    pattern: Callable[[str], re.Pattern[str]],
) -> Predicate | None:
    """The predicate of ``schema`` (None when it uses what this module does not decide).

    ``documents`` are the schemas ``$ref`` may reach, by URI (the root is added under its
    ``$id``, or ``""``); ``pattern`` compiles a schema's regular expressions.
    """
    base = schema.get("$id", "") if isinstance(schema, dict) else ""
    if not isinstance(base, str):
        return None
    compiler = _Compiler({**(documents or {}), base: schema}, pattern)
    try:
        return compiler.compile(schema, base, root=True)
    except (UnsupportedError, re.error, RecursionError):
        return None


def _true(instance: Any) -> bool:
    return True


def _false(instance: Any) -> bool:
    return False


class _Compiler:
    """One compilation: the documents, the pattern compiler, and the ``$ref``s seen."""

    def __init__(
        self, documents: Mapping[str, Any], pattern: Callable[[str], re.Pattern[str]]
    ) -> None:
        self.documents = documents
        self.pattern = pattern
        self.done: dict[tuple[str, str], Predicate] = {}
        self.pending: dict[tuple[str, str], list[Predicate]] = {}

    def compile(self, node: Any, base: str, *, root: bool = False) -> Predicate:
        if node is True:
            return _true
        if node is False:
            return _false
        if not isinstance(node, dict):
            raise UnsupportedError("a schema that is not an object or a boolean")
        if not root and ("$id" in node or "$schema" in node):
            raise UnsupportedError("$id or $schema below the root")
        unknown = (ASSERTING_KEYWORDS - _HANDLED) & set(node)
        if unknown:
            raise UnsupportedError(f"keywords {sorted(unknown)}")
        checks = [check for check in self._keyword_checks(node, base) if check is not _true]
        return _all(checks)

    def _keyword_checks(self, node: dict[str, Any], base: str) -> list[Predicate]:
        checks: list[Predicate] = []
        if "type" in node:
            checks.append(_type_check(node["type"]))
        if "enum" in node:
            checks.append(_enum_check(node["enum"]))
        if "const" in node:
            checks.append(_enum_check([node["const"]]))
        if any(key in node for key in _STRING_KEYWORDS):
            checks.append(self._string_check(node))
        if any(key in node for key in _NUMBER_KEYWORDS):
            checks.append(_number_check(node))
        if any(key in node for key in _ARRAY_KEYWORDS):
            checks.append(self._array_check(node, base))
        if any(key in node for key in _OBJECT_KEYWORDS):
            checks.append(self._object_check(node, base))
        checks.extend(self._combinators(node, base))
        if "$ref" in node:
            checks.append(self._ref(node["$ref"], base))
        return checks

    def _subschemas(self, value: Any, base: str) -> list[Predicate]:
        if not isinstance(value, list):
            raise UnsupportedError("a list of schemas that is not a list")
        return [self.compile(item, base) for item in value]

    def _combinators(self, node: dict[str, Any], base: str) -> list[Predicate]:
        checks: list[Predicate] = []
        if "allOf" in node:
            checks.append(_all(self._subschemas(node["allOf"], base)))
        if "anyOf" in node:
            choices = self._subschemas(node["anyOf"], base)
            checks.append(lambda x: any(choice(x) for choice in choices))
        if "oneOf" in node:
            options = self._subschemas(node["oneOf"], base)
            checks.append(lambda x: sum(1 for option in options if option(x)) == 1)
        if "not" in node:
            negated = self.compile(node["not"], base)
            checks.append(lambda x: not negated(x))
        return checks

    def _string_check(self, node: dict[str, Any]) -> Predicate:
        shortest = _count(node, "minLength", 0)
        longest = _count(node, "maxLength", None)
        written = node.get("pattern")
        if written is not None and not isinstance(written, str):
            raise UnsupportedError("a pattern that is not a string")
        regex = self.pattern(written) if written is not None else None

        def check(x: Any) -> bool:
            if not isinstance(x, str):
                return True
            size = len(x)
            if size < shortest or (longest is not None and size > longest):
                return False
            return regex is None or regex.search(x) is not None

        return check

    def _array_check(self, node: dict[str, Any], base: str) -> Predicate:
        fewest = _count(node, "minItems", 0)
        most = _count(node, "maxItems", None)
        item = self.compile(node["items"], base) if "items" in node else None

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            size = len(x)
            if size < fewest or (most is not None and size > most):
                return False
            return item is None or all(item(value) for value in x)

        return check

    def _object_check(self, node: dict[str, Any], base: str) -> Predicate:
        properties = _mapping(node, "properties")
        named = {name: self.compile(sub, base) for name, sub in properties.items()}
        patterns = [
            (self.pattern(text), self.compile(sub, base))
            for text, sub in _mapping(node, "patternProperties").items()
        ]
        extra = node.get("additionalProperties", True)
        additional = None if extra is True else self.compile(extra, base)
        required = node.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise UnsupportedError("required that is not a list of names")
        fewest = _count(node, "minProperties", 0)
        most = _count(node, "maxProperties", None)
        return _ObjectCheck(named, patterns, additional, tuple(required), fewest, most).check

    def _ref(self, ref: Any, base: str) -> Predicate:
        if not isinstance(ref, str):
            raise UnsupportedError("a $ref that is not a string")
        uri, _, fragment = ref.partition("#")
        if not uri:
            uri = base
        elif not _ABSOLUTE.match(uri):
            raise UnsupportedError("a $ref to a relative URI")
        if (fragment and not fragment.startswith("/")) or "%" in fragment:
            raise UnsupportedError("a $ref to an anchor, or with escapes")
        key = (uri, fragment)
        if key in self.done:
            return self.done[key]
        if key in self.pending:
            return _late(self.pending[key])
        cell = self.pending[key] = []
        target = self._target(uri, fragment)
        # jsonschema picks the validator of a document root that names its $schema: not ours
        whole = not fragment and isinstance(target, dict) and "$schema" not in target
        predicate = self.compile(target, uri, root=whole)
        cell.append(predicate)
        del self.pending[key]
        self.done[key] = predicate
        return predicate

    def _target(self, uri: str, fragment: str) -> Any:
        """The schema at a JSON pointer of a document; no ``$id`` on the way (it would
        change the base of the references below it)."""
        if uri not in self.documents:
            raise UnsupportedError(f"a $ref to an unknown document {uri!r}")
        contents = self.documents[uri]
        if not fragment:
            return contents
        for raw in fragment[1:].split("/"):
            try:
                if isinstance(contents, list):
                    contents = contents[int(raw)]
                else:
                    contents = contents[raw.replace("~1", "/").replace("~0", "~")]
            except (LookupError, ValueError, TypeError) as err:
                raise UnsupportedError(f"a $ref to nowhere: {fragment}") from err
            if isinstance(contents, dict) and "$id" in contents:
                raise UnsupportedError("a $ref through a $id")
        return contents


@dataclass(frozen=True, slots=True)
class _ObjectCheck:
    """The keywords of one schema that apply to objects, in one pass over the keys."""

    named: dict[str, Predicate]
    patterns: list[tuple[re.Pattern[str], Predicate]]
    additional: Predicate | None
    required: tuple[str, ...]
    fewest: int
    most: int | None

    def check(self, x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for name in self.required:
            if name not in x:
                return False
        size = len(x)
        if size < self.fewest or (self.most is not None and size > self.most):
            return False
        named, patterns, additional = self.named, self.patterns, self.additional
        for key, value in x.items():
            sub = named.get(key)
            if sub is not None and not sub(value):
                return False
            matched = sub is not None
            for regex, pattern_sub in patterns:
                if regex.search(key):
                    if not pattern_sub(value):
                        return False
                    matched = True
            if not matched and additional is not None and not additional(value):
                return False
        return True


def _late(cell: list[Predicate]) -> Predicate:
    """A predicate that calls the one ``cell`` will hold (a recursive ``$ref``)."""

    def check(x: Any) -> bool:
        return cell[0](x)

    return check


def _all(checks: Sequence[Predicate]) -> Predicate:
    if not checks:
        return _true
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    chosen = tuple(checks)
    return lambda x: all(check(x) for check in chosen)


def _count(node: dict[str, Any], keyword: str, default: int | None) -> Any:
    value = node.get(keyword, default)
    if value is not default and (isinstance(value, bool) or not isinstance(value, int)):
        raise UnsupportedError(f"{keyword} that is not an integer")
    return value


def _mapping(node: dict[str, Any], keyword: str) -> dict[str, Any]:
    value = node.get(keyword, {})
    if not isinstance(value, dict):
        raise UnsupportedError(f"{keyword} that is not an object")
    return value


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or (isinstance(x, float) and x.is_integer())


_TYPES: Mapping[str, Predicate] = {
    "string": lambda x: isinstance(x, str),
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "integer": _is_integer,
    "number": _is_number,
}


def _type_check(value: Any) -> Predicate:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(name in _TYPES for name in names):
        raise UnsupportedError("an unknown type")
    tests = tuple(_TYPES[name] for name in names)
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(test(x) for test in tests)


def _enum_check(values: Any) -> Predicate:
    if not isinstance(values, list):
        raise UnsupportedError("an enum that is not a list")
    if all(isinstance(value, str) for value in values):
        texts = frozenset(values)
        return lambda x: isinstance(x, str) and x in texts
    chosen = tuple(values)
    return lambda x: any(equal(value, x) for value in chosen)


def _number_check(node: dict[str, Any]) -> Predicate:
    bounds = {key: node[key] for key in _NUMBER_KEYWORDS if key in node}
    if not all(_is_number(value) and isinstance(value, int | float) for value in bounds.values()):
        raise UnsupportedError("a bound that is not a number")
    low, high = bounds.get("minimum"), bounds.get("maximum")
    above, below = bounds.get("exclusiveMinimum"), bounds.get("exclusiveMaximum")

    def check(x: Any) -> bool:
        if not _is_number(x):
            return True
        if not isinstance(x, int | float):
            raise UnsupportedError("a number that is neither an int nor a float")
        return not (
            (low is not None and x < low)
            or (high is not None and x > high)
            or (above is not None and x <= above)
            or (below is not None and x >= below)
        )

    return check


def equal(one: Any, two: Any) -> bool:
    """Equality as jsonschema's ``enum`` and ``const`` see it: ``True`` is not ``1``, in
    lists and objects too."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(equal(i, j) for i, j in zip(one, two, strict=True))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and equal(value, two[key]) for key, value in one.items()
        )
    return bool(_unbool(one) == _unbool(two))


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    return value
