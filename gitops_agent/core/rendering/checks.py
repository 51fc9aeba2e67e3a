"""Validation rules that rendering relies on, as Findings for ``core.validation``.

Called by ``core.validation.resource_findings`` for every Worker and Workflow, so that what
cannot be rendered is a violation at ``validate`` time: unknown ``${{key}}`` placeholders,
secret ids, keys and storage classes Kubernetes cannot name, stacks without an image,
images with spaces or line breaks, mount paths that are not normalized absolute paths (or
that sit on a stack's configuration directory), derived object names that are too long,
and schedules a CronJob cannot express.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from datetime import datetime

from gitops_agent.core import projections
from gitops_agent.core.manifests import (
    Projection,
    Resource,
    ResourceType,
    Runtime,
    Worker,
    Workflow,
)
from gitops_agent.core.rendering import context, names
from gitops_agent.core.stacks import CONFIG_FILE_KEY, StackRegistry
from gitops_agent.core.violations import Finding, quoted
from gitops_agent.core.yamldoc import JsonPath

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SECRET_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_TEMPLATES: JsonPath = ("use", "projection", "projections")


def findings(resource: Resource, stacks: StackRegistry) -> Iterator[Finding]:
    """The rendering findings of one Worker or Workflow (none for a Bundle)."""
    if isinstance(resource, Worker):
        disk = None if resource.disk is None else resource.disk.directory
        yield from _runtime(resource.runtime, ("spec",), ResourceType.WORKER, stacks, disk=disk)
        yield from _worker(resource)
    elif isinstance(resource, Workflow):
        for index, step in enumerate(resource.dag):
            at: JsonPath = ("spec", "dag", index, "spec")
            yield from _runtime(step.runtime, at, ResourceType.WORKFLOW, stacks)
        yield from _workflow(resource)


def _runtime(
    runtime: Runtime,
    at: JsonPath,
    kind: ResourceType,
    stacks: StackRegistry,
    *,
    disk: str | None = None,
) -> Iterator[Finding]:
    yield from _placeholders(runtime, at, kind)
    yield from _secrets(runtime, at)
    yield from _stack(runtime, at, kind, stacks)
    yield from _mounts(runtime, at, stacks, disk=disk)


def _templates(projection: Projection, *, split_env_template: bool) -> list[tuple[JsonPath, str]]:
    """Every template of a projection with its path under ``projections``.

    ``split_env_template`` yields each value of ``envVarsTemplate`` on its own (a secret
    reference is one value); otherwise its whole text (placeholders may be anywhere).
    """
    found: list[tuple[JsonPath, str]] = []
    if projection.env_vars_template is not None:
        if split_env_template:
            values, _ = projections.env_template_vars(projection.env_vars_template)
            found += [(("envVarsTemplate",), value) for value in values.values()]
        else:
            found.append((("envVarsTemplate",), projection.env_vars_template))
    found += [(("envVars", i, "template"), e.template) for i, e in enumerate(projection.env_vars)]
    found += [(("files", i, "template"), f.template) for i, f in enumerate(projection.files)]
    return found


def _placeholders(runtime: Runtime, at: JsonPath, kind: ResourceType) -> Iterator[Finding]:
    projection = runtime.use.projection
    if projection is None:
        return
    known = context.keys_for(kind)
    for where, text in _templates(projection, split_env_template=False):
        for placeholder in dict.fromkeys(context.unknown(text, known)):
            message = (
                f"unknown placeholder {placeholder} in a {kind.value} "
                f"(known: {', '.join('${{' + key + '}}' for key in known)})"
            )
            yield Finding((*at, *_TEMPLATES, *where), message, "placeholder")


def _secrets(runtime: Runtime, at: JsonPath) -> Iterator[Finding]:
    projection = runtime.use.projection
    if projection is None:
        return
    for index, secret in enumerate(projection.secrets):
        tenant, colon, name = secret.id.rpartition(":")
        if (
            ":" in tenant
            or (colon and not tenant)
            or len(name) > 253
            or not _SUBDOMAIN.fullmatch(name)
        ):
            message = (
                f"secret id {secret.id!r} must be 'tenant:name' or 'name', where name is a "
                "Kubernetes Secret name (lowercase letters, digits, '-' and '.')"
            )
            yield Finding((*at, "use", "projection", "secrets", index, "id"), message, "secret")
    for where, template in _templates(projection, split_env_template=True):
        reference = projections.secret_reference(template)
        if reference is not None and not _SECRET_KEY.fullmatch(reference.key):
            message = (
                f"secret key {reference.key!r} may hold only letters, digits, '-', '_' and '.'"
            )
            yield Finding((*at, *_TEMPLATES, *where), message, "secret")


def _stack(
    runtime: Runtime, at: JsonPath, kind: ResourceType, stacks: StackRegistry
) -> Iterator[Finding]:
    stack = stacks.get(runtime.stack)
    if stack is not None and stack.image_from_spec:
        image = runtime.stack_spec.get("image")
        if isinstance(image, str) and (image != image.strip() or not image.isprintable()):
            message = (
                f"image {quoted(image)} has surrounding spaces, line breaks or control "
                "characters; write the image reference alone, such as alpine:3.20"
            )
            yield Finding((*at, "stackSpec", "image"), message, "stack")
    if stack is None or stack.image_from_spec:
        return
    if stack.image is None:
        message = f"the {stack.name} stack has no image: set target.stacks.{stack.name}.image in gitops-agent.yaml"
        yield Finding((*at, "stack"), message, "stack")
    known = (*context.keys_for(kind), CONFIG_FILE_KEY)
    for text in (*stack.command, *stack.arguments):
        for placeholder in context.unknown(text, known):
            message = f"the {stack.name} stack's command uses {placeholder}, which a {kind.value} does not have"
            yield Finding((*at, "stack"), message, "stack")


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a normalized absolute directory, or None."""
    if not path.isprintable():
        return f"{quoted(path)} holds a line break or a control character; write the path alone"
    normal = posixpath.normpath(path)
    if path == "/" or normal == "/":
        return f"{path!r} would hide the whole file system; mount a directory below /"
    if normal != path or "//" in path:
        return f"{path!r} must be a normalized absolute path (no '.', '..', '//' or trailing '/'); write {normal!r}"
    return None


