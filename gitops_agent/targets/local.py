"""The local target: resources as supervised processes on this machine, no cluster.

Built by the command line for ``--target local`` (the default) and used by the engine
through the ``engine.ports.Target`` protocol, like the Kubernetes target. Objects are the
process groups of ``core.rendering.local``, stored as JSON under the state directory
(``objects/<owner>/``) beside the owner's inventory; the supervisor of
``targets.localproc`` runs them. Paths a manifest mounts (projected files, ``disk``,
volumes) are remapped under the state directory, in the command and in env values, and the
process learns the new root from ``GITOPS_AGENT_FILES``. Secret references are resolved
only when a process starts, from ``GITOPS_AGENT_SECRET_<NAME>_<KEY>`` or
``<state>/secrets/<name>/<key>``; they never enter an object, a plan or a log. Observed
groups show what the supervisor runs where someone changed its spec (``targets.localview``),
so that drift checks see it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitops_agent.core import cron, kubestate, labels, quantities
from gitops_agent.core import inventory as inventories
from gitops_agent.core.drift import without_fields
from gitops_agent.core.inventory import Inventory
from gitops_agent.core.kinds import ObjectKey, key_of
from gitops_agent.core.manifests import Resource, ResourceId, ResourceType
from gitops_agent.core.rendering import local as rendering
from gitops_agent.core.rendering.objects import RenderSettings, TargetObjects
from gitops_agent.core.status import (
    UNSUPPORTED,
    Phase,
    ResourceStatus,
    Status,
    StepState,
    WorkflowState,
    worker_status,
    workflow_status,
)
from gitops_agent.core.violations import printable
from gitops_agent.engine.ports import (
    CurrentRuns,
    FieldPath,
    LogLine,
    Observation,
    Periodic,
    TargetHooks,
)
from gitops_agent.errors import ConflictError, InvalidError, NotFoundError, TargetError
from gitops_agent.targets.history import FileHistory
from gitops_agent.targets.localproc import GroupMode, LocalRuntime, ProcessGroupSpec
from gitops_agent.targets.localproc.layout import write_atomic
from gitops_agent.targets.localproc.states import step_state, worker_state
from gitops_agent.targets.localview import mapped_paths, remap, running_view

#: How often ``run`` looks for scheduled workflows whose cron fired.
SCHEDULE_CHECK_SECONDS = 15.0

Obj = Mapping[str, Any]
Clock = Callable[[], datetime]


class LocalTarget:
    """One agent owner's processes under one state directory."""

    kind = "local"

    def __init__(
        self,
        runtime: LocalRuntime,
        *,
        owner: str,
        settings: RenderSettings,
        agent_env: Mapping[str, str] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self.runtime = runtime
        self.owner = owner
        self.settings = settings
        self.agent_env = dict(agent_env or {})
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.clock = clock
        self.state: Path = Path(runtime.state_dir)

    def close(self) -> None:
        """Nothing to release: the supervisor runs on its own."""

    def _objects_dir(self, owner: str | None = None) -> Path:
        return self.state / "objects" / (owner or self.owner)

    def hooks(self) -> TargetHooks:
        """On exit of ``run --once`` and on ``stop``, stop this owner's processes; while
        ``run`` serves, start the runs of scheduled workflows when their cron fires."""
        return TargetHooks(
            history=FileHistory(self.state / "history" / f"{self.owner}.jsonl", write=write_atomic),
            release=self.release,
            periodic=(
                Periodic("scheduled workflows", SCHEDULE_CHECK_SECONDS, self._schedule_runner()),
            ),
        )

    def _schedule_runner(self) -> Callable[[], list[str]]:
        last = [self.clock()]

        def run_due() -> list[str]:
            now = self.clock()
            started = self.run_due(last[0], now)
            last[0] = now
            return [f"scheduled run started: {name}" for name in started]

        return run_due

    def render(self, resources: Sequence[Resource], *, revision: str) -> tuple[TargetObjects, ...]:
        return rendering.render(resources, self.settings, revision=revision, now=self.clock())

    def observe(self, *, runs: CurrentRuns | None = None, all_owners: bool = False) -> Observation:
        """What the owner's process groups are doing; a group is its own current run (its
        ``runId`` is the step's hash), so ``runs`` is not needed here."""
        objects = self._read_objects(all_owners)
        grouped = {rid: tuple(items) for rid, items in kubestate.group(objects).items()}
        statuses: dict[ResourceId, ResourceStatus] = {}
        steps: dict[ResourceId, dict[str, Phase]] = {}
        for rid, items in grouped.items():
            statuses[rid], phases = self._status(rid, items)
            if rid.type is ResourceType.WORKFLOW:
                steps[rid] = phases
        owners = {
            rid: labels.labels_of(items[0]).get(labels.OWNER, "") for rid, items in grouped.items()
        }
        return Observation(grouped, statuses, steps, self._read_inventory(), 0, owners)

    def _read_objects(self, all_owners: bool) -> list[dict[str, Any]]:
        roots = sorted((self.state / "objects").glob("*")) if all_owners else [self._objects_dir()]
        found = []
        for root in roots:
            for path in sorted(root.glob("*.json")):
                obj = _read_json(path)
                live = self._live(obj) if obj is not None else None
                if live is not None:
                    found.append(live)
        return found

    def _live(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """A runnable group is live while the supervisor has it (after its processes were
        stopped, by ``run --once`` on exit, the next apply starts it again), with the values
        the supervisor runs (``targets.localview``)."""
        spec = obj.get("spec") or {}
        if spec.get("unsupported") or spec.get("mode") == "schedule":
            return obj
        name = str(obj["metadata"]["name"])
        running = self.runtime.desired(name)
        if running is None:
            return None
        mapping = mapped_paths(self.state, obj, self.runtime.files_dir(name))
        agent_env = {*self.agent_env, "GITOPS_AGENT_FILES"}
        return running_view(
            obj, running, remap=lambda text: remap(text, mapping), agent_env=agent_env
        )

    def _status(
        self, rid: ResourceId, objects: Sequence[Obj]
    ) -> tuple[ResourceStatus, dict[str, Phase]]:
        unsupported = next(
            (o["spec"]["unsupported"] for o in objects if o["spec"].get("unsupported")), ""
        )
        if unsupported:
            return ResourceStatus(Status.PENDING, UNSUPPORTED, unsupported), {}
        if rid.type is ResourceType.WORKER:
            return worker_status(worker_state(self.runtime.get(objects[0]["metadata"]["name"]))), {}
        scheduled = [o for o in objects if o["spec"]["mode"] == "schedule"]
        if scheduled:
            return workflow_status(
                WorkflowState(True, scheduled=True, next_run=self._next_run(scheduled[0]))
            ), {}
        states = [self._step(o) for o in objects]
        return workflow_status(WorkflowState(True, tuple(states))), {
            s.name: s.phase for s in states
        }

    def _step(self, group: Obj) -> StepState:
        name = group["metadata"]["name"]
        step = labels.labels_of(group).get(labels.STEP, name)
        return step_state(step, self.runtime.get(name), run_id=group["spec"].get("runId"))

    def _next_run(self, group: Obj) -> str | None:
        schedule = group["spec"].get("schedule") or {}
        if schedule.get("suspend"):
            return None
        moment = cron.next_time(
            schedule.get("schedule", ""), self.clock(), timezone=schedule.get("timeZone") or "UTC"
        )
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None

    def lookup(self, keys: Sequence[ObjectKey]) -> dict[ObjectKey, Mapping[str, Any]]:
        """Process groups of the same name recorded by another owner of this state directory
        (one supervisor runs one group per name, whoever asked for it)."""
        found: dict[ObjectKey, Mapping[str, Any]] = {}
        others = [d for d in sorted((self.state / "objects").glob("*")) if d.name != self.owner]
        for key in keys:
            for directory in others:
                obj = _read_json(directory / f"{key.name}.json")
                if obj is not None and key_of(obj) == key:
                    found[key] = obj
                    break
        return found

    def apply(self, obj: Mapping[str, Any], *, create: bool = False) -> Mapping[str, Any]:
        key = key_of(obj)
        if create:
            taken = self.lookup([key]).get(key)
            if taken is not None:
                owner = labels.labels_of(taken).get(labels.OWNER, "another owner")
                raise ConflictError(
                    f"a process group of this name belongs to agent owner {owner!r}",
                    object_ref=str(key),
                )
        spec = obj["spec"]
        if not spec.get("unsupported") and spec["mode"] in ("service", "job"):
            self.runtime.apply(self._process_spec(obj))
        return self._write_object(key.name, obj)

    def _write_object(self, name: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Store the object, with the uid it was first stored with (a new one when new)."""
        directory = self._objects_dir()
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / f"{name}.json"
        before = _read_json(path) or {}
        stored = {**obj, "metadata": {**obj["metadata"]}}
        stored["metadata"]["uid"] = labels.uid_of(before) or uuid.uuid4().hex
        temporary = directory / f".{name}.json.tmp"
        temporary.write_text(json.dumps(stored, indent=1, sort_keys=True))
        temporary.replace(path)
        return stored

    def _process_spec(self, obj: Obj, *, run_id: str | None = None) -> ProcessGroupSpec:
        name, spec = obj["metadata"]["name"], obj["spec"]
        files_dir = self.runtime.files_dir(name)
        mapping = self._mapping(obj, files_dir)
        env = {e["name"]: remap(self._env_value(name, e), mapping) for e in spec.get("env", [])}
        env.update(self.agent_env, GITOPS_AGENT_FILES=str(files_dir))
        files = {
            path.lstrip("/"): self._file_content(name, content)
            for path, content in spec.get("files", {}).items()
        }
        memory = spec.get("memoryLimit")
        return ProcessGroupSpec(
            name,
            tuple(remap(part, mapping) for part in spec["command"]),
            mode=GroupMode.SERVICE if spec["mode"] == "service" else GroupMode.JOB,
            env=env,
            files=files,
            replicas=int(spec.get("replicas", 1)),
            memory_limit_bytes=int(quantities.value(memory)) if memory else None,
            metadata={"owner": self.owner, "image": spec.get("image", "")},
            run_id=run_id or spec.get("runId", ""),
        )

    def _mapping(self, obj: Obj, files_dir: Path) -> list[tuple[str, str]]:
        """Manifest directory -> local directory, longest first; mounted ones created."""
        found = mapped_paths(self.state, obj, files_dir)
        for directory, local in found:
            if directory in (obj["spec"].get("mounts") or {}):
                Path(local).mkdir(parents=True, exist_ok=True, mode=0o700)
        return found

    def _env_value(self, group: str, entry: Obj) -> str:
        if "secret" in entry:
            return self._secret(group, entry["secret"])
        return str(entry.get("value", ""))

    def _file_content(self, group: str, content: Any) -> str:
        return self._secret(group, content["secret"]) if isinstance(content, dict) else str(content)

    def _secret(self, group: str, reference: Obj) -> str:
        name, key = str(reference["name"]), str(reference["key"])
        variable = "GITOPS_AGENT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", f"{name}_{key}").upper()
        value = self.environ.get(variable)
        if value is not None:
            return str(value)
        path = self.state / "secrets" / name / key
        if path.is_file():
            return path.read_text()
        raise TargetError(
            f"secret {name!r} key {key!r} is not available on the local target: set {variable} or write {path}",
            object_ref=f"process-group/{group}",
        )

    def remove_fields(
        self, live: Mapping[str, Any], fields: Sequence[tuple[FieldPath, Any]]
    ) -> Mapping[str, Any]:
        """Process groups have no field managers, so no one else adds fields to them: what
        a heal would remove is refused unless the stored group still holds it as seen."""
        key = key_of(live)
        kept = without_fields(self._read_stored(key.name) or {}, fields)
        if kept is None:
            raise InvalidError("changed since it was read", object_ref=str(key), status=422)
        return self._write_object(key.name, kept)

    def _read_stored(self, name: str) -> dict[str, Any] | None:
        return _read_json(self._objects_dir() / f"{name}.json")

    def delete(self, live: Mapping[str, Any]) -> None:
        name, namespace = live["metadata"]["name"], live["metadata"].get("namespace", "")
        self.runtime.remove(name)
        (self._objects_dir() / f"{name}.json").unlink(missing_ok=True)
        if "disk" in live.get("spec", {}).get("mounts", {}).values():
            shutil.rmtree(self.state / "disks" / namespace / name, ignore_errors=True)

    def _inventory_path(self) -> Path:
        return self.state / "inventory" / f"{self.owner}.json"

    def _read_inventory(self) -> Inventory:
        try:
            shards = json.loads(self._inventory_path().read_text())
        except (OSError, ValueError):
            return Inventory()
        return inventories.from_shards({int(k): v for k, v in shards.items()})

    def save_inventory(self, inventory: Inventory, *, previous: Inventory) -> int:
        if not inventories.changed_shards(previous, inventory):
            return 0
        path = self._inventory_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(inventories.to_shards(inventory), indent=1, sort_keys=True))
        temporary.replace(path)
        return 1

    def logs(
        self, rid: ResourceId, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        groups = [o for o in self._read_objects(False) if kubestate.resource_of(o) == rid]
        if not groups:
            raise NotFoundError(f"no processes found for {rid}", object_ref=str(rid))
        for group in sorted(groups, key=key_of):
            name = group["metadata"]["name"]
            if self.runtime.get(name) is None:
                continue
            for line in self.runtime.logs(name, tail=tail, follow=follow):
                yield LogLine(f"{name}/{line.replica}", line.text)

    def stop_owned(self, *, timeout: float = 30.0) -> int:
        """Stop this owner's processes (their objects stay recorded, so the next apply starts
        them again) and the supervisor when nothing else runs; returns the groups stopped."""
        names = [
            str(o["metadata"]["name"])
            for o in self._read_objects(False)
            if self.runtime.desired(str(o["metadata"]["name"])) is not None
        ]
        for name in names:
            self.runtime.remove(name)
        for name in names:
            self.runtime.wait(name, lambda status: status is None, timeout=timeout)
        if not self.runtime.list():
            self.runtime.stop_daemon(stop_processes=False)
        return len(names)

    def release(self) -> str:
        """Stop this owner's processes, and the supervisor when nothing else runs under it;
        says what was stopped (``3 process group(s) and the local supervisor (pid 42)``)."""
        before = self.runtime.daemon_pid()
        stopped = f"{self.stop_owned()} process group(s)"
        after = self.runtime.daemon_pid()
        if after is not None:
            owners = sorted(
                {printable(s.metadata.get("owner") or "?") for s in self.runtime.list()}
            )
            names = ", ".join(owners[:5]) + (", ..." if len(owners) > 5 else "")
            return f"{stopped}; the local supervisor (pid {after}) keeps running for {names}"
        return f"{stopped} and the local supervisor (pid {before})" if before else stopped

    def run_due(self, since: datetime, until: datetime) -> list[str]:
        """Start a run of each scheduled workflow whose cron fired in ``(since, until]``."""
        started = []
        for group in self._read_objects(False):
            schedule = group["spec"].get("schedule")
            if not schedule or schedule.get("suspend") or group["spec"].get("unsupported"):
                continue
            fired = cron.next_time(
                schedule["schedule"], since, timezone=schedule.get("timeZone") or "UTC"
            )
            if fired is not None and fired <= until:
                run_id = fired.strftime("%Y%m%dT%H%M")
                self.runtime.apply(self._process_spec(group, run_id=run_id))
                started.append(f"{group['metadata']['name']}@{run_id}")
        return started


def supervisor_started(pid: int) -> str:
    """What the command line says when it started the supervisor."""
    return f"started the local supervisor (pid {pid}); gitops-agent stop stops it"


def _read_json(path: Path) -> dict[str, Any] | None:
    """A stored object; None when it is missing or unreadable."""
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None
