"""Transport-neutral request and response values, and the parsing of API paths.

``Request`` is what ``server.py`` read from the socket; ``Response`` is what it writes (a body,
or a ``stream`` of chunks for watches and followed logs). ``parse_target`` turns
``/apis/apps/v1/namespaces/ns/deployments/web/status`` into a ``Target`` with the verb the
API server would log. Used by ``handlers.py``, ``server.py`` and the request log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from gitops_agent.testing.kubesim import kinds
from gitops_agent.testing.kubesim.authn import Identity
from gitops_agent.testing.kubesim.kinds import ResourceType


@dataclass(frozen=True)
class Request:
    """One HTTP request: method, path, first value of each query parameter, headers (the
    last value of each; ``repeated`` keeps every value of the headers sent more than once),
    body, and the identity it acts as once authenticated."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    repeated: dict[str, tuple[str, ...]] = field(default_factory=dict)
    identity: Identity | None = None

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def all_values(self, name: str) -> tuple[str, ...]:
        """Every value of a header, in the order sent."""
        key = name.lower()
        if key in self.repeated:
            return self.repeated[key]
        return (self.headers[key],) if key in self.headers else ()

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


@dataclass
class Response:
    """What to write back; ``stream`` (when set) is sent with chunked encoding."""

    code: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterator[bytes] | None = None


@dataclass(frozen=True)
class Target:
    """The resource a request addresses and the verb it performs."""

    rt: ResourceType
    namespace: str
    name: str
    subresource: str
    verb: str


def _verb(method: str, name: str, watch: bool) -> str:
    if method == "GET":
        return "get" if name else ("watch" if watch else "list")
    return {
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if name else "deletecollection",
    }.get(method, method.lower())


def split_group_version(parts: list[str]) -> tuple[str, str, list[str]] | None:
    """``(group, version, rest)`` of ``/api/v1/...`` or ``/apis/g/v/...`` paths."""
    if len(parts) >= 2 and parts[0] == "api":
        return "", parts[1], parts[2:]
    if len(parts) >= 3 and parts[0] == "apis":
        return parts[1], parts[2], parts[3:]
    return None


def parse_target(method: str, path: str, watch: bool) -> Target | None:
    """The resource target of an API path, or None when the path names no resource."""
    parts = [p for p in path.split("/") if p]
    split = split_group_version(parts)
    if split is None:
        return None
    group, version, rest = split
    if rest and rest[0] == "watch":
        rest, watch = rest[1:], True
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = kinds.by_path(group, version, rest[2])
        if candidate is not None and candidate.namespaced:
            namespace, rest = rest[1], rest[2:]
    rt = kinds.by_path(group, version, rest[0])
    if rt is None or len(rest) > 3:
        return None
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in rt.subresources:
        return None
    return Target(rt, namespace, name, sub, _verb(method, name, watch))
