"""JSON Schema checks of manifests (draft 2020-12), with messages written for people.

Called by ``core.loading`` for every manifest document, by ``core.config`` for the agent
configuration, and by ``core.validation`` for
``stackSpec`` against a stack's schema. The schemas ship as package data in
``core/schemas/``; every error is collected, not only the first. Unknown fields become one
problem per field with a suggestion for near misses (``replica`` -> ``replicas``).

Patterns are read as ECMA-262 reads them (JSON Schema's regular expressions): ``$`` matches
only at the very end of the text, never before a final newline as Python's ``$`` does, so
``"name\n"`` does not pass ``^[a-z]+$``.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from gitops_agent.core import fastschema
from gitops_agent.core.violations import quoted, shown, type_words

if TYPE_CHECKING:
    import jsonschema
    import referencing
    from jsonschema.protocols import Validator

JsonPath = tuple[str | int, ...]
SCHEMA_NAMES = ("common", "worker", "workflow", "bundle", "config")


@dataclass(frozen=True, slots=True)
class Problem:
    """One schema problem: where (a path inside the checked data) and what."""

    path: JsonPath
    message: str
    rule: str


class UnusableSchemaError(ValueError):
    """A schema that cannot check data: it refers to itself without end, or to nothing."""


@dataclass(frozen=True, slots=True)
class Checker:
    """A schema ready to check data: its compiled predicate (None when it could not be
    compiled: jsonschema alone checks then), and jsonschema's validator, built on first need."""

    fast: fastschema.Predicate | None
    slow: Callable[[], Validator]


@functools.cache
def _documents() -> dict[str, Any]:
    found = {}
    for name in SCHEMA_NAMES:
        text = resources.files("gitops_agent.core").joinpath(f"schemas/{name}.json").read_text()
        found[f"urn:gitops-agent:{name}"] = json.loads(text)
    return found


@functools.cache
def _registry() -> referencing.Registry[Any]:
    # jsonschema and referencing load only when a document fails its fast check, which
    # keeps them out of the start-up of a `validate` that finds nothing wrong
    import referencing  # noqa: PLC0415
    from referencing.jsonschema import DRAFT202012  # noqa: PLC0415

    pairs = [(uri, DRAFT202012.create_resource(doc)) for uri, doc in _documents().items()]
    return referencing.Registry().with_resources(pairs)


@functools.lru_cache(maxsize=256)
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled so that ``$`` outside a character class and not escaped means the
    end of the text (``\\Z``), as in ECMA-262 without the multiline flag."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append(r"\Z")
            continue
        out.append(char)
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    import jsonschema  # noqa: PLC0415

    if not validator.is_type(instance, "string"):
        return
    try:
        matched = ecma_pattern(pattern).search(instance)
    except re.error as err:
        yield jsonschema.ValidationError(f"the schema's pattern {pattern!r} is invalid: {err}")
        return
    if not matched:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if ecma_pattern(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[Any]:
    import jsonschema  # noqa: PLC0415

    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = [ecma_pattern(p) for p in schema.get("patternProperties", {})]
    extras = sorted(
        (k for k in instance if k not in known and not any(p.search(k) for p in patterns)),
        key=str,
    )
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif additional is False and extras:
        listed = ", ".join(repr(extra) for extra in extras)
        yield jsonschema.ValidationError(f"Additional properties are not allowed ({listed})")


@functools.cache
def _validator_class() -> Any:
    """Draft 2020-12 with ECMA-262 patterns (jsonschema's ``extend`` is untyped: the class
    it returns is used through ``Validator``)."""
    import jsonschema  # noqa: PLC0415

    return jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator,
        {
            "pattern": _pattern,
            "patternProperties": _pattern_properties,
            "additionalProperties": _additional_properties,
        },
    )


def _checker(schema: Any) -> Checker:
    fast = fastschema.compile_schema(schema, documents=_documents(), pattern=ecma_pattern)

    @functools.cache
    def slow() -> Validator:
        validator: Validator = _validator_class()(schema, registry=_registry())
        return validator

    return Checker(fast, slow)


@functools.cache
def checker_for(kind: str) -> Checker:
    """The checker of one schema (``worker``, ``workflow``, ``bundle`` or ``config``)."""
    return _checker(_documents()[f"urn:gitops-agent:{kind}"])


