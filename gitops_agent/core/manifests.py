"""The resource model: Worker, Workflow and Bundle at ``version: v2alpha``, and their identity.

Values only. ``core.loading`` builds them from schema-valid manifest data with the
``build_*`` functions below; rendering, planning and status read them. Field names follow
the DataOS manifest (``stackSpec`` becomes ``stack_spec``); quantities stay the strings the
author wrote (``cpu: 0.5`` becomes ``"0.5"``), canonical forms are the renderer's business.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core.yamldoc import Document, JsonPath, Position

API_VERSION = "v2alpha"
DEFAULT_WORKSPACE = "public"


class ResourceType(enum.StrEnum):
    """The resource types this agent manages."""

    WORKER = "worker"
    WORKFLOW = "workflow"
    BUNDLE = "bundle"


class ConcurrencyPolicy(enum.StrEnum):
    """What a scheduled Workflow does when a run is due while the previous one still runs."""

    ALLOW = "Allow"
    FORBID = "Forbid"
    REPLACE = "Replace"


@dataclass(frozen=True, slots=True, order=True)
class ResourceId:
    """Identity of a resource. Bundles are instance-level: their workspace is empty."""

    type: ResourceType
    workspace: str
    name: str

    def __str__(self) -> str:
        if not self.workspace:
            return f"{self.type}/{self.name}"
        return f"{self.type}/{self.workspace}/{self.name}"

    def encode(self) -> str:
        """``type.workspace.name``: usable as a ConfigMap key or a file name."""
        return f"{self.type}.{self.workspace}.{self.name}"

    @classmethod
    def decode(cls, text: str) -> ResourceId:
        """The inverse of ``encode``; raises ValueError on anything else."""
        kind, workspace, name = text.split(".")
        return cls(ResourceType(kind), workspace, name)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a resource was declared.

    ``path`` is relative to the repository root; ``display`` is how the user can open it;
    ``bundle`` is the Bundle that declared it, if any. ``document`` and ``prefix`` locate
    fields of the manifest for messages (``prefix`` is non-empty for a Bundle's inline spec).
    """

    path: str
    line: int
    bundle: ResourceId | None = None
    display: str = ""
    document: Document | None = field(default=None, compare=False, repr=False)
    prefix: JsonPath = field(default=(), compare=False, repr=False)

    def locate(self, at: JsonPath = ()) -> Position:
        """The position of field ``at`` of the manifest (its nearest written ancestor)."""
        if self.document is None:
            return Position(self.line, 1)
        return self.document.position((*self.prefix, *at))


@dataclass(frozen=True, slots=True)
class Meta:
    """The common envelope of every manifest."""

    name: str
    tags: tuple[str, ...] = ()
    description: str = ""
    owner: str = ""
    layer: str = ""


@dataclass(frozen=True, slots=True)
class ComputeResources:
    """CPU and memory quantities, as written."""

    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    """Requests and limits of a workload."""

    requests: ComputeResources = ComputeResources()
    limits: ComputeResources = ComputeResources()


@dataclass(frozen=True, slots=True)
class EnvVar:
    """One projected environment variable; ``template`` may use ``${{...}}`` and secrets."""

    key: str
    template: str


