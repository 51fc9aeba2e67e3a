"""Plans and results as people, scripts and git hosts read them.

Plans as text, JSON (stable keys) and Markdown: called by the ``plan`` command and by
previews (Markdown for a pull-request comment). Results as a commit status: the one mapping
of a ``SyncResult`` to a ``StatusState`` and its description, used by the agent loop for
every revision. Field values come from ``core.diffing``, which already masks Secret data;
nothing here reads a secret.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any

from gitops_agent.core.planning import Action, ObjectStep, Plan, ResourcePlan
from gitops_agent.core.results import FailureReason, SyncResult
from gitops_agent.core.status import describe_condition


class StatusState(enum.Enum):
    """The outcome of a revision: in progress, applied, failed, or the agent broke."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


#: Failures of the agent or its surroundings rather than of the commit: status ``error``.
AGENT_FAILURES = frozenset(
    {
        FailureReason.CONFIG,
        FailureReason.SOURCE,
        FailureReason.OBSERVE,
        FailureReason.UNAVAILABLE,
        FailureReason.INVENTORY,
    }
)


def commit_state(result: SyncResult) -> tuple[StatusState, str]:
    """The final commit status of a reconciled revision, and its description."""
    if result.ok:
        return StatusState.SUCCESS, result.describe()
    if result.failure in AGENT_FAILURES:
        return StatusState.ERROR, result.describe()
    return StatusState.FAILURE, result.describe()


SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.UNCHANGED: "=",
    Action.CONFLICT: "!",
    Action.UNMANAGED: "?",
}


def summary(plan: Plan) -> str:
    """``2 to create, 1 to update, 0 to delete, 5 unchanged``."""
    counts = plan.counts()
    text = (
        f"{counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['unchanged']} unchanged"
    )
    extra = [f"{counts[name]} {name}" for name in ("conflict", "unmanaged") if counts[name]]
    return ", ".join([text, *extra])


def plan_text(plan: Plan, *, verbose: bool = False) -> str:
    """The plan for a terminal: a summary, then each changed resource with its field diffs."""
    revision = f" for {plan.revision[:12]}" if plan.revision else ""
    lines = [f"Plan{revision}: {summary(plan)}"]
    if plan.blocked_prune is not None:
        lines.append(f"prune refused: {plan.blocked_prune.message()}")
    for index, wave in enumerate(plan.waves()):
        shown = [r for r in wave if verbose or _noteworthy(r)]
        if not shown:
            continue
        lines.append("")
        lines.append(_wave_title(index, wave))
        for resource in shown:
            lines.extend(_resource_lines(resource))
    if not plan.has_changes and plan.blocked_prune is None:
        lines.append("No changes: the target matches the source.")
    return "\n".join(lines)


def _noteworthy(resource: ResourcePlan) -> bool:
    return resource.action is not Action.UNCHANGED or any(
        step.action is Action.UNMANAGED for step in resource.steps
    )


def _wave_title(index: int, wave: list[ResourcePlan]) -> str:
    actions = {r.action for r in wave}
    if actions == {Action.UNMANAGED}:
        return "left alone"
    if Action.DELETE in actions and actions <= {Action.DELETE, Action.UNMANAGED}:
        return "prune"
    return f"wave {index}"


def _resource_lines(resource: ResourcePlan) -> Iterator[str]:
    where = f"  ({resource.file})" if resource.file else ""
    yield f"  {SYMBOL[resource.action]} {resource.id}  {resource.action}{where}"
    for dependency in resource.depends:
        yield f"      after {describe_condition(dependency.id.name, dependency.condition)}"
    for line in step_lines(resource):
        yield f"      {line}"


def step_lines(resource: ResourcePlan) -> Iterator[str]:
    """A resource's object steps and their field changes, indented under each step; a
    change of the manifest, which every primary object carries, once."""
    shown: set[str] = set()
    for step in resource.steps:
        if step.action is Action.UNCHANGED:
            continue
        yield f"{SYMBOL[step.action]} {step.key}{_step_suffix(step)}"
        if step.note:
            yield f"    {step.note}"
        for line in _change_lines(step, shown):
            yield f"    {line}"


def _change_lines(step: ObjectStep, shown: set[str]) -> Iterator[str]:
    """A step's changes; a change of the manifest, which every primary object of a resource
    carries, is shown once per resource."""
    for change in step.changes:
        line = change.format()
        if change.path.startswith("manifest"):
            if line in shown:
                continue
            shown.add(line)
        yield line


def _step_suffix(step: ObjectStep) -> str:
    if step.adopt:
        return "  (adopt)"
    if step.action in (Action.CONFLICT, Action.UNMANAGED):
        return f"  {step.action}"
    return ""


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan with stable keys for scripts."""
    return {
        "revision": plan.revision,
        "changes": plan.has_changes,
        "counts": plan.counts(),
        "blockedPrune": plan.blocked_prune.message() if plan.blocked_prune else None,
        "resources": [_resource_json(r) for r in plan.resources],
    }


def _resource_json(resource: ResourcePlan) -> dict[str, Any]:
    return {
        "id": str(resource.id),
        "type": str(resource.id.type),
        "workspace": resource.id.workspace,
        "name": resource.id.name,
        "action": str(resource.action),
        "wave": resource.wave,
        "file": resource.file,
        "bundle": str(resource.bundle) if resource.bundle else None,
        "dependsOn": [
            {"id": str(d.id), "waitFor": describe_condition(d.id.name, d.condition)}
            for d in resource.depends
        ],
        "objects": [_step_json(step) for step in resource.steps],
    }


def _step_json(step: ObjectStep) -> dict[str, Any]:
    return {
        "apiVersion": _api_version(step),
        "kind": step.key.kind,
        "namespace": step.key.namespace,
        "name": step.key.name,
        "action": str(step.action),
        "adopt": step.adopt,
        "note": step.note,
        "changes": [
            {"path": c.path, "change": str(c.kind), "before": c.before, "after": c.after}
            for c in step.changes
        ],
    }


def _api_version(step: ObjectStep) -> str:
    body = step.desired if step.desired is not None else step.live
    return str((body or {}).get("apiVersion", ""))


def plan_markdown(plan: Plan, *, title: str = "gitops-agent plan") -> str:
    """The plan as a pull-request comment: a summary table, then diffs in collapsed blocks."""
    lines = [
        f"### {title}",
        "",
        f"**{summary(plan)}**" + (f" for `{plan.revision[:12]}`" if plan.revision else ""),
    ]
    if plan.blocked_prune is not None:
        lines += ["", f"> :warning: prune refused: {plan.blocked_prune.message()}"]
    changed = [r for r in plan.resources if r.action is not Action.UNCHANGED]
    if not changed:
        return "\n".join([*lines, "", "No changes."])
    lines += ["", "| wave | action | resource | file |", "|---|---|---|---|"]
    lines += [f"| {r.wave} | {r.action} | `{r.id}` | {r.file} |" for r in changed]
    for resource in changed:
        body = list(step_lines(resource))
        lines += [
            "",
            f"<details><summary>{resource.action} <code>{resource.id}</code></summary>",
            "",
            "```diff",
        ]
        lines += [diff_line(line) for text in body for line in text.splitlines()]
        lines += ["```", "</details>"]
    return "\n".join(lines)


def diff_line(line: str) -> str:
    """A diff line as a ```diff block colours it: a changed field (``~``) marked ``!``."""
    stripped = line.lstrip()
    if stripped.startswith("~ "):
        return "! " + line
    return line