def checker_of(schema: Mapping[str, Any]) -> Checker:
    """A checker for an ad hoc schema such as a stack's ``stackSpec`` schema, compiled once
    per distinct schema (the last ``MAX_AD_HOC`` of them are kept)."""
    try:
        key = json.dumps(schema, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return _checker(schema)
    found = _AD_HOC.get(key)
    if found is None:
        if len(_AD_HOC) >= MAX_AD_HOC:
            del _AD_HOC[next(iter(_AD_HOC))]
        found = _AD_HOC[key] = _checker(schema)
    return found


MAX_AD_HOC = 64
_AD_HOC: dict[str, Checker] = {}


#: What a fast predicate may raise on data that is not plain JSON: jsonschema decides then.
_UNDECIDED = (fastschema.UnsupportedError, RecursionError, TypeError, ValueError)


def passes(checker: Checker, data: Any) -> bool:
    """True when the fast path proves ``data`` valid (False: it may still be valid)."""
    if checker.fast is None:
        return False
    try:
        return checker.fast(data)
    except _UNDECIDED:
        return False


def check(checker: Checker, data: Any) -> list[Problem]:
    """Every problem of ``data`` against ``checker``'s schema, in document order: none at
    once when the fast path proves it valid, else jsonschema's, each explained. Raises
    UnusableSchemaError for a schema that refers to itself without end or to nothing."""
    if passes(checker, data):
        return []
    import referencing.exceptions  # noqa: PLC0415

    problems: list[Problem] = []
    try:
        for error in checker.slow().iter_errors(data):
            problems.extend(_explain(error))
    except RecursionError:
        raise UnusableSchemaError("refers to itself without end") from None
    except referencing.exceptions.Unresolvable as err:
        raise UnusableSchemaError(str(err)) from None
    return problems


def _explain(error: jsonschema.ValidationError) -> Iterator[Problem]:
    path: JsonPath = tuple(error.absolute_path)
    kind = error.validator
    if kind == "additionalProperties":
        yield from _unknown_fields(error, path)
    elif kind == "required":
        missing = _quoted_field(error.message)
        yield Problem(path, f"missing required field '{missing}'{_at(path)}", "schema-required")
    elif kind in ("oneOf", "anyOf"):
        yield Problem(path, _one_of_message(error, path), "schema")
    else:
        yield Problem(path, f"{_field(path)}: {_describe(error)}", "schema")


def _unknown_fields(error: jsonschema.ValidationError, path: JsonPath) -> Iterator[Problem]:
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    known = sorted(schema.get("properties", {}))
    patterns = [ecma_pattern(p) for p in schema.get("patternProperties", {})]
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in sorted(set(instance) - set(known)):
        if any(pattern.search(str(name)) for pattern in patterns):
            continue
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known fields: {', '.join(known)}"
        message = f"unknown field {quoted(str(name))}{_at(path)}{hint}"
        yield Problem((*path, name), message, "unknown-field")


def _one_of_message(error: jsonschema.ValidationError, path: JsonPath) -> str:
    schema_text = json.dumps(error.validator_value)
    if '"file"' in schema_text and '"spec"' in schema_text:
        return f"{_field(path)}: give exactly one of 'file' or 'spec'"
    if '"status"' in schema_text and '"runtime"' in schema_text:
        return f"{_field(path)}: a dependency condition needs 'status' or 'runtime'"
    return f"{_field(path)}: {error.message}"


def _describe(error: jsonschema.ValidationError) -> str:
    kind, value = error.validator, error.instance
    expected: Any = error.validator_value
    if kind == "type":
        return _type_message(value, expected)
    if kind == "enum":
        return f"must be one of {', '.join(map(str, expected))}; got {shown(value)}"
    if kind == "const":
        return f"must be {json.dumps(expected)}; got {shown(value)}"
    if kind == "pattern":
        return f"{shown(value)} has an invalid format ({_pattern_hint(expected)})"
    if kind in ("minItems", "minLength", "minProperties"):
        return "must not be empty"
    if kind in ("minimum", "maximum", "maxLength"):
        return f"{shown(value)} is out of range ({kind} {expected})"
    return error.message


_TYPE_WORDS = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}


def _type_message(value: Any, expected: str | list[str]) -> str:
    names = expected if isinstance(expected, list) else [expected]
    wanted = " or ".join(_TYPE_WORDS.get(name, name) for name in names)
    hint = ""
    if isinstance(value, bool) and "string" in names:
        hint = "; quote it: YAML reads yes, no, on, off, true and false as booleans"
    got = type_words(value)
    if value is not None and not isinstance(value, dict | list):
        got = f"{got} ({shown(value)})"
    return f"must be {wanted}, got {got}{hint}"


#: What the schemas' patterns ask for, in words.
_PATTERN_HINTS = {
    "^/": "expected an absolute path",
    "^[A-Za-z_][A-Za-z0-9_]*$": (
        "expected a name of letters, digits and '_' that does not start with a digit, "
        "such as MY_VAR"
    ),
    "^[A-Za-z0-9_][A-Za-z0-9_.-]*$": "expected a file name of letters, digits, '_', '.' and '-'",
    "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": (
        "expected a DNS-1123 label: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit"
    ),
}


def _pattern_hint(pattern: str) -> str:
    if "KMGTPE" in pattern:
        return "expected a quantity such as 50m, 0.5, 2, 64Mi or 1G"
    return _PATTERN_HINTS.get(pattern, f"expected to match {pattern}")


def _quoted_field(message: str) -> str:
    return message.split("'")[1] if message.count("'") >= 2 else message


def _field(path: JsonPath) -> str:
    return f"'{render_path(path)}'" if path else "manifest"


def _at(path: JsonPath) -> str:
    return f" in '{render_path(path)}'" if path else ""


def render_path(path: JsonPath) -> str:
    """``spec.dag[0].name`` style for a JSON path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
