"""Schema checks of written objects against kubernetes-validate's strict JSON schemas.

``check_schema(rt, obj, mode)`` runs the strict validator of the kind and sorts what it finds
the way the API server does: unknown fields are a 400 ``strict decoding error`` under
``fieldValidation=Strict`` and otherwise dropped with a warning; wrong types are a 400
decoding error; missing required fields are 422 ``Required value``. It returns the warnings
to send in ``Warning`` headers. Called by ``objects.py`` before the semantic ``rules``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.schema import shared

Obj = dict[str, Any]


class FieldValidation(enum.Enum):
    """The ``fieldValidation`` query parameter; the server's default is Warn."""

    IGNORE = "Ignore"
    WARN = "Warn"
    STRICT = "Strict"

    @classmethod
    def parse(cls, text: str) -> FieldValidation:
        if not text:
            return cls.WARN
        for member in cls:
            if member.value.lower() == text.lower():
                return member
        raise errors.bad_request(
            f'fieldValidation must be one of Ignore, Warn, Strict, not "{text}"'
        )


@dataclass(frozen=True)
class SchemaFindings:
    """What the strict schema found in one object."""

    unknown: tuple[tuple[tuple[str | int, ...], str], ...]
    required: tuple[str, ...]
    decode: tuple[str, ...]


def field_path(path: tuple[str | int, ...] | list[str | int]) -> str:
    """``spec.template.spec.containers[0].image`` from a JSON path."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def find(rt: ResourceType, obj: Obj) -> SchemaFindings:
    """Every strict-schema error in ``obj``, sorted into the three kinds above."""
    validator = shared().validator(rt.group, rt.version, rt.kind)
    unknown: list[tuple[tuple[str | int, ...], str]] = []
    required: list[str] = []
    decode: list[str] = []
    for error in validator.iter_errors(obj):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            schema: Any = error.schema
            known = schema.get("properties", {}) if isinstance(schema, dict) else {}
            unknown.extend((path, name) for name in error.instance if name not in known)
        elif error.validator == "required" and isinstance(error.instance, dict):
            wanted: Any = error.validator_value
            missing = [n for n in wanted if n not in error.instance]
            required.extend(field_path((*path, n)) for n in missing)
        else:
            decode.append(_decode_message(rt, path, error.instance))
    return SchemaFindings(tuple(unknown), tuple(required), tuple(decode))


def _decode_message(rt: ResourceType, path: tuple[str | int, ...], value: Any) -> str:
    where = field_path(path)
    kind = type(value).__name__.replace("str", "string").replace("dict", "object")
    kind = kind.replace("list", "array").replace("int", "number").replace("float", "number")
    return f"json: cannot unmarshal {kind} into Go struct field {rt.kind}.{where}"


def check_schema(
    rt: ResourceType, obj: Obj, mode: FieldValidation
) -> tuple[list[str], list[Cause]]:
    """Raise a decoding error or return (warnings, required-field causes); prunes unknowns."""
    found = find(rt, obj)
    header = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    if found.decode:
        raise errors.bad_request(header + found.decode[0])
    unknown = [field_path((*path, name)) for path, name in found.unknown]
    if unknown and mode is FieldValidation.STRICT:
        listed = ", ".join(f'unknown field "{u}"' for u in unknown)
        raise errors.bad_request(header + "strict decoding error: " + listed)
    for path, name in found.unknown:
        _drop(obj, path, name)
    causes = [Cause("FieldValueRequired", "Required value", f) for f in found.required]
    if mode is FieldValidation.WARN:
        return [f'unknown field "{u}"' for u in unknown], causes
    return [], causes


def _drop(obj: Any, path: tuple[str | int, ...], name: str) -> None:
    target = obj
    for part in path:
        target = target[part]
    if isinstance(target, dict):
        target.pop(name, None)
