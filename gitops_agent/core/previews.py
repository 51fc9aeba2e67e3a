"""A preview as reviewers read it: the one-line status (``+1 ~1 -0``), Markdown for the
pull-request comment, text for a terminal and JSON for scripts.

``Preview`` is the value ``engine.preview`` computes; the ``preview`` command and the
previews of the agent loop show it with the functions here. The
Markdown has a summary line and a table per resource type, the waves in Bundle order with
each changed resource in a collapsed block holding its field diff, the prunes with the
mass-prune guard's verdict, the head's violations linked to the file on the forge, and the
resources whose live state differs from the base too. It is cut to ``limit`` characters:
diffs go first (each resource then keeps one summary line), then resources, with a pointer
to the full plan. Field values come from ``core.diffing``, which masks Secret data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.planning import Action, Plan, ResourcePlan
from gitops_agent.core.reporting import (
    SYMBOL,
    diff_line,
    plan_json,
    plan_text,
    step_lines,
    summary,
)
from gitops_agent.core.violations import Violation

#: Where a file of the head commit can be read on the forge: (path, line) -> URL.
FileLink = Callable[[str, int], str]
FULL_PLAN = "the full plan: `gitops-agent preview ... -o json`, or the agent's log"
_QUIET = frozenset({Action.UNCHANGED, Action.UNMANAGED})
_TYPES = ("worker", "workflow", "bundle")
_COLUMNS = (
    Action.CREATE,
    Action.UPDATE,
    Action.DELETE,
    Action.CONFLICT,
    Action.UNCHANGED,
)


@dataclass(frozen=True, slots=True)
class Preview:
    """What a pull request would do: the head's plan (None when the head is invalid), its
    violations, the resources whose live state differs from the base commit's too, and notes
    for the reviewer (such as a configuration change that takes effect only after merge)."""

    head: str
    base: str
    plan: Plan | None
    violations: tuple[Violation, ...] = ()
    base_drift: frozenset[ResourceId] = frozenset()
    notes: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.violations and self.plan is not None

    @property
    def has_changes(self) -> bool:
        plan = self.plan
        return plan is not None and (plan.has_changes or plan.blocked_prune is not None)


def status_line(view: Preview) -> str:
    """The commit-status description: ``+1 ~1 -0`` (and conflicts), or the first violation."""
    if view.plan is None:
        first = view.violations[0].format() if view.violations else "could not be planned"
        more = f" (+{len(view.violations) - 1} more)" if len(view.violations) > 1 else ""
        return f"invalid: {first}{more}"
    counts = view.plan.counts()
    line = f"+{counts['create']} ~{counts['update']} -{counts['delete']}"
    if counts["conflict"]:
        line += f" !{counts['conflict']} conflict"
    if view.plan.blocked_prune is not None:
        line += " (prune refused)"
    return line


def preview_json(view: Preview) -> dict[str, Any]:
    """Stable keys for scripts: the commits, validity, status line, plan, violations."""
    return {
        "head": view.head,
        "base": view.base,
        "valid": view.valid,
        "changes": view.has_changes,
        "status": status_line(view),
        "violations": [v.as_dict() for v in view.violations],
        "plan": plan_json(view.plan) if view.plan is not None else None,
        "baseDrift": sorted(str(rid) for rid in view.base_drift),
        "notes": list(view.notes),
    }


def preview_text(view: Preview) -> str:
    """For a terminal: the plan, then the notes and the resources the base differs in too."""
    if view.plan is None:
        return "\n".join(v.format() for v in view.violations)
    lines = [plan_text(view.plan)]
    drift = sorted(str(rid) for rid in view.base_drift)
    if drift:
        lines += ["", f"live differs from base {view.base[:12]} too: {', '.join(drift)}"]
    lines += [f"note: {note}" for note in view.notes]
    return "\n".join(lines)


def preview_markdown(
    view: Preview,
    *,
    title: str,
    link: FileLink | None = None,
    limit: int = 60_000,
    html: bool = True,
) -> str:
    """The comment: every section, or fewer details when it would exceed ``limit``. Without
    ``html`` (Bitbucket renders none), diffs are plain sections instead of collapsed ones."""
    style = _Style(html)
    for detail in (True, False):
        text = "\n".join(_markdown(view, title, link, detail=detail, style=style))
        if len(text) <= limit:
            return text
    return _cut(list(_markdown(view, title, link, detail=False, style=style)), limit)


@dataclass(frozen=True, slots=True)
class _Style:
    """How the comment is marked up: with HTML (collapsed diffs) or Markdown alone."""

    html: bool

    def code(self, text: str) -> str:
        return f"<code>{text}</code>" if self.html else f"`{text}`"


def _markdown(
    view: Preview, title: str, link: FileLink | None, *, detail: bool, style: _Style
) -> Iterator[str]:
    head = f"`{view.head[:12]}`" + (f" against `{view.base[:12]}`" if view.base else "")
    yield f"### {title}: {head}"
    yield ""
    for note in view.notes:
        yield f"> :information_source: {note}"
        yield ""
    if view.plan is None:
        yield from _violations(view.violations, link)
        return
    yield f"**{status_line(view)}** ({summary(view.plan)})"
    yield ""
    yield from _type_table(view.plan)
    if view.plan.blocked_prune is not None:
        yield ""
        yield f"> :warning: prune refused: {view.plan.blocked_prune.message()}"
    yield from _waves(view, detail=detail, style=style)
    if not detail:
        yield ""
        yield f"_Field diffs are left out to keep this comment short; {FULL_PLAN}._"


def _violations(violations: Sequence[Violation], link: FileLink | None) -> Iterator[str]:
    yield f"**invalid: {len(violations)} violation(s)**; nothing can be applied from this commit"
    yield ""
    for v in violations:
        where = f"{v.path}:{v.line}:{v.column}"
        shown = f"[`{where}`]({link(v.path, v.line)})" if link and v.path else f"`{where}`"
        who = f" `{v.resource}`:" if v.resource else ""
        yield f"- {shown}:{who} {_escape(v.message)}"


def _type_table(plan: Plan) -> Iterator[str]:
    yield "| type | " + " | ".join(str(a) for a in _COLUMNS) + " |"
    yield "|---|" + "---|" * len(_COLUMNS)
    for kind in _TYPES:
        counts = [
            sum(1 for r in plan.resources if str(r.id.type) == kind and r.action is a)
            for a in _COLUMNS
        ]
        if any(counts):
            yield f"| {kind} | " + " | ".join(str(n) for n in counts) + " |"


def _waves(view: Preview, *, detail: bool, style: _Style) -> Iterator[str]:
    assert view.plan is not None
    for index, wave in enumerate(view.plan.waves()):
        changed = [r for r in wave if r.action not in _QUIET]
        if not changed:
            continue
        prunes = all(r.action is Action.DELETE for r in changed)
        yield ""
        yield "#### prune" if prunes else f"#### wave {index}"
        for resource in changed:
            yield from _resource(resource, view, detail=detail, style=style)


def _resource(
    resource: ResourcePlan, view: Preview, *, detail: bool, style: _Style
) -> Iterator[str]:
    where = f" ({resource.file})" if resource.file else ""
    drift = " — _live differs from base too_" if resource.id in view.base_drift else ""
    heading = f"{SYMBOL[resource.action]} {resource.action} {style.code(str(resource.id))}{where}"
    if not detail:
        fields = sum(len(s.changes) for s in resource.steps)
        yield f"- {heading}: {len(resource.steps)} object(s), {fields} field change(s){drift}"
        return
    yield f"<details><summary>{heading}{drift}</summary>" if style.html else f"{heading}{drift}"
    yield ""
    yield "```diff"
    for line in step_lines(resource):
        yield diff_line(line)
    yield "```"
    if style.html:
        yield "</details>"


def _cut(lines: list[str], limit: int) -> str:
    tail = f"\n\n_… and more; {FULL_PLAN}._"
    kept: list[str] = []
    size = len(tail)
    for line in lines:
        if size + len(line) + 1 > limit:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept) + tail


def _escape(text: str) -> str:
    """A message from a manifest kept from forming Markdown or HTML of its own."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
