"""Value types of rendering: settings in, rendered objects out.

``RenderSettings`` is built from the agent configuration (``AgentConfig.render_settings``)
and handed to ``core.rendering.kubernetes.render``, which returns a ``RenderedSet``: one
``Rendered*`` value per resource, each holding ``KubeObject``s. What a target hands the
engine is a ``TargetObjects`` per resource (its objects as plain data, which of them carry
the manifest, and a one-off Workflow's steps as ``StepKeys``); the engine assembles the
desired state from those (``engine.desired.assemble``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core.kinds import ObjectKey, apply_order
from gitops_agent.core.manifests import ResourceId
from gitops_agent.core.stacks import StackRegistry
from gitops_agent.core.violations import Violation

DEFAULT_COMPUTE = "runnable-default"


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
            yield from sorted(rendered.objects, key=lambda obj: apply_order(obj.key))

    def get(self, rid: ResourceId) -> Rendered | None:
        return next((r for r in self.resources if r.id == rid), None)


@dataclass(frozen=True, slots=True)
class StepKeys:
    """A one-off Workflow step as the engine runs it: the objects created once the
    ``depends`` steps succeeded."""

    name: str
    depends: tuple[str, ...]
    keys: tuple[ObjectKey, ...]


@dataclass(frozen=True, slots=True)
class TargetObjects:
    """One resource as a target renders it: its objects in apply order, the keys of its
    primary objects (those that carry the manifest annotation: a Worker's workload, a
    Workflow's Jobs), and for a one-off Workflow its steps. A Bundle has no objects."""

    id: ResourceId
    objects: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    primary: frozenset[ObjectKey] = frozenset()
    steps: tuple[StepKeys, ...] = ()


class RenderError(ValueError):
    """Resources that validate but cannot be rendered together (such as two resources
    whose objects would share a name). ``violations`` locates each problem."""

    def __init__(self, message: str, violations: tuple[Violation, ...] = ()) -> None:
        super().__init__(message)
        self.violations = violations
