"""Pods: a runtime (stack, resources, compute, projections, volumes) -> a pod template.

Called by ``workers`` and ``workflows`` for every Worker and Workflow step. Returns the pod
spec and the ConfigMaps its volumes read (projected files, the stack's configuration file);
the caller names and stamps those objects and puts ``config_hash`` on the pod template so
that changed configuration rolls the pods.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitops_agent.core import labels, quantities
from gitops_agent.core.manifests import ComputeResources, Resources, Runtime
from gitops_agent.core.rendering import context, metadata, names, output, projections, volumes
from gitops_agent.core.rendering.objects import RenderError, RenderSettings
from gitops_agent.core.rendering.volumes import ConfigData, Parts
from gitops_agent.core.stacks import CONFIG_FILE_KEY, Stack


@dataclass(frozen=True, slots=True)
class PodRequest:
    """What to render: ``base`` names the ConfigMaps; ``disk`` is the Worker's disk, if any."""

    runtime: Runtime
    values: Mapping[str, str]
    base: str
    disk: Parts = field(default_factory=Parts)
    restart_policy: str | None = None


@dataclass(frozen=True, slots=True)
class Pod:
    """A rendered pod spec and the ConfigMaps it mounts."""

    spec: Mapping[str, Any]
    config_maps: tuple[ConfigData, ...]

    @property
    def config_hash(self) -> str | None:
        if not self.config_maps:
            return None
        return metadata.digest([[c.name, c.data] for c in self.config_maps])

    def template(self, pod_labels: Mapping[str, str]) -> dict[str, Any]:
        """The pod template of a workload: labels, the config hash, the spec."""
        meta: dict[str, Any] = {"labels": dict(pod_labels)}
        if self.config_hash is not None:
            meta["annotations"] = {labels.CONFIG_HASH: self.config_hash}
        return {"metadata": meta, "spec": copy_data(self.spec)}


def render_pod(request: PodRequest, settings: RenderSettings) -> Pod:
    """The pod of one runtime under ``settings``."""
    runtime = request.runtime
    stack = settings.stacks.get(runtime.stack)
    if stack is None:
        raise RenderError(f"unknown stack {runtime.stack!r}")
    container, parts = _stack_container(runtime, stack, request)
    projection = runtime.use.projection
    parts += projections.files(projection, request.values, request.base)
    parts += volumes.claims(runtime.use.volumes) + request.disk
    env = projections.env(projection, request.values)
    if env:
        container["env"] = env
    resources = _resources(runtime.resources)
    if resources:
        container["resources"] = resources
    if parts.mounts:
        container["volumeMounts"] = [dict(m) for m in parts.mounts]
    spec = _scheduling(runtime.compute, settings) | {
        "containers": [container],
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
    }
    if parts.volumes:
        spec["volumes"] = [copy_data(v) for v in parts.volumes]
    if request.restart_policy is not None:
        spec["restartPolicy"] = request.restart_policy
    return Pod(spec, parts.config_maps)


def _stack_container(
    runtime: Runtime, stack: Stack, request: PodRequest
) -> tuple[dict[str, Any], Parts]:
    """The container a stack runs, and the stack's configuration file if it has one."""
    spec = runtime.stack_spec
    if stack.image_from_spec:
        command = [str(item) for item in spec.get("command", ())]
        arguments = [str(item) for item in spec.get("arguments", ())]
        return _container(str(spec["image"]), command, arguments), Parts()
    if stack.image is None:
        raise RenderError(f"stack {stack.name!r} has no image")
    values = dict(request.values)
    parts = Parts()
    if stack.config_file is not None:
        values[CONFIG_FILE_KEY] = stack.config_file
        content = output.dump_yaml(dict(spec))
        parts = volumes.config_file(request.base, stack.config_file, content)
    command = [context.substitute(item, values) for item in stack.command]
    arguments = [context.substitute(item, values) for item in stack.arguments]
    return _container(stack.image, command, arguments), parts


def _container(image: str, command: list[str], arguments: list[str]) -> dict[str, Any]:
    container: dict[str, Any] = {"name": names.CONTAINER, "image": image}
    if command:
        container["command"] = [projections.escape(item) for item in command]
    if arguments:
        container["args"] = [projections.escape(item) for item in arguments]
    return container


def _quantities(side: ComputeResources) -> dict[str, str]:
    found = {"cpu": side.cpu, "memory": side.memory}
    return {name: quantities.canonical(value) for name, value in found.items() if value}


def _resources(resources: Resources) -> dict[str, dict[str, str]]:
    sides = {"requests": resources.requests, "limits": resources.limits}
    found = {name: _quantities(side) for name, side in sides.items()}
    return {name: side for name, side in found.items() if side}


def _scheduling(name: str, settings: RenderSettings) -> dict[str, Any]:
    """``nodeSelector``, ``tolerations`` and ``affinity`` of a compute."""
    compute = settings.compute(name)
    spec: dict[str, Any] = {}
    if compute.node_selector:
        spec["nodeSelector"] = dict(compute.node_selector)
    if compute.tolerations:
        spec["tolerations"] = [copy_data(t) for t in compute.tolerations]
    if compute.affinity:
        spec["affinity"] = copy_data(compute.affinity)
    return spec


def copy_data(data: Any) -> Any:
    """A copy of JSON data whose mappings are dicts and sequences lists (every object gets
    its own, as ``copy.deepcopy`` gives, at a fraction of its cost)."""
    if isinstance(data, Mapping):
        return {key: copy_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [copy_data(item) for item in data]
    return data
