"""The Kubernetes target: render, observe, apply, delete, inventory and logs on a cluster.

Built by the command line (``--target kubernetes``) and used by the engine through the
``engine.ports.Target`` protocol. Observing costs one LIST per managed kind plus one for
pods, all selected by the owner label; applying is server-side apply under the agent's field
manager; deleting names the observed object's uid, so only what this owner listed is ever
deleted. The inventory lives in ConfigMaps (``gitops-agent-inventory-<owner>-<shard>``)
in the inventory namespace; only changed shards are written.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core import inventory as inventories
from gitops_agent.core import kubestate, labels
from gitops_agent.core.inventory import Inventory
from gitops_agent.core.manifests import Resource, ResourceId, ResourceType, flatten
from gitops_agent.core.objects import ObjectKey, key_of, labels_of
from gitops_agent.core.planning import Dependency, DesiredResource, DesiredStep, dependencies
from gitops_agent.core.rendering import kubernetes as rendering
from gitops_agent.core.rendering.objects import (
    Rendered,
    RenderedWorker,
    RenderedWorkflow,
    RenderSettings,
)
from gitops_agent.core.status import (
    Phase,
    ResourceStatus,
    bundle_statuses,
    worker_status,
    workflow_status,
)
from gitops_agent.engine.ports import LogLine, Observation
from gitops_agent.errors import NotFoundError
from gitops_agent.targets.kubeapi import KubeApi
from gitops_agent.targets.manifests import with_manifest

INVENTORY = f"{labels.PREFIX}inventory"
Clock = Callable[[], datetime]


class KubernetesTarget:
    """One agent owner's view of one cluster."""

    kind = "kubernetes"

    def __init__(
        self,
        api: KubeApi,
        *,
        owner: str,
        settings: RenderSettings,
        inventory_namespace: str = "default",
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.api = api
        self.owner = owner
        self.settings = settings
        self.inventory_namespace = inventory_namespace
        self.clock = clock

    def close(self) -> None:
        self.api.close()

    def render(
        self, resources: Sequence[Resource], *, revision: str
    ) -> tuple[DesiredResource, ...]:
        rendered = rendering.render(resources, self.settings, revision=revision, now=self.clock())
        depends, bundle_of = dependencies(resources)
        flat = {r.id: r for r in flatten(resources)}
        return tuple(
            _desired(item, flat[item.id], depends.get(item.id, ()), bundle_of.get(item.id))
            for item in rendered.resources
        )

    def observe(
        self, desired: Sequence[DesiredResource] = (), *, all_owners: bool = False
    ) -> Observation:
        before = self.api.requests
        selector = (
            f"{labels.MANAGED_BY}={labels.MANAGER}"
            if all_owners
            else labels.owner_selector(self.owner)
        )
        objects = [
            obj
            for kind in kubestate.MANAGED_KINDS
            for obj in self.api.list(kind, selector=selector)
        ]
        pods = kubestate.group(self.api.list("Pod", selector=selector))
        stored = [
            o
            for o in objects
            if labels_of(o).get(INVENTORY) == "true"
            and labels_of(o).get(labels.OWNER) == self.owner
        ]
        grouped = kubestate.group(o for o in objects if labels_of(o).get(INVENTORY) != "true")
        inventory = _read_inventory(stored)
        current = {d.id: d for d in desired}
        statuses: dict[ResourceId, ResourceStatus] = {}
        steps: dict[ResourceId, dict[str, Phase]] = {}
        for rid, items in grouped.items():
            statuses[rid], phases = self._status(rid, items, pods.get(rid, []), current.get(rid))
            if phases is not None:
                steps[rid] = phases
        statuses.update(bundle_statuses(inventory, statuses, desired))
        live = {rid: tuple(items) for rid, items in grouped.items()}
        owners = {rid: labels_of(items[0]).get(labels.OWNER, "") for rid, items in grouped.items()}
        return Observation(live, statuses, steps, inventory, self.api.requests - before, owners)

    def _status(
        self,
        rid: ResourceId,
        objects: Sequence[Mapping[str, Any]],
        pods: Sequence[Mapping[str, Any]],
        want: DesiredResource | None,
    ) -> tuple[ResourceStatus, dict[str, Phase] | None]:
        if rid.type is ResourceType.WORKER:
            return worker_status(kubestate.worker_state(objects, pods)), None
        current = [k for s in want.steps for k in s.keys] if want and want.steps else None
        names = [s.name for s in want.steps] if want and want.steps else []
        state = kubestate.workflow_state(objects, steps=names, current=current, now=self.clock())
        return workflow_status(state), {s.name: s.phase for s in state.steps}

    def apply(self, obj: Mapping[str, Any]) -> None:
        namespace = (obj.get("metadata") or {}).get("namespace", "")
        try:
            self.api.apply(obj)
        except NotFoundError as err:
            if not namespace or f'namespaces "{namespace}" not found' not in str(err):
                raise
            self.api.ensure_namespace(namespace, {labels.MANAGED_BY: labels.MANAGER})
            self.api.apply(obj)

    def delete(self, live: Mapping[str, Any]) -> None:
        uid = (live.get("metadata") or {}).get("uid")
        self.api.delete(key_of(live), uid=str(uid) if uid else None)

    def save_inventory(self, inventory: Inventory, *, previous: Inventory) -> int:
        shards = inventories.to_shards(inventory)
        writes = 0
        for shard in sorted(inventories.changed_shards(previous, inventory)):
            name = f"gitops-agent-inventory-{self.owner}-{shard}"
            key = ObjectKey("v1", "ConfigMap", self.inventory_namespace, name)
            if shard in shards:
                self.apply(self._inventory_object(name, shards[shard]))
            else:
                self.api.delete(key)
            writes += 1
        return writes

    def _inventory_object(self, name: str, data: Mapping[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": self.inventory_namespace,
                "labels": {
                    labels.MANAGED_BY: labels.MANAGER,
                    labels.OWNER: self.owner,
                    INVENTORY: "true",
                },
            },
            "data": dict(data),
        }

    def logs(
        self, rid: ResourceId, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        selector = ",".join(
            [
                labels.owner_selector(self.owner),
                f"{labels.RESOURCE_TYPE}={rid.type}",
                f"{labels.RESOURCE_NAME}={rid.name}",
            ]
        )
        pods = sorted(
            (
                p
                for p in self.api.list("Pod", selector=selector)
                if labels_of(p).get(labels.WORKSPACE) == rid.workspace
            ),
            key=lambda p: str((p.get("metadata") or {}).get("name")),
        )
        if not pods:
            raise NotFoundError(f"no pods found for {rid}", object_ref=str(rid))
        if follow and len(pods) > 1:
            yield from _merged([self._pod_lines(p, follow, tail) for p in pods])
            return
        for pod in pods:
            yield from self._pod_lines(pod, follow, tail)

    def _pod_lines(
        self, pod: Mapping[str, Any], follow: bool, tail: int | None
    ) -> Iterator[LogLine]:
        metadata = pod.get("metadata") or {}
        name, namespace = str(metadata.get("name")), str(metadata.get("namespace"))
        for line in self.api.pod_log(namespace, name, follow=follow, tail=tail):
            yield LogLine(name, line)


def _desired(
    item: Rendered, resource: Resource, depends: tuple[Dependency, ...], bundle: ResourceId | None
) -> DesiredResource:
    """The planner's view of one rendered resource; its primary objects carry the manifest."""
    primary = _primary_keys(item)
    ordered = sorted(item.objects, key=lambda o: (o.key.rank, o.key.name))
    objects = tuple(
        with_manifest(o.body, resource.manifest) if o.key in primary else o.body for o in ordered
    )
    steps: tuple[DesiredStep, ...] = ()
    if isinstance(item, RenderedWorkflow) and not item.scheduled:
        steps = tuple(
            DesiredStep(s.name, s.depends, tuple(o.key for o in s.objects)) for s in item.steps
        )
    return DesiredResource(item.id, objects, depends, resource.origin.path, bundle, steps)


def _primary_keys(item: Rendered) -> set[ObjectKey]:
    if isinstance(item, RenderedWorker):
        return {item.workload}
    if isinstance(item, RenderedWorkflow):
        return {step.job for step in item.steps}
    return set()


def _read_inventory(configmaps: Sequence[Mapping[str, Any]]) -> Inventory:
    shards: dict[int, Mapping[str, str]] = {}
    for cm in configmaps:
        name = str((cm.get("metadata") or {}).get("name", ""))
        suffix = name.rpartition("-")[2]
        if suffix.isdigit():
            shards[int(suffix)] = cm.get("data") or {}
    return inventories.from_shards(shards)


def _merged(streams: Sequence[Iterator[LogLine]]) -> Iterator[LogLine]:
    """Lines of several followed streams as they arrive."""
    lines: queue.Queue[LogLine | None] = queue.Queue(maxsize=1000)

    def pump(stream: Iterator[LogLine]) -> None:
        try:
            for line in stream:
                lines.put(line)
        finally:
            lines.put(None)

    for stream in streams:
        threading.Thread(target=pump, args=(stream,), daemon=True).start()
    open_streams = len(streams)
    while open_streams:
        item = lines.get()
        if item is None:
            open_streams -= 1
        else:
            yield item
