"""Value types of rendering: settings in, rendered objects out.

``RenderSettings`` is built from the agent configuration (``AgentConfig.render_settings``)
and handed to ``core.rendering.kubernetes.render``, which returns a ``RenderedSet``: one
``Rendered*`` value per resource, each holding ``KubeObject``s. The engine plans and applies
those objects; for a Workflow it reads the step graph (``RenderedWorkflow.steps``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.objects import ObjectKey
from gitops_agent.core.stacks import StackRegistry
from gitops_agent.core.violations import Violation

DEFAULT_COMPUTE = "runnable-default"


@dataclass(frozen=True, slots=True)
class ObjectKind:
    """A Kubernetes kind the agent writes."""

    api_version: str
    kind: str


CONFIG_MAP = ObjectKind("v1", "ConfigMap")
PERSISTENT_VOLUME_CLAIM = ObjectKind("v1", "PersistentVolumeClaim")
SERVICE = ObjectKind("v1", "Service")
STATEFUL_SET = ObjectKind("apps/v1", "StatefulSet")
DEPLOYMENT = ObjectKind("apps/v1", "Deployment")
JOB = ObjectKind("batch/v1", "Job")
CRON_JOB = ObjectKind("batch/v1", "CronJob")

#: Every kind rendering produces, in apply order (what an object mounts comes first).
KINDS: tuple[ObjectKind, ...] = (
    CONFIG_MAP,
    PERSISTENT_VOLUME_CLAIM,
    SERVICE,
    STATEFUL_SET,
    DEPLOYMENT,
    JOB,
    CRON_JOB,
)


@dataclass(frozen=True, slots=True)
class KubeObject:
    """One rendered object. ``body`` is the whole manifest as JSON data; treat it read-only."""

    key: ObjectKey
    body: Mapping[str, Any] = field(compare=False, repr=False)
    content_hash: str = ""


@dataclass(frozen=True, slots=True)
class Compute:
    """Where a compute's pods may run: ``target.computes.<name>`` of the configuration."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    affinity: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """What the agent configuration tells the renderer."""

    owner: str = "gitops-agent"
    namespaces: Mapping[str, str] = field(default_factory=dict)
    computes: Mapping[str, Compute] = field(default_factory=dict)
    stacks: StackRegistry = field(default_factory=StackRegistry)
    storage_class: str | None = None
    job_backoff_limit: int = 0
    dataos_fqdn: str = "dataos.local"

    def namespace(self, workspace: str) -> str:
        """The namespace a workspace maps to (by default, the workspace's own name)."""
        return self.namespaces.get(workspace, workspace)

    def compute(self, name: str) -> Compute:
        """A compute's scheduling; ``runnable-default`` schedules anywhere unless configured."""
        found = self.computes.get(name)
        if found is not None:
            return found
        if name == DEFAULT_COMPUTE:
            return Compute()
        raise RenderError(f"unknown compute {name!r}")


@dataclass(frozen=True, slots=True)
class RenderedWorker:
    """A Worker's objects; ``workload`` is its Deployment or StatefulSet."""

    id: ResourceId
    objects: tuple[KubeObject, ...]
    workload: ObjectKey


@dataclass(frozen=True, slots=True)
class RenderedStep:
    """One Workflow step: its Job (a CronJob when scheduled) and the objects it mounts."""

    name: str
    depends: tuple[str, ...]
    objects: tuple[KubeObject, ...]
    job: ObjectKey


@dataclass(frozen=True, slots=True)
class RenderedWorkflow:
    """A Workflow's steps, in declaration order; the engine runs them in ``depends`` order."""

    id: ResourceId
    steps: tuple[RenderedStep, ...]
    scheduled: bool = False

    @property
    def objects(self) -> tuple[KubeObject, ...]:
        return tuple(obj for step in self.steps for obj in step.objects)

    def depends(self) -> dict[str, tuple[str, ...]]:
        """The step graph, for ``core.graph.waves``."""
        return {step.name: step.depends for step in self.steps}


@dataclass(frozen=True, slots=True)
class RenderedBundle:
    """A Bundle holds no objects of its own; its members are rendered on their own."""

    id: ResourceId
    members: tuple[ResourceId, ...]

    @property
    def objects(self) -> tuple[KubeObject, ...]:
        return ()


Rendered = RenderedWorker | RenderedWorkflow | RenderedBundle


@dataclass(frozen=True, slots=True)
class RenderedSet:
    """Every rendered resource of a revision, sorted by resource id."""

    resources: tuple[Rendered, ...]
    revision: str = ""

    def objects(self) -> Iterator[KubeObject]:
        """Every object: by resource id, then in apply order of kinds, then by name."""
        for rendered in self.resources:
            yield from sorted(rendered.objects, key=lambda obj: (obj.key.rank, obj.key.name))

    def get(self, rid: ResourceId) -> Rendered | None:
        return next((r for r in self.resources if r.id == rid), None)


class RenderError(ValueError):
    """Resources that validate but cannot be rendered together (such as two resources
    whose objects would share a name). ``violations`` locates each problem."""

    def __init__(self, message: str, violations: tuple[Violation, ...] = ()) -> None:
        super().__init__(message)
        self.violations = violations
