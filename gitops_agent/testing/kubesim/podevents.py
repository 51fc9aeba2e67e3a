"""The events the kubelet records about a pod's containers, from one status to the next.

``container_events(pod, old, new, pulled)`` compares the container statuses of two pod
statuses and returns what a kubelet would have recorded in between (``pkg/kubelet/events``,
``kuberuntime_container.go``, ``images/image_manager.go``): ``Pulling``/``Pulled`` (or
"already present on machine"), ``Created``, ``Started`` when a container starts, ``BackOff``
(Warning) when it enters CrashLoopBackOff, and ``Failed``/``BackOff`` when its image does not
pull. ``pulled`` is the node's image cache (updated). Called by ``pods.py``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from gitops_agent.testing.kubesim.events import NORMAL, WARNING

Obj = dict[str, Any]
Event = tuple[str, str, str, str]  # type, reason, message, fieldPath


def _reference(image: str) -> str:
    """The image as containerd names it: ``docker.io/library/busybox:1.36``."""
    name = image if ":" in image.rsplit("/", 1)[-1] or "@" in image else f"{image}:latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        return f"docker.io/library/{name}"
    if "." in first or ":" in first or first == "localhost":
        return name
    return f"docker.io/{name}"


def _pulled(image: str) -> str:
    digest = hashlib.sha256(image.encode()).digest()
    took = f"{0.5 + digest[0] / 100:.3f}s"
    size = 2_000_000 + int.from_bytes(digest[1:4], "big")
    return (
        f'Successfully pulled image "{image}" in {took} ({took} including waiting). '
        f"Image size: {size} bytes."
    )


def _start(container: Obj, pulled: set[str], path: str) -> list[Event]:
    image, name = str(container.get("image", "")), str(container.get("name", ""))
    always = container.get("imagePullPolicy", "IfNotPresent") == "Always"
    out: list[Event] = []
    if always or image not in pulled:
        out += [
            (NORMAL, "Pulling", f'Pulling image "{image}"', path),
            (NORMAL, "Pulled", _pulled(image), path),
        ]
        pulled.add(image)
    else:
        out.append(
            (NORMAL, "Pulled", f'Container image "{image}" already present on machine', path)
        )
    out += [
        (NORMAL, "Created", f"Created container: {name}", path),
        (NORMAL, "Started", f"Started container {name}", path),
    ]
    return out


def _pull_failed(image: str, path: str) -> list[Event]:
    ref = _reference(image)
    why = (
        f"rpc error: code = NotFound desc = failed to pull and unpack image {ref!r}: failed to "
        f"resolve reference {ref!r}: {ref}: not found"
    ).replace("'", '"')
    return [
        (NORMAL, "Pulling", f'Pulling image "{image}"', path),
        (WARNING, "Failed", f'Failed to pull image "{image}": {why}', path),
        (WARNING, "Failed", "Error: ErrImagePull", path),
        (NORMAL, "BackOff", f'Back-off pulling image "{image}"', path),
        (WARNING, "Failed", "Error: ImagePullBackOff", path),
    ]


def _by_name(status: Obj | None) -> dict[str, Obj]:
    return {str(s.get("name")): s for s in (status or {}).get("containerStatuses") or []}


def _waiting(state: Obj) -> str:
    return str((state.get("waiting") or {}).get("reason", ""))


def container_events(pod: Obj, old: Obj | None, new: Obj, pulled: set[str]) -> list[Event]:
    """What the kubelet recorded between the ``old`` and ``new`` statuses of ``pod``."""
    before, after = _by_name(old), _by_name(new)
    meta = pod["metadata"]
    out: list[Event] = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        name = str(container.get("name", ""))
        path = f"spec.containers{{{name}}}"
        previous, current = before.get(name) or {}, after.get(name)
        if current is None:
            continue
        state, last = current.get("state") or {}, previous.get("state") or {}
        ran = bool(current.get("containerID")) and current.get("containerID") != previous.get(
            "containerID"
        )
        if ran:
            out += _start(container, pulled, path)
        if _waiting(state) == "CrashLoopBackOff" and (ran or _waiting(last) != "CrashLoopBackOff"):
            message = (
                f"Back-off restarting failed container {name} in pod "
                f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})"
            )
            out.append((WARNING, "BackOff", message, path))
        elif _waiting(state) == "ImagePullBackOff" and _waiting(last) != "ImagePullBackOff":
            out += _pull_failed(str(container.get("image", "")), path)
    return out


def stopping(pod: Obj) -> list[Event]:
    """``Killing``: the kubelet stops the pod's running containers."""
    running = {
        n for n, s in _by_name(pod.get("status")).items() if "running" in (s.get("state") or {})
    }
    return [
        (NORMAL, "Killing", f"Stopping container {c['name']}", f"spec.containers{{{c['name']}}}")
        for c in (pod.get("spec") or {}).get("containers") or []
        if c.get("name") in running
    ]
