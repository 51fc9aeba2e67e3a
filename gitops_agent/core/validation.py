"""Validation: the semantic rules a repository's resources must meet, as Violations.

Called after ``core.loading`` by the command line and the engine: ``validate(loaded,
context)`` returns every violation of the run, sorted. Schema rules live in the JSON
Schemas; this module holds what a schema cannot say: names, identities unique in the
repository, known stacks and computes, quantities, graphs (``core.graph``), projections
(``core.projections``), leftover ``${{...}}`` placeholders, what rendering needs
(``core.rendering.checks``), and objects two resources would share once rendered (the
renderer's own collision check, ``core.rendering.kubernetes.collisions``).

With a ``ValidationMemo`` (the agent's incremental cycles, under one configuration) a
resource met before keeps its findings and the keys of its objects; the rules over the
whole repository (unique identities, shared objects) still run over every resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core import cron, graph, projections, quantities, schema, variables
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.core.loading import Loaded
from gitops_agent.core.manifests import (
    Bundle,
    Resource,
    Resources,
    ResourceType,
    Runtime,
    Worker,
    Workflow,
    flatten,
)
from gitops_agent.core.memo import ByIdentity
from gitops_agent.core.rendering import checks as rendering_checks
from gitops_agent.core.rendering import kubernetes
from gitops_agent.core.rendering.objects import (
    DEFAULT_COMPUTE,
    Rendered,
    RenderError,
    RenderSettings,
)
from gitops_agent.core.stacks import StackRegistry
from gitops_agent.core.violations import Finding, Violation, sort_violations
from gitops_agent.core.yamldoc import JsonPath

MAX_NAME_LENGTH = 48
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
WORKSPACE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
EXECUTION_MODES = ("default",)
_FRACTIONAL_BYTES = {"m": "millibytes", "u": "microbytes", "n": "nanobytes"}
_TEMPLATE_PATH = ("use", "projection", "projections")


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What the agent configuration tells the rules: the stacks and computes that exist, the
    workspaces resources may use (``target.allowedWorkspaces``; None: any), and how resources
    are rendered (workspaces mapped to namespaces), for the objects they would share."""

    stacks: StackRegistry = field(default_factory=StackRegistry)
    computes: frozenset[str] = frozenset({DEFAULT_COMPUTE})
    allowed_workspaces: frozenset[str] | None = None
    render: RenderSettings = field(default_factory=RenderSettings)


#: The keys of a resource's objects once rendered, or why it cannot be rendered.
Rendering = tuple[ObjectKey, ...] | str


@dataclass(frozen=True, slots=True)
class ValidationMemo:
    """What validation keeps between runs, by resource: its findings, and the keys of its
    objects (or why it cannot be rendered)."""

    findings: ByIdentity[Resource, list[Finding]]
    keys: ByIdentity[Resource, Rendering]


def validate(
    loaded: Loaded, context: ValidationContext | None = None, *, memo: ValidationMemo | None = None
) -> tuple[Violation, ...]:
    """Every violation of the loaded repository: loading's, the semantic rules', and the
    objects two resources would both write once rendered, sorted."""
    context = context or ValidationContext()
    found = list(loaded.violations)
    clean: list[Resource] = []
    for resource in flatten(loaded.resources):
        findings = memo.findings.get(resource) if memo is not None else None
        if findings is None:
            findings = resource_findings(resource, context)
            if memo is not None:
                memo.findings.put(resource, findings)
        found.extend(_place(resource, findings))
        if not findings:
            clean.append(resource)
    found.extend(_duplicate_ids(loaded.resources))
    found.extend(_rendering_violations(clean, context.render, memo))
    return sort_violations(found)


def _rendering_violations(
    resources: Sequence[Resource], settings: RenderSettings, memo: ValidationMemo | None
) -> Iterator[Violation]:
    """What ``render`` would refuse of resources without findings: objects they share."""
    keys: list[tuple[ObjectKey, ...]] = []
    renderable: list[Resource] = []
    for resource in resources:
        rendering = memo.keys.get(resource) if memo is not None else None
        if rendering is None:
            rendering = _rendering(resource, settings)
            if memo is not None:
                memo.keys.put(resource, rendering)
        if isinstance(rendering, str):
            message = f"cannot be rendered: {rendering}"
            yield from _place(resource, [Finding(("name",), message, "render")])
            continue
        keys.append(rendering)
        renderable.append(resource)
    yield from kubernetes.key_collisions(renderable, keys)


