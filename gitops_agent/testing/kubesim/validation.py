"""Schema checks of written objects, as the API server's decoders make them.

``check_schema(rt, obj, mode)`` walks the kind's compiled schema (``typed.py``; the schemas are
kubernetes-validate's strict 1.32 set) and sorts what it finds the way the API server does:
unknown and duplicate fields are a 400 ``strict decoding error`` under
``fieldValidation=Strict`` and otherwise dropped with a warning (``Warn``, the default) or
silently (``Ignore``); wrong types are a 400 decoding error; for patches both are a 422 naming
the patch (``k8s.io/apiserver/pkg/endpoints/handlers/patch.go``); missing required fields are
422 ``Required value``. Called by ``objects.py`` before the semantic ``rules``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors, typed
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


def check_schema(
    rt: ResourceType,
    obj: Obj,
    mode: FieldValidation,
    *,
    old: Obj | None = None,
    strict: Sequence[str] = (),
    patch: Patched | None = None,
    integral_floats: bool = False,
) -> tuple[list[str], list[Cause]]:
    """Raise a decoding error or return (warnings, required-field causes); drops unknowns.

    ``old`` (the stored object) spares the walk of unchanged parts; ``strict`` holds the
    body's own strict errors (``duplicate field``); ``patch`` says the object came out of a
    patch, whose errors the server reports differently (422 naming the patch)."""
    found = typed.decode_findings(
        shared().root(rt.group, rt.version, rt.kind),
        obj,
        old=old,
        integral_floats=integral_floats,
    )
    header = f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
    if found.type_error:
        if patch is not None:
            raise patch.invalid(found.type_error)
        raise errors.bad_request(header + found.type_error)
    complaints = [*strict, *found.strict]
    if complaints and mode is FieldValidation.STRICT:
        message = "strict decoding error: " + ", ".join(complaints)
        if patch is not None:
            raise patch.invalid(message)
        raise errors.bad_request(header + message)
    for path, name in found.unknown:
        _drop(obj, path, name)
    causes = [Cause("FieldValueRequired", "Required value", f) for f in found.required]
    return (complaints if mode is FieldValidation.WARN else []), causes


@dataclass(frozen=True)
class Patched:
    """How a patch's decoding errors are reported: the value the 422 names (the patched JSON,
    or the patch as Go prints a map for strategic merge patches)."""

    value: str

    def invalid(self, message: str) -> errors.ApiError:
        """``errors.NewInvalid(schema.GroupKind{}, "", patch: Invalid value ...)``."""
        quoted = json.dumps(self.value, ensure_ascii=False)
        cause = Cause("FieldValueInvalid", f"Invalid value: {quoted}: {message}", "patch")
        return errors.ApiError(
            422,
            "Invalid",
            f' "" is invalid: patch: {cause.message}',
            {},
            [cause],
        )


def _drop(obj: Any, path: tuple[str | int, ...], name: str) -> None:
    target = obj
    for part in path:
        target = target[part]
    if isinstance(target, dict):
        target.pop(name, None)
