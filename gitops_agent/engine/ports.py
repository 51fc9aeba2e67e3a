"""The Target port: what the engine needs of a place where resources run.

Implemented by ``targets.kubernetes`` and ``targets.local``; the engine (``engine.apply``,
``engine.reconcile``) and the command line (``get``, ``log``, ``delete``) use nothing else.
A target renders resources into its own objects (pure core code), observes what its owner
holds (objects grouped by resource, their statuses, the inventory), applies and deletes one
object at a time, stores the inventory and reads logs. Its library errors stop inside it and
surface as ``TargetError``s naming the object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitops_agent.core.inventory import Inventory
from gitops_agent.core.manifests import Resource, ResourceId
from gitops_agent.core.planning import DesiredResource
from gitops_agent.core.status import Phase, ResourceStatus


@dataclass(frozen=True, slots=True)
class Observation:
    """What a target holds for its owner, at one moment.

    ``live``: managed objects by resource (not the pods or replica sets they spawn);
    ``statuses``: DataOS status and runtime of each resource seen; ``steps``: the phase of
    each current workflow step by step name; ``inventory``: what the owner recorded.
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


class Target(Protocol):
    """A place where resources run."""

    kind: str
    owner: str

    def render(
        self, resources: Sequence[Resource], *, revision: str
    ) -> tuple[DesiredResource, ...]:
        """The objects each resource becomes on this target (Bundles have none)."""
        ...

    def observe(
        self, desired: Sequence[DesiredResource] = (), *, all_owners: bool = False
    ) -> Observation:
        """Everything this owner (or, with ``all_owners``, any owner) holds; ``desired``
        tells which workflow runs are current."""
        ...

    def apply(self, obj: Mapping[str, Any]) -> None:
        """Create or update one object as the agent's field manager."""
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

    def close(self) -> None:
        """Release connections and background work."""
        ...
