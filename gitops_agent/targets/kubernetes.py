"""The Kubernetes target: render, observe, apply, delete, inventory and logs on a cluster.

Built by the command line (``--target kubernetes``) and used by the engine through the
``engine.ports.Target`` protocol. Observing costs one LIST per managed kind plus one for
pods, all selected by the owner label; applying is server-side apply under the agent's field
manager; deleting names the observed object's uid, so only what this owner listed is ever
deleted; a drift heal removes fields others added with one JSON patch that tests the uid
and each value first. The inventory lives in ConfigMaps (``gitops-agent-inventory-<owner>-<shard>``)
in the inventory namespace; only changed shards are written. An agent confined to some
namespaces (``target.scope: namespaced``, Roles instead of a ClusterRole) lists each of
them instead of all at once.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core import inventory as inventories
from gitops_agent.core import kinds, kubestate, labels
from gitops_agent.core.drift import pointer_of
from gitops_agent.core.inventory import Inventory
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import Resource, ResourceId, ResourceType
from gitops_agent.core.rendering import kubernetes as rendering
from gitops_agent.core.rendering.objects import RenderSettings, StepKeys, TargetObjects
from gitops_agent.core.status import Phase, ResourceStatus, worker_status, workflow_status
from gitops_agent.engine.ports import CurrentRuns, FieldPath, LogLine, Observation, TargetHooks
from gitops_agent.errors import ConflictError, NotFoundError
from gitops_agent.targets.history import ConfigMapHistory
from gitops_agent.targets.kubeapi import KubeApi
from gitops_agent.targets.watchcache import WatchCache, version_of

Clock = Callable[[], datetime]
#: Up to this many keys of one kind in one namespace are looked up one GET each; more, one LIST.
LOOKUP_GETS = 8
#: How long an observation waits for the watch to bring this target's own writes.
CATCH_UP = 2.0

log = logging.getLogger("gitops_agent.kubernetes")


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
        namespaces: tuple[str, ...] | None = None,
        cache: WatchCache | None = None,
    ) -> None:
        self.api = api
        self.cache = cache
        self.written: dict[str, int] = {}  # kind -> newest resourceVersion this target wrote
        self.gone: set[ObjectKey] = set()  # what this target deleted
        self.owner = owner
        self.settings = settings
        self.inventory_namespace = inventory_namespace
        self.clock = clock
        self.namespaces = namespaces
        self._read = Inventory()  # the inventory the last observe read
        self._seen: dict[tuple[str, str], dict[str, Any]] = {}  # its objects by uid, version

    def _list(
        self, kind: kinds.Kind, selector: str, keep: Callable[[dict[str, Any]], Any] | None = None
    ) -> list[Any]:
        """Objects of a kind matching a selector (or what ``keep`` keeps of each): one LIST
        across namespaces, or one per namespace for an agent confined to some
        (``target.scope: namespaced``)."""
        if self.namespaces is None:
            return self.api.list(kind, selector=selector, keep=keep)
        return [
            obj
            for namespace in self.namespaces
            for obj in self.api.list(kind, selector=selector, namespace=namespace, keep=keep)
        ]

    def close(self) -> None:
        self.api.close()

    def hooks(self) -> TargetHooks:
        store = ConfigMapHistory(self.api, owner=self.owner, namespace=self.inventory_namespace)
        return TargetHooks(drop_namespaces=self._drop_namespaces, history=store, together=together)

    def _drop_namespaces(self) -> tuple[str, ...]:
        """Delete the namespaces created for this owner (labelled with it when created)."""
        found = self.api.list(kinds.NAMESPACE, selector=labels.owner_selector(self.owner))
        names = []
        for namespace in found:
            self.delete(namespace)
            names.append(str((namespace.get("metadata") or {}).get("name")))
        return tuple(sorted(names))

    def render(self, resources: Sequence[Resource], *, revision: str) -> tuple[TargetObjects, ...]:
        rendered = rendering.render(resources, self.settings, revision=revision, now=self.clock())
        return rendering.target_objects(rendered)

    def observe(self, *, runs: CurrentRuns | None = None, all_owners: bool = False) -> Observation:
        before = self.api.requests
        selector = labels.managed_selector() if all_owners else labels.owner_selector(self.owner)
        cached = None if all_owners or self.namespaces is not None else self._cached()
        pods = kubestate.PodFailures()  # of pods only the failing ones are kept
        if cached is not None:
            objects = [obj for kind in kinds.MANAGED for obj in cached(kind)]
            for pod in cached(kinds.POD):
                pods.keep(pod)
        else:
            objects = self._listed(selector, pods)
        stored = [
            o
            for o in objects
            if labels.is_inventory(o) and labels.labels_of(o).get(labels.OWNER) == self.owner
        ]
        grouped = kubestate.group(o for o in objects if not labels.is_inventory(o))
        inventory = self._read = _read_inventory(stored, self._read)
        current = runs or {}
        statuses: dict[ResourceId, ResourceStatus] = {}
        steps: dict[ResourceId, dict[str, Phase]] = {}
        for rid, items in grouped.items():
            statuses[rid], phases = self._status(rid, items, pods.of(rid), current.get(rid))
            if phases is not None:
                steps[rid] = phases
        live = {rid: tuple(items) for rid, items in grouped.items()}
        owners = {
            rid: labels.labels_of(items[0]).get(labels.OWNER, "") for rid, items in grouped.items()
        }
        return Observation(live, statuses, steps, inventory, self.api.requests - before, owners)

    def _listed(self, selector: str, pods: kubestate.PodFailures) -> list[dict[str, Any]]:
        """The owner's objects by LIST, pods first (only their failures are kept: their
        pages come and go before the objects kept whole arrive), each object compacted as
        its page arrives (``_SharedFields``)."""
        self._list(kinds.POD, selector, keep=pods.keep)
        shared = _SharedFields(self._seen)
        objects = [obj for kind in kinds.MANAGED for obj in self._list(kind, selector, shared.keep)]
        self._seen = shared.kept
        return objects

    def _status(
        self,
        rid: ResourceId,
        objects: Sequence[Mapping[str, Any]],
        pods: Sequence[Mapping[str, Any]],
        run: Sequence[StepKeys] | None,
    ) -> tuple[ResourceStatus, dict[str, Phase] | None]:
        if rid.type is ResourceType.WORKER:
            return worker_status(kubestate.worker_state(objects, pods)), None
        current = [k for s in run for k in s.keys] if run else None
        names = [s.name for s in run] if run else []
        state = kubestate.workflow_state(objects, steps=names, current=current, now=self.clock())
        return workflow_status(state), {s.name: s.phase for s in state.steps}

    def _cached(self) -> Callable[[kinds.Kind], list[dict[str, Any]]] | None:
        """The watch cache's reader, when it is ready and has seen this target's writes
        (waiting briefly for their events); None: read by LIST."""
        cache = self.cache
        if cache is None or not cache.ready():
            return None
        for name, version in self.written.items():
            if not cache.caught_up(kinds.kind_named(name), version, timeout=CATCH_UP):
                log.debug("watch of %s behind this target's write %d: listing", name, version)
                return None
        if self.gone and not cache.forgot(self.gone, timeout=CATCH_UP):
            log.debug("watch behind this target's deletes: listing")
            return None
        return cache.objects

    def lookup(self, keys: Sequence[ObjectKey]) -> dict[ObjectKey, Mapping[str, Any]]:
        """One GET per key, or one LIST of a kind in a namespace when many keys share it."""
        groups: dict[tuple[str, str], list[ObjectKey]] = {}
        for key in keys:
            groups.setdefault((key.kind, key.namespace), []).append(key)
        found: dict[ObjectKey, Mapping[str, Any]] = {}
        for (kind, namespace), members in sorted(groups.items()):
            if len(members) > LOOKUP_GETS:
                wanted = set(members)
                listed = self.api.list(kinds.kind_named(kind), namespace=namespace)
                found.update((key_of(o), o) for o in listed if key_of(o) in wanted)
                continue
            for key in members:
                obj = self.api.get(key)
                if obj is not None:
                    found[key] = obj
        return found

    def apply(self, obj: Mapping[str, Any], *, create: bool = False) -> Mapping[str, Any]:
        key = key_of(obj)
        if create:
            existing = self.api.get(key)
            if existing is not None:
                managers = ", ".join(labels.managers_of(existing)) or "no field manager recorded"
                raise ConflictError(
                    f"exists and was not created by this agent (managed by {managers})",
                    object_ref=str(key),
                )
        try:
            written = self.api.apply(obj)
        except NotFoundError as err:
            if not key.namespace or f'namespaces "{key.namespace}" not found' not in str(err):
                raise
            made_by = {labels.MANAGED_BY: labels.MANAGER, labels.OWNER: self.owner}
            self.api.ensure_namespace(key.namespace, made_by)
            written = self.api.apply(obj)
        self._wrote(key.kind, written)
        return written

    def _wrote(self, kind: str, written: Mapping[str, Any]) -> None:
        """Remember the newest version this target wrote of a kind (for the watch cache)."""
        version = version_of(written)
        if version is not None and self.cache is not None:
            self.written[kind] = max(self.written.get(kind, 0), version)

    def remove_fields(
        self, live: Mapping[str, Any], fields: Sequence[tuple[FieldPath, Any]]
    ) -> Mapping[str, Any]:
        """One JSON patch: the object's uid and each field's value tested, then removed."""
        operations: list[dict[str, Any]] = [
            {"op": "test", "path": "/metadata/uid", "value": labels.uid_of(live)}
        ]
        for path, value in fields:
            pointer = pointer_of(path)
            operations += [
                {"op": "test", "path": pointer, "value": value},
                {"op": "remove", "path": pointer},
            ]
        return self.api.patch_json(key_of(live), operations)

    def delete(self, live: Mapping[str, Any]) -> None:
        uid = (live.get("metadata") or {}).get("uid")
        self.api.delete(key_of(live), uid=str(uid) if uid else None)
        if self.cache is not None:
            self.gone.add(key_of(live))

    def save_inventory(self, inventory: Inventory, *, previous: Inventory) -> int:
        shards = inventories.to_shards(inventory)
        writes = 0
        for shard in sorted(inventories.changed_shards(previous, inventory)):
            name = f"gitops-agent-inventory-{self.owner}-{shard}"
            key = ObjectKey(
                kinds.CONFIG_MAP.api_version, kinds.CONFIG_MAP.name, self.inventory_namespace, name
            )
            if shard in shards:
                self.apply(self._inventory_object(name, shards[shard]))
            else:
                self.api.delete(key)
            writes += 1
        return writes

    def _inventory_object(self, name: str, data: Mapping[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": kinds.CONFIG_MAP.api_version,
            "kind": kinds.CONFIG_MAP.name,
            "metadata": {
                "name": name,
                "namespace": self.inventory_namespace,
                "labels": {
                    labels.MANAGED_BY: labels.MANAGER,
                    labels.OWNER: self.owner,
                    labels.INVENTORY: "true",
                },
            },
            "data": dict(data),
        }

    def logs(
        self, rid: ResourceId, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        selector = labels.resource_selector(self.owner, rid.type.value, rid.name)
        pods = sorted(
            (
                p
                for p in self._list(kinds.POD, selector)
                if labels.labels_of(p).get(labels.WORKSPACE) == rid.workspace
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


class _SharedFields:
    """One observation's objects sharing their identical ``managedFields`` entries: an
    entry of one manager is alike (but for its time) on thousands of objects a renderer
    made, and is most of an object's size. Short texts are shared too. Entries are
    read-only data; sharing changes no value. An object the previous observation kept, at
    the same uid and resourceVersion, is that kept object again (``seen``)."""

    def __init__(self, seen: Mapping[tuple[str, str], dict[str, Any]]) -> None:
        self.seen = seen
        self.kept: dict[tuple[str, str], dict[str, Any]] = {}
        self.trees: dict[str, Any] = {}
        self.last: dict[tuple[Any, ...], Any] = {}
        self.entries: dict[tuple[Any, ...], Any] = {}

    def keep(self, obj: dict[str, Any]) -> dict[str, Any]:
        metadata = obj.get("metadata")
        version = _version(metadata)
        if version is not None:
            earlier = self.seen.get(version)
            if earlier is not None:
                self.kept[version] = earlier
                return earlier
            self.kept[version] = obj
        if isinstance(metadata, dict) and isinstance(metadata.get("managedFields"), list):
            metadata["managedFields"] = [self._entry(e) for e in metadata["managedFields"]]
        if isinstance(obj.get("status"), dict):
            obj["status"] = kubestate.status_summary(str(obj.get("kind")), obj["status"])
        for part in ("spec", "status"):
            if isinstance(obj.get(part), dict):
                _share_texts(obj[part])
        if isinstance(metadata, dict) and isinstance(metadata.get("labels"), dict):
            _share_texts(metadata["labels"])
        return obj

    def _entry(self, entry: Any) -> Any:
        if not isinstance(entry, dict) or not isinstance(entry.get("fieldsV1"), dict):
            return entry
        head = tuple(entry.get(name) for name in _ENTRY_FIELDS)
        if len(entry) != len(_ENTRY_FIELDS) + 1 - head.count(None):
            return entry  # a field this sharing does not know of: kept as it came
        tree = self._tree(head, entry["fieldsV1"])
        key = (*head, id(tree))
        return self.entries.setdefault(key, {**entry, "fieldsV1": tree})

    def _tree(self, head: tuple[Any, ...], tree: dict[str, Any]) -> Any:
        """The shared copy of ``tree``: most often the one the previous object's entry of
        the same manager had (compared as data), else found by its JSON text."""
        kind = head[:3]
        last = self.last.get(kind)
        if last is not None and last == tree:
            return last
        shared = self.trees.setdefault(json.dumps(tree, separators=(",", ":")), tree)
        self.last[kind] = shared
        return shared


def _version(metadata: Any) -> tuple[str, str] | None:
    """An object's uid and resourceVersion, when it has both."""
    if not isinstance(metadata, dict):
        return None
    uid, version = metadata.get("uid"), metadata.get("resourceVersion")
    if isinstance(uid, str) and isinstance(version, str) and uid and version:
        return uid, version
    return None


#: The fields of a managedFields entry besides ``fieldsV1`` (manager, operation and API
#: version first: what makes entries alike).
_ENTRY_FIELDS = ("manager", "operation", "apiVersion", "subresource", "time", "fieldsType")


def _share_texts(node: dict[str, Any] | list[Any]) -> None:
    """Short texts of ``node`` replaced by the one shared copy of each (``sys.intern``):
    the defaults a server fills in repeat on every object."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if type(value) is str:
            if len(value) <= 40:
                node[key] = sys.intern(value)  # type: ignore[index]
        elif type(value) is dict or type(value) is list:
            _share_texts(value)


def _read_inventory(configmaps: Sequence[Mapping[str, Any]], previous: Inventory) -> Inventory:
    shards: dict[int, Mapping[str, str]] = {}
    for cm in configmaps:
        name = str((cm.get("metadata") or {}).get("name", ""))
        suffix = name.rpartition("-")[2]
        if suffix.isdigit():
            shards[int(suffix)] = cm.get("data") or {}
    return inventories.from_shards(shards, previous=previous)


def together(calls: Sequence[Callable[[], None]], width: int) -> None:
    """Run ``calls`` on up to ``width`` threads; return when all are done (the first error
    raised is raised here)."""
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="apply") as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


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
