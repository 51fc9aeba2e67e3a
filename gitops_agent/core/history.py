"""The history of an agent's cycles: what ran, why, how long, and what became of each resource.

A ``Cycle`` is one sync of a revision, one preview of a pull request's head or one drift
check, recorded by the agent after it ran (``service``), kept on the target so that it survives
restarts and follows the leader (``engine.ports.HistoryStore``), and read by the ``history``
command, the status page and its JSON API. Only what happened to resources that did not stay
``unchanged`` is kept per resource, so a no-op cycle of 10,000 resources stays small. Records
encode to compact JSON; ``decode`` refuses what is not one (a hand-edited store is skipped,
never a crash). Pure values and functions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core.results import Outcome, SyncResult

#: Cycles kept by default (the oldest are dropped first).
DEFAULT_LIMIT = 100
#: Resources listed per cycle at most (the rest are counted).
MAX_RESOURCES = 200
KINDS = ("sync", "preview", "drift")
TRIGGERS = ("poll", "webhook", "schedule", "manual", "start", "retry")


@dataclass(frozen=True, slots=True)
class ResourceOutcome:
    """What one resource ended as in a cycle, and why when it was not a success."""

    resource: str
    outcome: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class Cycle:
    """One recorded cycle. ``seq`` orders them (assigned by ``append``); ``started`` is Unix
    time; ``result`` is ``success``, ``failure`` or ``error``; ``number`` is the pull
    request of a preview; ``more`` counts resources left out past ``MAX_RESOURCES``."""

    kind: str
    revision: str
    trigger: str
    started: float
    duration: float
    result: str
    summary: str
    reason: str = ""
    counts: Mapping[str, int] = field(default_factory=dict)
    resources: tuple[ResourceOutcome, ...] = ()
    number: int = 0
    more: int = 0
    seq: int = 0

    @property
    def when(self) -> str:
        """``started`` as an ISO 8601 UTC time."""
        return datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sync_cycle(
    result: SyncResult, *, trigger: str, started: float, duration: float, state: str
) -> Cycle:
    """The record of one sync; ``state`` is the commit status it got."""
    changed = [r for r in result.resources if r.outcome is not Outcome.UNCHANGED]
    outcomes = tuple(
        ResourceOutcome(str(r.id), str(r.outcome), r.message) for r in changed[:MAX_RESOURCES]
    )
    reason = result.reason
    return Cycle(
        kind="sync",
        revision=result.revision,
        trigger=trigger,
        started=started,
        duration=round(duration, 3),
        result=state,
        summary=result.describe(),
        reason=str(reason) if reason is not None else "",
        counts={k: v for k, v in result.counts().items() if v},
        resources=outcomes,
        more=max(len(changed) - MAX_RESOURCES, 0),
    )


def preview_cycle(
    *,
    number: int,
    head: str,
    trigger: str,
    started: float,
    duration: float,
    state: str,
    summary: str,
) -> Cycle:
    """The record of one preview of pull request ``number`` at ``head``."""
    return Cycle(
        kind="preview",
        revision=head,
        trigger=trigger,
        started=started,
        duration=round(duration, 3),
        result=state,
        summary=summary,
        number=number,
    )


def drift_cycle(
    *,
    revision: str,
    trigger: str,
    started: float,
    duration: float,
    state: str,
    summary: str,
    resources: Sequence[ResourceOutcome] = (),
) -> Cycle:
    """The record of one drift check against ``revision``: each drifted resource (``drifted``,
    or what a heal did to it) and its objects."""
    counted: dict[str, int] = {}
    for item in resources:
        counted[item.outcome] = counted.get(item.outcome, 0) + 1
    return Cycle(
        kind="drift",
        revision=revision,
        trigger=trigger,
        started=started,
        duration=round(duration, 3),
        result=state,
        summary=summary,
        counts=counted,
        resources=tuple(resources[:MAX_RESOURCES]),
        more=max(len(resources) - MAX_RESOURCES, 0),
    )


def append(
    cycles: Sequence[Cycle], cycle: Cycle, *, limit: int = DEFAULT_LIMIT
) -> tuple[Cycle, ...]:
    """``cycles`` with ``cycle`` numbered after the newest, the oldest dropped past ``limit``."""
    seq = max((c.seq for c in cycles), default=0) + 1
    kept = (*cycles, replace(cycle, seq=seq))
    return kept[-limit:] if limit > 0 else ()


def encode(cycle: Cycle) -> str:
    """One cycle as compact JSON."""
    return json.dumps(to_json(cycle), separators=(",", ":"), sort_keys=True)


def to_json(cycle: Cycle) -> dict[str, Any]:
    """One cycle as JSON data (what ``history -o json`` and the API show)."""
    return {
        "seq": cycle.seq,
        "kind": cycle.kind,
        "revision": cycle.revision,
        "trigger": cycle.trigger,
        "started": cycle.when,
        "startedUnix": cycle.started,
        "duration": cycle.duration,
        "result": cycle.result,
        "reason": cycle.reason,
        "summary": cycle.summary,
        "counts": dict(cycle.counts),
        "resources": [
            {"resource": r.resource, "outcome": r.outcome, "message": r.message}
            for r in cycle.resources
        ],
        "more": cycle.more,
        "number": cycle.number,
    }


def decode(text: str) -> Cycle | None:
    """A cycle from ``encode``'s JSON; None for anything else."""
    try:
        data = json.loads(text)
        return _from_json(data) if isinstance(data, dict) else None
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
        return None


