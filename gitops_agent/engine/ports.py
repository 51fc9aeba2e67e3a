"""The Target port: what the engine needs of a place where resources run.

Implemented by ``targets.kubernetes``, ``targets.local`` and, for tests, ``testing.fake``;
the engine (``engine.apply``, ``engine.reconcile``) and the command line (``get``, ``log``,
``delete``) use nothing else. A target renders resources into its own objects (pure core
code), observes what its owner holds (objects grouped by resource, their statuses, the
inventory), looks up what stands at keys it is about to create, applies and deletes one
object at a time, removes fields others added to one (a drift heal), stores the inventory
and reads logs.
What only some targets need (stopping local processes, starting scheduled runs) is an
optional hook (``TargetHooks``), never a check of the target's class. Library errors stop
inside a target and surface as ``TargetError``s naming the object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitops_agent.core.history import Cycle
from gitops_agent.core.inventory import Inventory
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.core.manifests import Resource, ResourceId
from gitops_agent.core.rendering.objects import StepKeys, TargetObjects
from gitops_agent.core.status import Phase, ResourceStatus

#: Which run of each one-off Workflow is current: its steps and their objects.
CurrentRuns = Mapping[ResourceId, Sequence[StepKeys]]
#: A field of an object: map keys and list indexes.
FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Observation:
    """What a target holds for its owner, at one moment.

    ``live``: managed objects by resource (not the pods or replica sets they spawn);
    ``statuses``: DataOS status and runtime of each resource seen (Bundles included once the
    engine added them); ``steps``: the phase of each current workflow step by step name;
    ``inventory``: what the owner recorded; ``requests``: API requests it took; ``owners``:
    the owner label of each resource seen (``get -a``).
    """

    live: Mapping[ResourceId, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    statuses: Mapping[ResourceId, ResourceStatus] = field(default_factory=dict)
    steps: Mapping[ResourceId, Mapping[str, Phase]] = field(default_factory=dict)
    inventory: Inventory = field(default_factory=Inventory)
    requests: int = 0
    owners: Mapping[ResourceId, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a resource's logs and where it came from (a pod or a replica)."""

    source: str
    text: str


@dataclass(frozen=True, slots=True)
class Periodic:
    """Work a target needs done regularly while the agent runs; ``run`` returns lines to log."""

    name: str
    every: float
    run: Callable[[], Sequence[str]]


class HistoryStore(Protocol):
    """Where a target keeps the agent's history of cycles (``core.history``)."""

    def load(self) -> tuple[Cycle, ...]:
        """The cycles kept, oldest first (records that cannot be read are left out)."""
        ...

    def record(self, cycle: Cycle, *, limit: int) -> Cycle:
        """Keep ``cycle`` (numbered after the newest), dropping the oldest past ``limit``;
        returns it as numbered."""
        ...


@dataclass(frozen=True, slots=True)
class TargetHooks:
    """A target's optional lifecycle. ``release`` stops what runs for this owner when a
    one-shot ``run --once`` exits (unless asked to keep it) and says what it stopped;
    ``periodic`` is scheduled while ``run`` serves; ``drop_namespaces`` deletes the
    namespaces this owner's applies created and names them (a preview environment's, when
    it is torn down); ``history`` keeps the agent's cycles on the target;
    ``together`` runs several resources' writes at once (``sync.concurrency``; None: the
    target takes one write at a time)."""

    release: Callable[[], str] | None = None
    periodic: tuple[Periodic, ...] = ()
    drop_namespaces: Callable[[], tuple[str, ...]] | None = None
    history: HistoryStore | None = None
    together: Callable[[Sequence[Callable[[], None]], int], None] | None = None


class WriteGuard(Protocol):
    """Whether this agent may still write: asked before every write of a cycle (each
    object applied or deleted, each inventory save). An agent elected leader answers no
    once it could not renew its lease within the renew deadline, or is shutting down, so
    that two agents never write at once."""

    def refusal(self) -> str | None:
        """None while writes may go on; why they may not otherwise."""
        ...


class Target(Protocol):
    """A place where resources run."""

    kind: str
    owner: str

    def render(self, resources: Sequence[Resource], *, revision: str) -> tuple[TargetObjects, ...]:
        """The objects each resource becomes on this target (Bundles have none)."""
        ...

    def observe(self, *, runs: CurrentRuns | None = None, all_owners: bool = False) -> Observation:
        """Everything this owner (or, with ``all_owners``, any owner) holds; ``runs`` says
        which workflow runs are current (default: the newest of each step)."""
        ...

    def lookup(self, keys: Sequence[ObjectKey]) -> Mapping[ObjectKey, Mapping[str, Any]]:
        """The objects at ``keys``, whoever made them (missing keys are left out): what the
        planner checks before creating, so that nothing of another's is taken over."""
        ...

    def apply(self, obj: Mapping[str, Any], *, create: bool = False) -> Mapping[str, Any]:
        """Create or update one object as the agent's field manager; returns it as written
        (with its uid). With ``create``, an object already at that key is a ConflictError
        naming who manages it, and is left untouched."""
        ...

    def remove_fields(
        self, live: Mapping[str, Any], fields: Sequence[tuple[FieldPath, Any]]
    ) -> Mapping[str, Any]:
        """Remove fields other managers added to one of the owner's objects (what an apply
        of the owner's own fields leaves in place): each path with the value it was seen
        with, the write refused when the object or a value changed since. Returns the
        object as written."""
        ...

    def delete(self, live: Mapping[str, Any]) -> None:
        """Delete one object the owner holds, as observed (a missing object is not an error)."""
        ...

    def save_inventory(self, inventory: Inventory, *, previous: Inventory) -> int:
        """Store the inventory, writing only what changed; returns the number of writes."""
        ...

    def logs(
        self, rid: ResourceId, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        """The logs of a resource's runs, every replica, each line with its source."""
        ...

    def hooks(self) -> TargetHooks:
        """The target's optional lifecycle hooks."""
        ...

    def close(self) -> None:
        """Release connections and background work."""
        ...
