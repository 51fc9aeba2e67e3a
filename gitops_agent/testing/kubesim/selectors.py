"""Label and field selectors: the ``labelSelector`` / ``fieldSelector`` query parameters and
the ``LabelSelector`` structs of workloads.

``parse_labels("app=web,tier in (a,b),!canary")`` and ``parse_fields("metadata.name=x")``
return predicates over stored objects; ``selector_matches(struct, labels)`` evaluates a
``matchLabels`` / ``matchExpressions`` selector. Called by ``store.py`` for LIST and WATCH,
and by the controllers and ``rules.py``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]


class Op(enum.Enum):
    """Selector operators, as written in the query string."""

    EQUALS = "="
    NOT_EQUALS = "!="
    IN = "in"
    NOT_IN = "notin"
    EXISTS = "exists"
    NOT_EXISTS = "!"
    GREATER = "gt"
    LESS = "lt"


@dataclass(frozen=True)
class Requirement:
    """One clause of a label selector."""

    key: str
    op: Op
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key, "")
        match self.op:
            case Op.EQUALS | Op.IN:
                return present and value in self.values
            case Op.NOT_EQUALS | Op.NOT_IN:
                return not present or value not in self.values
            case Op.EXISTS:
                return present
            case Op.NOT_EXISTS:
                return not present
            case Op.GREATER | Op.LESS:
                return present and _compare(value, self.values[0], self.op)
        return False  # pragma: no cover - the match is exhaustive


def _compare(value: str, bound: str, op: Op) -> bool:
    try:
        left, right = int(value), int(bound)
    except ValueError:
        return False
    return left > right if op is Op.GREATER else left < right


_CLAUSE = re.compile(
    r"^\s*(?:(?P<not>!)\s*(?P<nkey>[^\s!=<>(),]+)"
    r"|(?P<key>[^\s!=<>(),]+)\s*(?:(?P<op>==|=|!=|>|<)\s*(?P<value>[^\s,()]*)"
    r"|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*$"
)


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p for p in parts if p.strip()]


def parse_labels(text: str) -> list[Requirement]:
    """The requirements of a ``labelSelector`` string; 400 BadRequest when malformed."""
    out: list[Requirement] = []
    for clause in _split(text):
        match = _CLAUSE.match(clause)
        if not match:
            raise errors.bad_request(
                f"unable to parse requirement: found '{clause.strip()}', expected: identifier"
            )
        if match.group("not"):
            out.append(Requirement(match.group("nkey"), Op.NOT_EXISTS))
        elif match.group("op"):
            op = {
                "=": Op.EQUALS,
                "==": Op.EQUALS,
                "!=": Op.NOT_EQUALS,
                ">": Op.GREATER,
                "<": Op.LESS,
            }[match.group("op")]
            out.append(Requirement(match.group("key"), op, (match.group("value"),)))
        elif match.group("set"):
            values = tuple(v.strip() for v in match.group("values").split(",") if v.strip())
            op = Op.IN if match.group("set") == "in" else Op.NOT_IN
            out.append(Requirement(match.group("key"), op, values))
        else:
            out.append(Requirement(match.group("key"), Op.EXISTS))
    return out


def label_predicate(text: str) -> Predicate | None:
    """A predicate over objects for a ``labelSelector``, or None for "everything"."""
    requirements = parse_labels(text)
    if not requirements:
        return None

    def matches(obj: Obj) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in requirements)

    return matches


def selector_matches(selector: Obj, labels: dict[str, str]) -> bool:
    """Evaluate a ``LabelSelector`` struct (matchLabels and matchExpressions)."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    ops = {"In": Op.IN, "NotIn": Op.NOT_IN, "Exists": Op.EXISTS, "DoesNotExist": Op.NOT_EXISTS}
    for expr in selector.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            return False
        if not Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())).matches(
            labels
        ):
            return False
    return True


def selector_string(selector: Obj) -> str:
    """A ``LabelSelector`` struct as a query string (``app=web,tier in (a)``)."""
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key = expr.get("operator"), expr.get("key")
        values = ",".join(expr.get("values") or ())
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": f"{key}",
                "DoesNotExist": f"!{key}",
            }.get(str(op), "")
        )
    return ",".join(parts)


_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
FIELDS: dict[str, tuple[str, ...]] = {
    "Pod": (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    "Event": (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    "Secret": ("type",),
    "Namespace": ("status.phase",),
    "Job": ("status.successful",),
    "ReplicaSet": ("status.replicas",),
}


def _field_value(obj: Obj, path: str) -> str:
    if path == "source":
        return str((obj.get("source") or {}).get("component", ""))
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def field_predicate(text: str, kind: str) -> Predicate | None:
    """A predicate for a ``fieldSelector``; 400 for fields the kind does not support."""
    clauses = []
    for clause in _split(text):
        match = re.match(r"^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$", clause)
        if not match:
            raise errors.bad_request(
                f"invalid selector: '{text}'; can't understand '{clause.strip()}'"
            )
        field, op, value = match.groups()
        if field not in _COMMON_FIELDS + FIELDS.get(kind, ()):
            raise errors.bad_request(f"field label not supported: {field}")
        clauses.append((field, op != "!=", value))
    if not clauses:
        return None

    def matches(obj: Obj) -> bool:
        return all((_field_value(obj, f) == v) == eq for f, eq, v in clauses)

    return matches
