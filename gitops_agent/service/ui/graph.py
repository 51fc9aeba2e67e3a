"""A Bundle's graph as an SVG picture, laid out here (no graphviz): members in columns by
wave, left to right in the order the engine applies them, each coloured by its state, each
edge an arrow from the dependency to its dependent labelled with the condition it waits for.

``svg(graph)`` is called by the status page (``service.ui.page``); every text is escaped.
Pure.
"""

from __future__ import annotations

from html import escape

from gitops_agent.service.ui.snapshot import Graph, Node

NODE_W, NODE_H = 190, 46
GAP_X, GAP_Y = 200, 40
PAD = 12

_OK = frozenset({"active", "succeeded", "success"})
_BAD = frozenset({"failed", "error"})
_WAIT = frozenset({"pending", "running", "progressing"})


def tone(status: str) -> str:
    """The CSS class of a state: ok, wait, bad or none."""
    if status in _OK:
        return "ok"
    if status in _BAD:
        return "bad"
    return "wait" if status in _WAIT else "none"


def positions(graph: Graph) -> dict[str, tuple[int, int]]:
    """The top-left corner of each member's box."""
    columns: dict[int, list[Node]] = {}
    for node in sorted(graph.nodes, key=lambda n: (n.wave, n.member)):
        columns.setdefault(node.wave, []).append(node)
    placed = {}
    for wave, nodes in columns.items():
        for row, node in enumerate(nodes):
            placed[node.member] = (PAD + wave * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    return placed


def svg(graph: Graph) -> str:
    """The picture of ``graph``."""
    placed = positions(graph)
    width = max((x for x, _ in placed.values()), default=0) + NODE_W + PAD
    height = max((y for _, y in placed.values()), default=0) + NODE_H + PAD
    name = escape(graph.bundle.name)
    parts = [
        f'<svg class="graph" role="img" aria-label="bundle {name}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" '
        'markerHeight="8" orient="auto"><path d="M0,0L8,4L0,8z"/></marker></defs>',
    ]
    parts += [_edge(placed, e.dependency, e.dependent, e.label) for e in graph.edges]
    parts += [_node(node, placed[node.member]) for node in graph.nodes]
    parts.append("</svg>")
    return "".join(parts)


def _node(node: Node, at: tuple[int, int]) -> str:
    x, y = at
    state = f"{node.status} {node.runtime}".strip()
    return (
        f'<g class="node {tone(node.status)}"><title>{escape(str(node.id))}: {escape(state)}</title>'
        f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6"/>'
        f'<text x="{x + 10}" y="{y + 19}">{escape(_fit(node.member, 24))}</text>'
        f'<text class="state" x="{x + 10}" y="{y + 37}">{escape(_fit(state, 28))}</text></g>'
    )


def _edge(placed: dict[str, tuple[int, int]], source: str, dest: str, label: str) -> str:
    if source not in placed or dest not in placed:
        return ""
    (x1, y1), (x2, y2) = placed[source], placed[dest]
    x1, y1 = x1 + NODE_W, y1 + NODE_H // 2
    y2 = y2 + NODE_H // 2
    middle = (x1 + x2) // 2
    path = f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"
    lines = _lines(label)
    top = (y1 + y2) // 2 - 6 - 13 * (len(lines) - 1)
    spans = "".join(
        f'<tspan x="{middle}" dy="{0 if i == 0 else 13}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="edge"><title>{escape(dest)} waits for {escape(source)}: {escape(label)}</title>'
        f'<path d="{path}" marker-end="url(#arrow)"/>'
        f'<text x="{middle}" y="{top}" text-anchor="middle">{spans}</text></g>'
    )


def _lines(label: str) -> list[str]:
    """A condition on one line per clause (``status is active`` / ``and runtime ...``)."""
    head, *rest = label.split(" and ")
    return [_fit(head, 30), *(_fit("and " + part, 30) for part in rest)][:3]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
