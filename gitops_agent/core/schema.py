"""JSON Schema checks of manifests (draft 2020-12), with messages written for people.

Called by ``core.loading`` for every manifest document, by ``core.config`` for the agent
configuration, and by ``core.validation`` for
``stackSpec`` against a stack's schema. The schemas ship as package data in
``core/schemas/``; every error is collected, not only the first. Unknown fields become one
problem per field with a suggestion for near misses (``replica`` -> ``replicas``).
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
import referencing
from referencing.jsonschema import DRAFT202012

JsonPath = tuple[str | int, ...]
SCHEMA_NAMES = ("common", "worker", "workflow", "bundle", "config")


@dataclass(frozen=True, slots=True)
class Problem:
    """One schema problem: where (a path inside the checked data) and what."""

    path: JsonPath
    message: str
    rule: str


@functools.cache
def _registry() -> referencing.Registry[Any]:
    pairs = []
    for name in SCHEMA_NAMES:
        text = resources.files("gitops_agent.core").joinpath(f"schemas/{name}.json").read_text()
        pairs.append((f"urn:gitops-agent:{name}", DRAFT202012.create_resource(json.loads(text))))
    return referencing.Registry().with_resources(pairs)


@functools.cache
def validator_for(kind: str) -> jsonschema.Draft202012Validator:
    """The validator of one schema (``worker``, ``workflow``, ``bundle`` or ``config``)."""
    schema = _registry().get_or_retrieve(f"urn:gitops-agent:{kind}").value.contents
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validator_of(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for an ad hoc schema such as a stack's ``stackSpec`` schema."""
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def check(validator: jsonschema.Draft202012Validator, data: Any) -> list[Problem]:
    """Every problem of ``data`` against ``validator``'s schema, in document order."""
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems.extend(_explain(error))
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
    instance = error.instance if isinstance(error.instance, dict) else {}
    for name in sorted(set(instance) - set(known)):
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known fields: {', '.join(known)}"
        yield Problem((*path, name), f"unknown field '{name}'{_at(path)}{hint}", "unknown-field")


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
    shown = json.dumps(value) if not isinstance(value, dict | list) else type(value).__name__
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        hint = ""
        if isinstance(value, bool) and "string" in wanted:
            hint = " (quote it: YAML reads yes, no, on, off, true and false as booleans)"
        return f"must be of type {wanted}, got {_type_name(value)} {shown}{hint}"
    if kind == "enum":
        return f"must be one of {', '.join(map(str, expected))}; got {shown}"
    if kind == "const":
        return f"must be {json.dumps(expected)}; got {shown}"
    if kind == "pattern":
        return f"{shown} has an invalid format ({_pattern_hint(expected)})"
    if kind in ("minItems", "minLength", "minProperties"):
        return "must not be empty"
    if kind in ("minimum", "maximum", "maxLength"):
        return f"{shown} is out of range ({kind} {expected})"
    return error.message


def _pattern_hint(pattern: str) -> str:
    if "KMGTPE" in pattern:
        return "expected a quantity such as 50m, 0.5, 2, 64Mi or 1G"
    if pattern == "^/":
        return "expected an absolute path"
    return f"expected to match {pattern}"


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


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