def _sub_path_problem(sub_path: str) -> str | None:
    parts = sub_path.split("/")
    if sub_path.startswith("/") or ".." in parts or "." in parts or "" in parts:
        return (
            f"subPath {sub_path!r} must be a relative path inside the volume, without '.' or '..'"
        )
    return None


def _mounts(
    runtime: Runtime, at: JsonPath, stacks: StackRegistry, *, disk: str | None
) -> Iterator[Finding]:
    """Every mount directory is a normalized path off the stack's configuration directory."""
    stack = stacks.get(runtime.stack)
    reserved = None
    if stack is not None and not stack.image_from_spec and stack.config_file:
        reserved = posixpath.dirname(stack.config_file)
    directories: list[tuple[JsonPath, str]] = []
    if disk is not None:
        directories.append(((*at, "disk", "directory"), disk))
    for index, volume in enumerate(runtime.use.volumes):
        where: JsonPath = (*at, "use", "volumes", index)
        directories.append(((*where, "directory"), volume.directory))
        problem = None if volume.sub_path is None else _sub_path_problem(volume.sub_path)
        if problem:
            yield Finding((*where, "subPath"), problem, "mounts")
    projection = runtime.use.projection
    for index, file in enumerate(projection.files if projection else ()):
        directories.append(((*at, *_TEMPLATES, "files", index, "directory"), file.directory))
    for where, directory in directories:
        problem = path_problem(directory)
        if problem:
            yield Finding(where, problem, "mounts")
        elif directory == reserved:
            message = f"directory {directory} holds the {runtime.stack} stack's configuration file; use another directory"
            yield Finding(where, message, "mounts")


def _worker(worker: Worker) -> Iterator[Finding]:
    storage_class = None if worker.disk is None else worker.disk.storage_class
    if storage_class is not None and (
        len(storage_class) > 253 or not _SUBDOMAIN.fullmatch(storage_class)
    ):
        message = (
            f"storageClass {quoted(storage_class)} must be the name of a Kubernetes "
            "StorageClass: lowercase letters, digits, '-' and '.'"
        )
        yield Finding(("spec", "disk", "storageClass"), message, "name")
    if (
        worker.disk is not None
        and worker.replicas > 1
        and not names.DNS_1035.fullmatch(worker.meta.name)
    ):
        message = (
            f"a Worker with disk and more than one replica runs as a StatefulSet with a headless "
            f"Service named {worker.meta.name!r}; a Service name must start with a letter"
        )
        yield Finding(("name",), message, "name")


def _workflow(workflow: Workflow) -> Iterator[Finding]:
    schedule = workflow.schedule
    if schedule is None:
        yield from _job_names(workflow)
        return
    if len(workflow.dag) > 1:
        message = (
            f"a scheduled Workflow has exactly one step for now (this one has {len(workflow.dag)}): "
            "remove the schedule or split the steps into scheduled Workflows of their own"
        )
        yield Finding(("spec", "schedule"), message, "schedule")
    if len(schedule.crons) > 1:
        message = (
            "a scheduled Workflow has one cron for now (a Kubernetes CronJob has one schedule)"
        )
        yield Finding(("spec", "schedule", "crons", 1), message, "schedule")
    if schedule.end_on is not None and _iso_time_problem(schedule.end_on):
        message = (
            f"endOn {quoted(schedule.end_on)} is not an ISO-8601 time such as 2030-01-31T18:00:00Z"
        )
        yield Finding(("spec", "schedule", "endOn"), message, "schedule")


def _iso_time_problem(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return True
    return False


def _job_names(workflow: Workflow) -> Iterator[Finding]:
    for index, step in enumerate(workflow.dag):
        length = names.job_name_length(workflow.meta.name, step.name)
        if length > names.MAX_JOB_NAME:
            message = (
                f"the Job of step {step.name!r} is named <workflow>-<step>-<{names.JOB_HASH_LENGTH}-digit hash>, "
                f"{length} characters here; Kubernetes allows {names.MAX_JOB_NAME}: shorten the "
                f"workflow or step name by {length - names.MAX_JOB_NAME}"
            )
            yield Finding(("spec", "dag", index, "name"), message, "name")