@dataclass(frozen=True, slots=True)
class ProjectedFile:
    """A file rendered from a template and mounted at ``directory/name``."""

    name: str
    directory: str
    template: str


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret made available to templates as ``secrets['<context_alias>']``."""

    id: str
    context_alias: str


@dataclass(frozen=True, slots=True)
class Projection:
    """``use.projection``: secrets in scope and what is projected into the runtime."""

    secrets: tuple[SecretRef, ...] = ()
    env_vars_template: str | None = None
    env_vars: tuple[EnvVar, ...] = ()
    files: tuple[ProjectedFile, ...] = ()


@dataclass(frozen=True, slots=True)
class VolumeMount:
    """``use.volumes[]``: an existing volume (claim) mounted into the runtime."""

    name: str
    directory: str
    read_only: bool = False
    sub_path: str | None = None


@dataclass(frozen=True, slots=True)
class Use:
    """``spec.use``: projections and volumes."""

    projection: Projection | None = None
    volumes: tuple[VolumeMount, ...] = ()


@dataclass(frozen=True, slots=True)
class Disk:
    """``spec.disk``: storage that lives and dies with the Worker."""

    size: str
    directory: str = "/data"
    access_mode: str = "ReadWriteOnce"
    storage_class: str | None = None


@dataclass(frozen=True, slots=True)
class Runtime:
    """What runs: compute, resources, stack and its configuration, projections and volumes."""

    compute: str
    stack: str
    stack_spec: Mapping[str, Any]
    resources: Resources = Resources()
    use: Use = Use()


@dataclass(frozen=True, slots=True)
class Worker:
    """A long-running workload without an endpoint."""

    id: ResourceId
    meta: Meta
    runtime: Runtime
    origin: Origin
    manifest: Mapping[str, Any] = field(compare=False, repr=False)
    replicas: int = 1
    execution_mode: str = "default"
    disk: Disk | None = None


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    """One node of a Workflow's DAG."""

    name: str
    runtime: Runtime
    title: str = ""
    depends: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a scheduled Workflow runs."""

    crons: tuple[str, ...]
    timezone: str = "UTC"
    concurrency_policy: ConcurrencyPolicy = ConcurrencyPolicy.ALLOW
    end_on: str | None = None


@dataclass(frozen=True, slots=True)
class Workflow:
    """A DAG of steps that runs to completion, once or on a schedule."""

    id: ResourceId
    meta: Meta
    dag: tuple[WorkflowStep, ...]
    origin: Origin
    manifest: Mapping[str, Any] = field(compare=False, repr=False)
    schedule: Schedule | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """One side of a dependency condition: ``is`` (exact, any of) or ``contains`` (substring)."""

    is_: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DependencyCondition:
    """What a dependency's ``status`` and ``runtime`` must show before a dependent applies."""

    resource_id: str
    status: Match | None = None
    runtime: Match | None = None


@dataclass(frozen=True, slots=True)
class BundleMember:
    """A node of a Bundle's DAG and the resource it applies."""

    id: str
    resource: Worker | Workflow
    dependencies: tuple[str, ...] = ()
    conditions: tuple[DependencyCondition, ...] = ()
    file: str | None = None


@dataclass(frozen=True, slots=True)
class BundleWorkspace:
    """A workspace the Bundle declares."""

    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    layer: str = "user"


@dataclass(frozen=True, slots=True)
class Bundle:
    """A set of resources applied as a DAG, each edge optionally waiting on conditions."""

    id: ResourceId
    meta: Meta
    members: tuple[BundleMember, ...]
    origin: Origin
    manifest: Mapping[str, Any] = field(compare=False, repr=False)
    workspaces: tuple[BundleWorkspace, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)


Resource = Worker | Workflow | Bundle


def flatten(resources: Iterable[Resource]) -> Iterator[Resource]:
    """Every resource, each Bundle followed by its members' resources."""
    for resource in resources:
        yield resource
        if isinstance(resource, Bundle):
            yield from (member.resource for member in resource.members)


def resource_id(data: Mapping[str, Any], *, workspace: str | None = None) -> ResourceId:
    """The identity of schema-valid manifest data; ``workspace`` overrides the manifest's."""
    kind = ResourceType(data["type"])
    if kind is ResourceType.BUNDLE:
        return ResourceId(kind, "", data["name"])
    chosen = workspace or data.get("workspace") or DEFAULT_WORKSPACE
    return ResourceId(kind, chosen, data["name"])


def build_meta(data: Mapping[str, Any]) -> Meta:
    """The envelope of schema-valid manifest data."""
    return Meta(
        name=data["name"],
        tags=tuple(data.get("tags", ())),
        description=data.get("description", ""),
        owner=data.get("owner", ""),
        layer=data.get("layer", ""),
    )


