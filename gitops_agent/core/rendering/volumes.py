"""Pod volumes and mounts: ``use.volumes`` claims, the Worker's ``disk``, and ``Parts``.

Called by ``pods`` (which adds the parts of every feature together) and by ``projections``
(files). ``Parts`` is what a feature contributes to a pod: volumes, the container's volume
mounts, and the ConfigMaps those volumes read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gitops_agent.core.manifests import VolumeMount
from gitops_agent.core.rendering import names


@dataclass(frozen=True, slots=True)
class ConfigData:
    """A ConfigMap to render beside the pod: its name and its ``data``."""

    name: str
    data: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Parts:
    """Volumes, mounts and ConfigMaps one feature adds to a pod."""

    volumes: tuple[Mapping[str, Any], ...] = ()
    mounts: tuple[Mapping[str, Any], ...] = ()
    config_maps: tuple[ConfigData, ...] = ()

    def __add__(self, other: Parts) -> Parts:
        return Parts(
            self.volumes + other.volumes,
            self.mounts + other.mounts,
            self.config_maps + other.config_maps,
        )


def claims(volumes: Sequence[VolumeMount]) -> Parts:
    """``use.volumes``: one pod volume per distinct claim, one mount per entry."""
    order: dict[str, str] = {}
    mounts: list[Mapping[str, Any]] = []
    for volume in volumes:
        name = order.setdefault(volume.name, names.claim_volume(len(order)))
        mount: dict[str, Any] = {"name": name, "mountPath": volume.directory}
        if volume.read_only:
            mount["readOnly"] = True
        if volume.sub_path:
            mount["subPath"] = volume.sub_path
        mounts.append(mount)
    pod_volumes = tuple(
        {"name": name, "persistentVolumeClaim": {"claimName": claim}}
        for claim, name in order.items()
    )
    return Parts(pod_volumes, tuple(mounts))


def disk(directory: str, *, claim: str | None) -> Parts:
    """The Worker's ``disk`` mounted at ``directory``.

    ``claim`` names the PersistentVolumeClaim of a Deployment; a StatefulSet passes None,
    its volume claim template provides the ``disk`` volume of each pod.
    """
    mount = {"name": names.DISK_VOLUME, "mountPath": directory}
    if claim is None:
        return Parts(mounts=(mount,))
    volume = {"name": names.DISK_VOLUME, "persistentVolumeClaim": {"claimName": claim}}
    return Parts((volume,), (mount,))


def config_file(base: str, path: str, content: str) -> Parts:
    """A stack's configuration file: a ConfigMap mounted read-only at the file's directory."""
    directory, _, filename = path.rpartition("/")
    name = names.stack_config(base)
    volume = {
        "name": names.STACK_VOLUME,
        "configMap": {"name": name, "items": [{"key": filename, "path": filename}]},
    }
    mount = {"name": names.STACK_VOLUME, "mountPath": directory or "/", "readOnly": True}
    return Parts((volume,), (mount,), (ConfigData(name, {filename: content}),))