def _from_json(data: Mapping[str, Any]) -> Cycle | None:
    resources = tuple(
        ResourceOutcome(str(r["resource"]), str(r["outcome"]), str(r.get("message", "")))
        for r in data.get("resources") or []
        if isinstance(r, dict)
    )
    counts = data.get("counts") or {}
    if not isinstance(counts, dict) or str(data.get("kind")) not in KINDS:
        return None
    started, duration = float(data["startedUnix"]), float(data["duration"])
    if not (math.isfinite(started) and math.isfinite(duration) and 0 <= started < 2**35):
        return None
    return Cycle(
        kind=str(data["kind"]),
        revision=str(data["revision"]),
        trigger=str(data["trigger"]),
        started=started,
        duration=duration,
        result=str(data["result"]),
        summary=str(data["summary"]),
        reason=str(data.get("reason", "")),
        counts={str(k): int(v) for k, v in counts.items()},
        resources=resources,
        number=int(data.get("number", 0)),
        more=int(data.get("more", 0)),
        seq=int(data["seq"]),
    )


def newest_first(cycles: Iterable[Cycle]) -> list[Cycle]:
    return sorted(cycles, key=lambda c: c.seq, reverse=True)


def find(cycles: Iterable[Cycle], revision: str) -> list[Cycle]:
    """The cycles of a revision named by its full id or a prefix of at least 4 characters."""
    wanted = revision.strip().lower()
    if len(wanted) < 4:
        return []
    return [c for c in newest_first(cycles) if c.revision.lower().startswith(wanted)]


def table(cycles: Sequence[Cycle]) -> str:
    """The ``history`` table, newest first."""
    rows = [("#", "STARTED", "KIND", "REVISION", "TRIGGER", "DURATION", "RESULT", "SUMMARY")]
    for c in newest_first(cycles):
        what = f"#{c.number}" if c.kind == "preview" and c.number else c.revision[:12]
        rows.append(
            (
                str(c.seq),
                c.when,
                c.kind,
                what,
                c.trigger,
                f"{c.duration:.1f}s",
                c.result,
                _one_line(c.summary, 80),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[-1]
        for row in rows
    )


def details(cycle: Cycle) -> str:
    """``history show``: one cycle with every resource it changed."""
    lines = [
        f"cycle {cycle.seq}: {cycle.kind} of {cycle.revision}"
        + (f" (pull request #{cycle.number})" if cycle.number else ""),
        f"  started {cycle.when}, {cycle.duration:.1f}s, trigger {cycle.trigger}",
        f"  result {cycle.result}" + (f" ({cycle.reason})" if cycle.reason else ""),
        f"  {cycle.summary}",
    ]
    if cycle.counts:
        lines.append("  " + ", ".join(f"{n} {k}" for k, n in sorted(cycle.counts.items())))
    for r in cycle.resources:
        lines.append(f"  {r.outcome:<10} {r.resource}" + (f": {r.message}" if r.message else ""))
    if cycle.more:
        lines.append(f"  ... and {cycle.more} more")
    return "\n".join(lines)


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
