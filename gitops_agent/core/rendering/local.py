"""Rendering for the local target: resources -> process groups (one object per group).

Called by ``targets.local``, which hands the result (``TargetObjects``, every group a primary
object) to the engine. Built on the Kubernetes rendering, so both targets read a
manifest the same way (projections, context keys, stacks, Job hashes): each pod template
becomes a ``ProcessGroup`` object holding the container's command, environment (secret
references stay references; the target resolves them when it starts a process), projected
files by absolute path, mounts (``disk``, ``volume``), the memory limit and the image (recorded,
never pulled). A Worker is a ``service`` group of N replicas; a Workflow step a ``job`` group
whose ``runId`` is the step's Job hash, so a changed step runs again. Stacks other than
``container`` do not run locally: their group says why in ``spec.unsupported``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from gitops_agent.core import expansion, labels
from gitops_agent.core.kinds import CONFIG_MAP, PROCESS_GROUP, key_of
from gitops_agent.core.manifests import Resource, ResourceId, Worker, Workflow, flatten
from gitops_agent.core.rendering import kubernetes
from gitops_agent.core.rendering.objects import (
    KubeObject,
    Rendered,
    RenderedBundle,
    RenderedWorker,
    RenderedWorkflow,
    RenderSettings,
    StepKeys,
    TargetObjects,
)

Obj = Mapping[str, Any]


def group_name(rid: ResourceId, step: str | None = None) -> str:
    """``worker.public.sleep-worker``, ``workflow.public.etl.load``: safe as a file name."""
    return f"{rid.encode()}.{step}" if step else rid.encode()


def render(
    resources: Sequence[Resource],
    settings: RenderSettings,
    *,
    revision: str = "",
    now: datetime | None = None,
) -> tuple[TargetObjects, ...]:
    """Each resource's process groups (all of them primary objects) and, for a one-off
    Workflow, its steps."""
    rendered = kubernetes.render(resources, settings, revision=revision, now=now)
    by_id = {r.id: r for r in flatten(resources)}
    return tuple(_groups(item, by_id[item.id]) for item in rendered.resources)


def _groups(item: Rendered, resource: Resource) -> TargetObjects:
    if isinstance(item, RenderedBundle):
        return TargetObjects(item.id)
    config_maps = {o.key.name: o.body for o in item.objects if o.key.kind == CONFIG_MAP.name}
    if isinstance(item, RenderedWorker):
        workload = next(o for o in item.objects if o.key == item.workload)
        group = _group(workload, config_maps, group_name(item.id), "service", resource)
        return TargetObjects(item.id, (group,), frozenset({key_of(group)}))
    assert isinstance(item, RenderedWorkflow)
    groups, steps = [], []
    for step in item.steps:
        job = next(o for o in step.objects if o.key == step.job)
        name = group_name(item.id, step.name)
        group = _group(job, config_maps, name, "schedule" if item.scheduled else "job", resource)
        groups.append(group)
        if not item.scheduled:
            steps.append(StepKeys(step.name, step.depends, (key_of(group),)))
    return TargetObjects(item.id, tuple(groups), frozenset(key_of(g) for g in groups), tuple(steps))


def _group(
    source: KubeObject, config_maps: Mapping[str, Obj], name: str, mode: str, resource: Resource
) -> dict[str, Any]:
    body = source.body
    spec = body["spec"]
    template = spec["jobTemplate"]["spec"]["template"] if mode == "schedule" else spec["template"]
    pod = template["spec"]
    container = pod["containers"][0]
    plain = {e["name"]: e["value"] for e in container.get("env") or [] if "value" in e}
    group: dict[str, Any] = {
        "mode": mode,
        "replicas": int(spec.get("replicas", 1)) if mode == "service" else 1,
        "image": container.get("image", ""),
        "command": [
            expansion.expand(str(p), plain)
            for p in [*container.get("command", []), *container.get("args", [])]
        ],
        "env": [_env(e, plain) for e in container.get("env") or []],
        "files": dict(_files(pod, container, config_maps)),
        "mounts": dict(_mounts(pod, container)),
    }
    memory = ((container.get("resources") or {}).get("limits") or {}).get("memory")
    if memory:
        group["memoryLimit"] = memory
    if mode == "job":
        group["runId"] = source.key.name.rsplit("-", 1)[-1]
    if mode == "schedule":
        group["schedule"] = {
            k: spec[k]
            for k in ("schedule", "timeZone", "concurrencyPolicy", "suspend")
            if k in spec
        }
    reason = _unsupported(resource, name)
    if reason:
        group["unsupported"] = reason
    metadata = body["metadata"]
    return {
        "apiVersion": PROCESS_GROUP.api_version,
        "kind": PROCESS_GROUP.name,
        "metadata": {
            "name": name,
            "namespace": metadata["namespace"],
            "labels": dict(metadata.get("labels") or {}),
            "annotations": {
                k: v
                for k, v in (metadata.get("annotations") or {}).items()
                if k != labels.CONTENT_HASH
            },
        },
        "spec": group,
    }


def _unsupported(resource: Resource, name: str) -> str:
    if isinstance(resource, Worker):
        runtimes = [resource.runtime]
    elif isinstance(resource, Workflow):
        runtimes = [step.runtime for step in resource.dag]
    else:
        return ""
    stacks = sorted({r.stack for r in runtimes if r.stack != "container"})
    if not stacks:
        return ""
    return f"the {', '.join(stacks)} stack does not run on the local target (only container does); use --target kubernetes"


def _env(entry: Obj, plain: Mapping[str, str]) -> dict[str, Any]:
    reference = (entry.get("valueFrom") or {}).get("secretKeyRef")
    if reference:
        return {
            "name": entry["name"],
            "secret": {"name": reference["name"], "key": reference["key"]},
        }
    return {"name": entry["name"], "value": expansion.expand(str(entry.get("value", "")), plain)}


def _files(pod: Obj, container: Obj, config_maps: Mapping[str, Obj]) -> Iterator[tuple[str, Any]]:
    """Absolute path -> content for ConfigMap files; -> {secret: {name, key}} for secret files."""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"], {})
        sources = (
            [{"configMap": volume["configMap"]}]
            if "configMap" in volume
            else (volume.get("projected") or {}).get("sources", [])
        )
        for source in sources:
            yield from _source_files(mount["mountPath"], source, config_maps)


def _source_files(
    directory: str, source: Obj, config_maps: Mapping[str, Obj]
) -> Iterator[tuple[str, Any]]:
    if "configMap" in source:
        data = (config_maps.get(source["configMap"]["name"]) or {}).get("data") or {}
        items = source["configMap"].get("items") or [{"key": k, "path": k} for k in data]
        for item in items:
            yield f"{directory.rstrip('/')}/{item['path']}", data.get(item["key"], "")
    if "secret" in source:
        for item in source["secret"].get("items") or []:
            yield (
                f"{directory.rstrip('/')}/{item['path']}",
                {"secret": {"name": source["secret"]["name"], "key": item["key"]}},
            )


def _mounts(pod: Obj, container: Obj) -> Iterator[tuple[str, str]]:
    """Mount directory -> ``disk`` (the Worker's own storage) or ``volume:<claim>``."""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"], {})
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if mount["name"] == "disk":
            yield mount["mountPath"], "disk"
        elif claim:
            yield mount["mountPath"], f"volume:{claim}"