def _rendering(resource: Resource, settings: RenderSettings) -> Rendering:
    try:
        rendered: Rendered = kubernetes.render_resource(resource, settings)
    except RenderError as err:
        return str(err)
    return tuple(obj.key for obj in rendered.objects)


def _place(resource: Resource, findings: Sequence[Finding]) -> Iterator[Violation]:
    origin = resource.origin
    for finding in findings:
        position = origin.locate(finding.at)
        where = origin.display or origin.path
        yield Violation(
            where, position.line, position.column, str(resource.id), finding.message, finding.rule
        )


def resource_findings(resource: Resource, context: ValidationContext) -> list[Finding]:
    """The semantic findings of one resource (members of a bundle are checked on their own)."""
    found = list(_name_findings(resource))
    found.extend(_allowed_workspace_findings(resource, context))
    found.extend(_placeholder_findings(resource.manifest))
    if isinstance(resource, Worker):
        found.extend(_worker_findings(resource, context))
    elif isinstance(resource, Workflow):
        found.extend(_workflow_findings(resource, context))
    else:
        found.extend(_bundle_findings(resource))
    found.extend(rendering_checks.findings(resource, context.stacks))
    return found


def _name_findings(resource: Resource) -> Iterator[Finding]:
    name = resource.meta.name
    if len(name) > MAX_NAME_LENGTH or not DNS_LABEL.fullmatch(name):
        yield Finding(
            ("name",),
            f"name {name!r} must be a DNS-1123 label: lowercase letters, digits and '-', "
            f"starting and ending with a letter or digit, at most {MAX_NAME_LENGTH} characters",
            "name",
        )
    workspace = resource.id.workspace
    if resource.id.type is not ResourceType.BUNDLE and (
        len(workspace) > 32 or not WORKSPACE.fullmatch(workspace)
    ):
        message = f"workspace {workspace!r} must be lowercase letters, digits and '-', at most 32"
        yield Finding(("workspace",), message, "name")


def _allowed_workspace_findings(
    resource: Resource, context: ValidationContext
) -> Iterator[Finding]:
    allowed = context.allowed_workspaces
    workspace = resource.id.workspace
    if allowed is None or resource.id.type is ResourceType.BUNDLE or workspace in allowed:
        return
    listed = ", ".join(sorted(allowed)) or "none"
    message = (
        f"workspace {workspace!r} is not one this agent may deploy to (target.allowedWorkspaces: "
        f"{listed}); move the resource to an allowed workspace or add {workspace!r} to the list"
    )
    yield Finding(("workspace",), message, "workspace")


