"""Directed acyclic graphs of named nodes: cycle detection and dependency order.

Used by ``core.validation`` (bundle members and workflow steps must form a DAG) and by the
planner and engine (apply in dependency waves, delete in reverse). Edges point from a node
to the nodes it depends on. Order is deterministic: ties break by declaration order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def find_cycle(depends: Mapping[str, Sequence[str]]) -> list[str] | None:
    """A cycle as a path ``[a, b, ..., a]``, or None. Unknown targets are ignored."""
    state: dict[str, int] = {}
    for start in depends:
        if state.get(start):
            continue
        found = _walk(start, depends, state)
        if found is not None:
            return found
    return None


def _walk(
    start: str, depends: Mapping[str, Sequence[str]], state: dict[str, int]
) -> list[str] | None:
    """Iterative depth-first search; state 1 = on the current path, 2 = done."""
    path = [start]
    iterators = [iter(depends.get(start, ()))]
    state[start] = 1
    while iterators:
        child = next(iterators[-1], None)
        if child is None:
            state[path.pop()] = 2
            iterators.pop()
            continue
        if child not in depends or state.get(child) == 2:
            continue
        if state.get(child) == 1:
            return [*path[path.index(child) :], child]
        state[child] = 1
        path.append(child)
        iterators.append(iter(depends.get(child, ())))
    return None


def waves(depends: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Nodes grouped in waves: each wave depends only on earlier ones. Needs a DAG."""
    order = {name: index for index, name in enumerate(depends)}
    level: dict[str, int] = {}
    for name in depends:
        _level(name, depends, level)
    grouped: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name in sorted(depends, key=order.__getitem__):
        grouped[level[name]].append(name)
    return grouped


def _level(name: str, depends: Mapping[str, Sequence[str]], level: dict[str, int]) -> int:
    stack = [name]
    while stack:
        top = stack[-1]
        pending = [d for d in depends.get(top, ()) if d in depends and d not in level]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        deps = [level[d] for d in depends.get(top, ()) if d in depends]
        level[top] = max(deps, default=-1) + 1
    return level[name]


def topological_order(depends: Mapping[str, Sequence[str]]) -> list[str]:
    """Dependencies before dependents, stable by declaration order. Needs a DAG."""
    return [name for wave in waves(depends) for name in wave]