def scalar_text(value: Any) -> str:
    """A YAML scalar as the text a process sees: ``true``/``false`` for booleans."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def quantity(value: Any) -> str | None:
    """A quantity as a string (``0.5`` stays ``"0.5"``); None when absent."""
    return None if value is None else str(value)


def build_resources(data: Mapping[str, Any] | None) -> Resources:
    data = data or {}
    parts = [data.get(side) or {} for side in ("requests", "limits")]
    requests, limits = (
        ComputeResources(quantity(part.get("cpu")), quantity(part.get("memory"))) for part in parts
    )
    return Resources(requests, limits)


def build_projection(data: Mapping[str, Any] | None) -> Projection | None:
    if data is None:
        return None
    inner = data.get("projections") or {}
    return Projection(
        secrets=tuple(SecretRef(s["id"], s["contextAlias"]) for s in data.get("secrets", ())),
        env_vars_template=inner.get("envVarsTemplate"),
        env_vars=tuple(
            EnvVar(e["key"], scalar_text(e["template"])) for e in inner.get("envVars", ())
        ),
        files=tuple(
            ProjectedFile(f["name"], f["directory"], f["template"]) for f in inner.get("files", ())
        ),
    )


def build_use(data: Mapping[str, Any] | None) -> Use:
    data = data or {}
    volumes = tuple(
        VolumeMount(v["name"], v["directory"], bool(v.get("readOnly", False)), v.get("subPath"))
        for v in data.get("volumes", ())
    )
    return Use(build_projection(data.get("projection")), volumes)


def build_runtime(spec: Mapping[str, Any]) -> Runtime:
    return Runtime(
        compute=spec["compute"],
        stack=spec["stack"],
        stack_spec=spec.get("stackSpec") or {},
        resources=build_resources(spec.get("resources")),
        use=build_use(spec.get("use")),
    )


def build_worker(data: Mapping[str, Any], rid: ResourceId, origin: Origin) -> Worker:
    """A Worker from schema-valid manifest data."""
    spec = data["spec"]
    disk = spec.get("disk")
    return Worker(
        id=rid,
        meta=build_meta(data),
        runtime=build_runtime(spec),
        origin=origin,
        manifest=data,
        replicas=spec.get("replicas", 1),
        execution_mode=spec.get("executionMode", "default"),
        disk=None
        if disk is None
        else Disk(
            size=str(disk["size"]),
            directory=disk.get("directory", "/data"),
            access_mode=disk.get("accessMode", "ReadWriteOnce"),
            storage_class=disk.get("storageClass"),
        ),
    )


def build_workflow(data: Mapping[str, Any], rid: ResourceId, origin: Origin) -> Workflow:
    """A Workflow from schema-valid manifest data."""
    spec = data["spec"]
    steps = tuple(
        WorkflowStep(
            name=step["name"],
            runtime=build_runtime(step["spec"]),
            title=step.get("title", ""),
            depends=tuple(step.get("depends", ())),
        )
        for step in spec["dag"]
    )
    raw = spec.get("schedule")
    schedule = None
    if raw is not None:
        schedule = Schedule(
            crons=tuple(raw["crons"]),
            timezone=raw.get("timezone", "UTC"),
            concurrency_policy=ConcurrencyPolicy(raw.get("concurrencyPolicy", "Allow")),
            end_on=raw.get("endOn"),
        )
    return Workflow(rid, build_meta(data), steps, origin, data, schedule)


def build_condition(data: Mapping[str, Any]) -> DependencyCondition:
    def match(side: Mapping[str, Any] | None) -> Match | None:
        if side is None:
            return None
        return Match(tuple(side.get("is", ())), tuple(side.get("contains", ())))

    return DependencyCondition(
        data["resourceId"], match(data.get("status")), match(data.get("runtime"))
    )


def build_bundle_workspace(data: Mapping[str, Any]) -> BundleWorkspace:
    return BundleWorkspace(
        name=data["name"],
        description=data.get("description", ""),
        tags=tuple(data.get("tags", ())),
        labels=dict(data.get("labels", {})),
        layer=data.get("layer", "user"),
    )