def _placeholder_findings(data: Any, at: JsonPath = ()) -> Iterator[Finding]:
    """Leftover ``${{...}}`` outside projection templates (bundle members are checked alone)."""
    if at[-3:] == _TEMPLATE_PATH or at == ("bundle", "resources"):
        return
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _placeholder_findings(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _placeholder_findings(value, (*at, index))
    elif isinstance(data, str):
        match = variables.PLACEHOLDER.search(data)
        if match:
            message = (
                f"unfilled template placeholder {match.group(0)}: replace it with a value, "
                "or with a ${VAR} variable defined in gitops-agent.yaml"
            )
            yield Finding(at, message, "placeholder")


def _worker_findings(worker: Worker, context: ValidationContext) -> Iterator[Finding]:
    if worker.execution_mode not in EXECUTION_MODES:
        accepted = ", ".join(EXECUTION_MODES)
        message = f"executionMode {worker.execution_mode!r} is not supported (accepted: {accepted})"
        yield Finding(("spec", "executionMode"), message, "execution-mode")
    yield from _runtime_findings(worker.runtime, ("spec",), context)
    if worker.disk is not None:
        problem = quantities.problem(worker.disk.size)
        if problem is not None:
            yield Finding(("spec", "disk", "size"), f"disk size {problem}", "quantity")
        elif quantities.value(worker.disk.size) <= 0:
            yield Finding(("spec", "disk", "size"), "disk size must be greater than 0", "quantity")
        yield from _mount_findings(worker.runtime, ("spec",), extra=(worker.disk.directory,))
    else:
        yield from _mount_findings(worker.runtime, ("spec",))


def _runtime_findings(
    runtime: Runtime, at: JsonPath, context: ValidationContext
) -> Iterator[Finding]:
    if runtime.compute not in context.computes:
        known = ", ".join(sorted(context.computes))
        message = (
            f"unknown compute {runtime.compute!r} (known: {known}; add it under target.computes)"
        )
        yield Finding((*at, "compute"), message, "compute")
    yield from _stack_findings(runtime, at, context.stacks)
    yield from _resource_findings(runtime.resources, (*at, "resources"))
    yield from (Finding((*at, *f.at), f.message, f.rule) for f in projections.findings(runtime.use))


def _stack_findings(runtime: Runtime, at: JsonPath, stacks: StackRegistry) -> Iterator[Finding]:
    stack = stacks.get(runtime.stack)
    if stack is None:
        known = ", ".join(stacks.names())
        message = f"unknown stack {runtime.stack!r} (known: {known}; add it under target.stacks)"
        yield Finding((*at, "stack"), message, "stack")
        return
    try:
        problems = schema.check(schema.checker_of(stack.spec_schema), dict(runtime.stack_spec))
    except schema.UnusableSchemaError as err:
        message = (
            f"the {runtime.stack} stack's schema cannot check this stackSpec ({err}): fix "
            f"target.stacks.{runtime.stack}.schema in gitops-agent.yaml"
        )
        yield Finding((*at, "stackSpec"), message, "stack-spec")
        return
    for problem in problems:
        message = problem.message.replace("manifest", "stackSpec", 1)
        yield Finding(
            (*at, "stackSpec", *problem.path), f"{runtime.stack} stack: {message}", "stack-spec"
        )


def _resource_findings(resources: Resources, at: JsonPath) -> Iterator[Finding]:
    readable: dict[tuple[str, str], str] = {}
    for side in ("requests", "limits"):
        for name in ("cpu", "memory"):
            written = getattr(getattr(resources, side), name)
            problem = None if written is None else quantities.problem(written)
            if problem is not None:
                yield Finding((*at, side, name), f"{name} {problem}", "quantity")
            elif written is not None:
                readable[side, name] = written
    for side in ("requests", "limits"):
        memory = readable.get((side, "memory"))
        unit = _FRACTIONAL_BYTES.get(memory[-1]) if memory else None
        if memory and unit:
            amount = quantities.value(memory)
            message = (
                f"memory {memory!r} means {memory[:-1]} {unit} ({amount.normalize():f} bytes); "
                f"did you mean {memory[:-1]}Mi?"
            )
            yield Finding((*at, side, "memory"), message, "quantity")
    for name in ("cpu", "memory"):
        request, limit = readable.get(("requests", name)), readable.get(("limits", name))
        if request and limit and quantities.value(request) > quantities.value(limit):
            message = f"{name} request {request} is above its limit {limit}"
            yield Finding((*at, "requests", name), message, "quantity")


def _mount_findings(
    runtime: Runtime, at: JsonPath, *, extra: Sequence[str] = ()
) -> Iterator[Finding]:
    seen: dict[str, str] = dict.fromkeys(extra, "disk")
    for index, volume in enumerate(runtime.use.volumes):
        where = (*at, "use", "volumes", index)
        if len(volume.name) > 63 or not DNS_LABEL.fullmatch(volume.name):
            yield Finding(
                (*where, "name"), f"volume name {volume.name!r} must be a DNS-1123 label", "name"
            )
        if volume.directory in seen:
            message = f"directory {volume.directory} is already mounted by {seen[volume.directory]}"
            yield Finding((*where, "directory"), message, "mounts")
        seen.setdefault(volume.directory, f"volume {volume.name!r}")
    projection = runtime.use.projection
    for index, file in enumerate(projection.files if projection else ()):
        owner = seen.get(file.directory)
        if owner is not None and owner != "projected files":
            message = f"directory {file.directory} is already mounted by {owner}"
            yield Finding(
                (*at, "use", "projection", "projections", "files", index, "directory"),
                message,
                "mounts",
            )
        seen.setdefault(file.directory, "projected files")


def _workflow_findings(workflow: Workflow, context: ValidationContext) -> Iterator[Finding]:
    names: dict[str, int] = {}
    for index, step in enumerate(workflow.dag):
        at: JsonPath = ("spec", "dag", index)
        if not DNS_LABEL.fullmatch(step.name) or len(step.name) > MAX_NAME_LENGTH:
            message = f"step name {step.name!r} must be a DNS-1123 label of at most {MAX_NAME_LENGTH} characters"
            yield Finding((*at, "name"), message, "name")
        if step.name in names:
            yield Finding(
                (*at, "name"),
                f"duplicate step name {step.name!r} (first is dag[{names[step.name]}])",
                "dag",
            )
        names.setdefault(step.name, index)
        yield from _runtime_findings(step.runtime, (*at, "spec"), context)
        yield from _mount_findings(step.runtime, (*at, "spec"))
    depends = {step.name: list(step.depends) for step in workflow.dag}
    yield from _edge_findings(depends, names, ("spec", "dag"), "depends", "step")
    yield from _schedule_findings(workflow)


def _schedule_findings(workflow: Workflow) -> Iterator[Finding]:
    if workflow.schedule is None:
        return
    for index, expression in enumerate(workflow.schedule.crons):
        problem = cron.problem(expression)
        if problem:
            yield Finding(("spec", "schedule", "crons", index), problem, "schedule")
    problem = cron.timezone_problem(workflow.schedule.timezone)
    if problem:
        yield Finding(("spec", "schedule", "timezone"), problem, "schedule")


def _edge_findings(
    depends: Mapping[str, Sequence[str]],
    index: Mapping[str, int],
    at: JsonPath,
    field_name: str,
    noun: str,
) -> Iterator[Finding]:
    """Unknown targets, self edges and cycles of a dependency graph."""
    for name, targets in depends.items():
        for position, target in enumerate(targets):
            where = (*at, index[name], field_name, position)
            if target == name:
                yield Finding(where, f"{noun} {name!r} depends on itself", "graph")
            elif target not in depends:
                known = ", ".join(sorted(depends))
                yield Finding(
                    where,
                    f"{noun} {name!r} depends on unknown {noun} {target!r} (known: {known})",
                    "graph",
                )
    cycle = graph.find_cycle({n: [t for t in ts if t != n] for n, ts in depends.items()})
    if cycle:
        path = " -> ".join(cycle)
        yield Finding((*at, index[cycle[0]], field_name), f"dependency cycle: {path}", "graph")


def _bundle_findings(bundle: Bundle) -> Iterator[Finding]:
    raw = bundle.manifest["bundle"]["resources"]
    ids: dict[str, int] = {}
    for index, member in enumerate(raw):
        if member["id"] in ids:
            message = f"duplicate bundle resource id {member['id']!r} (first is resources[{ids[member['id']]}])"
            yield Finding(("bundle", "resources", index, "id"), message, "bundle")
        ids.setdefault(member["id"], index)
        yield from _condition_findings(member, index)
    depends = {m["id"]: list(m.get("dependencies", ())) for m in raw}
    yield from _edge_findings(depends, ids, ("bundle", "resources"), "dependencies", "resource")
    yield from _workspace_findings(bundle)


def _condition_findings(member: Mapping[str, Any], index: int) -> Iterator[Finding]:
    dependencies = member.get("dependencies", ())
    for position, condition in enumerate(member.get("dependencyConditions", ())):
        target = condition["resourceId"]
        if target not in dependencies:
            at = ("bundle", "resources", index, "dependencyConditions", position, "resourceId")
            message = (
                f"dependency condition on {target!r}, which is not one of the dependencies of "
                f"{member['id']!r}; add it to 'dependencies'"
            )
            yield Finding(at, message, "bundle")


def _workspace_findings(bundle: Bundle) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, workspace in enumerate(bundle.workspaces):
        at = ("bundle", "workspaces", index, "name")
        if len(workspace.name) > 32 or not WORKSPACE.fullmatch(workspace.name):
            yield Finding(
                at,
                f"workspace {workspace.name!r} must be lowercase letters, digits and '-', at most 32",
                "name",
            )
        if workspace.name in seen:
            yield Finding(at, f"duplicate workspace {workspace.name!r}", "bundle")
        seen.add(workspace.name)


def _duplicate_ids(resources: Sequence[Resource]) -> Iterator[Violation]:
    first: dict[object, Resource] = {}
    for resource in flatten(resources):
        earlier = first.setdefault(resource.id, resource)
        if earlier is resource:
            continue
        origin = resource.origin
        position = origin.locate(("name",))
        where = f"{earlier.origin.display or earlier.origin.path}:{earlier.origin.locate(('name',)).line}"
        message = f"{resource.id} is declared twice (first in {where}); names must be unique per type and workspace"
        yield Violation(
            origin.display or origin.path,
            position.line,
            position.column,
            str(resource.id),
            message,
            "duplicate",
        )
