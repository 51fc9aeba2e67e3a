"""``ApiError``: a failed request as the real API server reports it (a ``Status`` body).

Raised anywhere below the HTTP layer; ``server.py`` turns it into the status code and the
JSON ``Status`` object with ``reason``, ``code``, ``details`` and ``causes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gitops_agent.testing.kubesim.kinds import ResourceType

Obj = dict[str, Any]


@dataclass(frozen=True)
class Cause:
    """One ``details.causes`` entry: reason (``FieldValueInvalid``...), message, field."""

    reason: str
    message: str
    field: str = ""

    def to_json(self) -> Obj:
        out: Obj = {"reason": self.reason, "message": self.message}
        if self.field:
            out["field"] = self.field
        return out


@dataclass
class ApiError(Exception):
    """A request failure with the fields of ``metav1.Status``."""

    code: int
    reason: str
    message: str
    details: Obj | None = None
    causes: list[Cause] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    list_meta: Obj = field(default_factory=dict)  # the Status's ListMeta (a 410's continue)

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"

    def status(self) -> Obj:
        """The ``Status`` object the server writes as the response body."""
        body: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.list_meta),
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        details = dict(self.details or {})
        if self.causes:
            details["causes"] = [c.to_json() for c in self.causes]
        if details or self.details is not None:
            # ``Details`` is a pointer: set but empty, it is still written (``{}``)
            body["details"] = details
        body["code"] = self.code
        return body


def _details(rt: ResourceType, name: str) -> Obj:
    out: Obj = {"name": name, "group": rt.group, "kind": rt.plural}
    if not rt.group:
        del out["group"]
    return out


def not_found(rt: ResourceType, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def already_exists(rt: ResourceType, name: str) -> ApiError:
    return ApiError(
        409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name)
    )


def conflict(rt: ResourceType, name: str, why: str) -> ApiError:
    message = f'Operation cannot be fulfilled on {rt.qualified} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(rt, name))


def stale(rt: ResourceType, name: str) -> ApiError:
    return conflict(
        rt,
        name,
        "the object has been modified; please apply your changes to "
        "the latest version and try again",
    )


def invalid(rt: ResourceType, name: str, causes: list[Cause]) -> ApiError:
    """422 with the message the server builds from the field errors (repeated ones once)."""
    causes = list(dict.fromkeys(causes))
    kind = f"{rt.kind}.{rt.group}" if rt.group else rt.kind
    parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
    joined = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details: Obj = {"name": name, "group": rt.group, "kind": rt.kind}
    if not rt.group:
        del details["group"]
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {joined}', details, causes)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb})",
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types "
        f"include: application/json-patch+json, application/merge-patch+json, "
        f'application/apply-patch+yaml ("{content_type}")',
    )


def forbidden(message: str, details: Obj | None = None) -> ApiError:
    return ApiError(403, "Forbidden", message, details)


def path_not_found() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})
