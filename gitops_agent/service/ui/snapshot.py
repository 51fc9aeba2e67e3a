"""What the status page shows, as one value: the agent, its applied revision, every resource
with its status and runtime, each Bundle's graph, the recent cycles, the open previews and
the last drift report.

``snapshot_of`` builds it from what the agent already holds (the applied revision's desired
resources, an observation of the target, the history, the previews' results); the board
(``service.ui.board``) keeps the newest, and the page and the JSON API (``service.ui.page``,
``service.ui.routes``) render it. Text from the cluster or from failures goes through the
redaction registry before it is kept. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_agent.core.history import Cycle, to_json
from gitops_agent.core.manifests import (
    Bundle,
    DependencyCondition,
    Resource,
    ResourceId,
    flatten,
)
from gitops_agent.core.status import ResourceStatus, describe_condition
from gitops_agent.redaction import redact


@dataclass(frozen=True, slots=True)
class Row:
    """One resource on the page."""

    id: ResourceId
    status: str
    runtime: str
    message: str = ""
    file: str = ""


@dataclass(frozen=True, slots=True)
class Node:
    """A member of a Bundle's graph: its resource, its wave (longest path from a root)."""

    member: str
    id: ResourceId
    wave: int
    status: str
    runtime: str


@dataclass(frozen=True, slots=True)
class Edge:
    """``dependent`` waits for ``dependency`` to meet ``label``."""

    dependency: str
    dependent: str
    label: str


@dataclass(frozen=True, slots=True)
class Graph:
    """One Bundle: its status and its members as nodes and edges."""

    bundle: ResourceId
    status: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]


@dataclass(frozen=True, slots=True)
class PreviewRow:
    """The newest preview of one open pull request."""

    number: int
    head: str
    state: str
    description: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the page shows, at ``taken`` (Unix time)."""

    agent: str
    target: str
    source: str
    applied: str
    state: str
    description: str
    taken: float
    rows: tuple[Row, ...] = ()
    graphs: tuple[Graph, ...] = ()
    cycles: tuple[Cycle, ...] = ()
    previews: tuple[PreviewRow, ...] = ()
    drift: str = ""
    note: str = ""


def rows_of(
    resources: Sequence[Resource], statuses: Mapping[ResourceId, ResourceStatus]
) -> tuple[Row, ...]:
    """A row per resource of the applied revision, and per resource the target holds that the
    revision no longer names (pruned later, or left by hand)."""
    files = {r.id: r.origin.path for r in flatten(resources)}
    ids = set(files) | set(statuses)
    rows = []
    for rid in sorted(ids, key=lambda r: (r.workspace, str(r.type), r.name)):
        found = statuses.get(rid)
        status = found.status if found else "absent"
        runtime = found.runtime if found else ""
        message = redact(found.message) if found else ""
        rows.append(Row(rid, status, runtime, message, files.get(rid, "")))
    return tuple(rows)


def graphs_of(
    resources: Sequence[Resource], statuses: Mapping[ResourceId, ResourceStatus]
) -> tuple[Graph, ...]:
    """Each Bundle's members and edges, laid in waves as the engine applies them."""
    return tuple(
        _graph(bundle, statuses)
        for bundle in sorted(
            (r for r in resources if isinstance(r, Bundle)), key=lambda b: b.id.name
        )
    )


def _graph(bundle: Bundle, statuses: Mapping[ResourceId, ResourceStatus]) -> Graph:
    members = {m.id: m for m in bundle.members}
    edges = []
    for member in bundle.members:
        for name in member.dependencies:
            if name not in members:
                continue
            found: list[DependencyCondition | None] = [
                c for c in member.conditions if c.resource_id == name
            ]
            for condition in found or [None]:
                label = describe_condition("", condition).strip()
                edges.append(Edge(name, member.id, label))
    waves = _waves({m.id: m.dependencies for m in bundle.members})
    nodes = []
    for member in bundle.members:
        seen = statuses.get(member.resource.id)
        nodes.append(
            Node(
                member.id,
                member.resource.id,
                waves[member.id],
                seen.status if seen else "absent",
                seen.runtime if seen else "",
            )
        )
    own = statuses.get(bundle.id)
    return Graph(bundle.id, own.status if own else "absent", tuple(nodes), tuple(edges))


def _waves(depends: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """The wave of each member: 0 without dependencies, else one after its latest one (a
    cycle, which validation refuses, is cut rather than followed)."""
    waves: dict[str, int] = {}

    def wave(name: str, path: frozenset[str]) -> int:
        if name in waves:
            return waves[name]
        before = [d for d in depends.get(name, ()) if d in depends and d not in path]
        waves[name] = 1 + max((wave(d, path | {name}) for d in before), default=-1)
        return waves[name]

    for name in depends:
        wave(name, frozenset())
    return waves


def resources_json(snapshot: Snapshot) -> dict[str, Any]:
    """``/api/v1/resources``."""
    return {
        "agent": snapshot.agent,
        "applied": snapshot.applied,
        "state": snapshot.state,
        "taken": snapshot.taken,
        "resources": [
            {
                "type": str(row.id.type),
                "workspace": row.id.workspace,
                "name": row.id.name,
                "status": row.status,
                "runtime": row.runtime,
                "message": row.message,
                "file": row.file,
            }
            for row in snapshot.rows
        ],
    }


def history_json(snapshot: Snapshot) -> dict[str, Any]:
    """``/api/v1/history``: newest first."""
    cycles = sorted(snapshot.cycles, key=lambda c: c.seq, reverse=True)
    return {"agent": snapshot.agent, "cycles": [to_json(c) for c in cycles]}


def graph_json(graph: Graph) -> dict[str, Any]:
    """``/api/v1/bundles/NAME/graph``."""
    return {
        "bundle": graph.bundle.name,
        "status": graph.status,
        "nodes": [
            {
                "id": n.member,
                "resource": str(n.id),
                "wave": n.wave,
                "status": n.status,
                "runtime": n.runtime,
            }
            for n in graph.nodes
        ],
        "edges": [
            {"from": e.dependency, "to": e.dependent, "condition": e.label} for e in graph.edges
        ],
    }
