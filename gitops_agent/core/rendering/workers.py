"""Workers on Kubernetes: a Worker -> a Deployment (or a StatefulSet) and what it mounts.

Called by ``kubernetes.render_resource``. A Worker becomes a Deployment whose strategy
follows ``executionMode``; with ``disk`` it also gets a PersistentVolumeClaim
``<name>-disk``. With ``disk`` and more than one replica each replica needs its own disk, so
it becomes a StatefulSet with a volume claim template and the headless Service that a
StatefulSet's ``serviceName`` names. ConfigMaps hold projected files and stack configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitops_agent.core import labels, quantities
from gitops_agent.core.kinds import (
    CONFIG_MAP,
    DEPLOYMENT,
    PERSISTENT_VOLUME_CLAIM,
    SERVICE,
    STATEFUL_SET,
)
from gitops_agent.core.manifests import Disk, Worker
from gitops_agent.core.rendering import context, metadata, names, pods, volumes
from gitops_agent.core.rendering.metadata import Stamp
from gitops_agent.core.rendering.objects import (
    KubeObject,
    RenderedWorker,
    RenderError,
    RenderSettings,
)

#: Access modes that one node (or one pod) holds at a time: a rollout must not surge.
_EXCLUSIVE_MODES = frozenset({"ReadWriteOnce", "ReadWriteOncePod"})


def _rolling_update(worker: Worker) -> dict[str, Any]:
    """RollingUpdate; with an exclusive disk the old pod goes before the new one starts."""
    if worker.disk is not None and worker.disk.access_mode in _EXCLUSIVE_MODES:
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    rolling = {"maxSurge": "25%", "maxUnavailable": "25%"}
    return {"type": "RollingUpdate", "rollingUpdate": rolling}


#: ``executionMode`` -> the Deployment strategy (validation accepts exactly these keys).
STRATEGIES: Mapping[str, Callable[[Worker], dict[str, Any]]] = {"default": _rolling_update}


def render_worker(worker: Worker, settings: RenderSettings, *, revision: str) -> RenderedWorker:
    """A Worker's objects: ConfigMaps, then PVC or Service, then the workload."""
    namespace = settings.namespace(worker.id.workspace)
    stamp = metadata.stamp(worker, owner=settings.owner, namespace=namespace, revision=revision)
    values = context.values(
        worker.id.type,
        worker.meta.name,
        workspace=worker.id.workspace,
        namespace=namespace,
        dataos_fqdn=settings.dataos_fqdn,
    )
    stateful = worker.disk is not None and worker.replicas > 1
    disk = volumes.Parts()
    if worker.disk is not None:
        claim = None if stateful else names.disk_claim(worker.meta.name)
        disk = volumes.disk(worker.disk.directory, claim=claim)
    request = pods.PodRequest(worker.runtime, values, worker.meta.name, disk)
    pod = pods.render_pod(request, settings)
    objects = [stamp.object(CONFIG_MAP, c.name, {"data": dict(c.data)}) for c in pod.config_maps]
    if stateful:
        objects.append(_headless_service(worker, stamp))
        workload = _stateful_set(worker, stamp, pod, settings)
    else:
        if worker.disk is not None:
            objects.append(_claim(worker, stamp, settings))
        workload = _deployment(worker, stamp, pod)
    objects.append(workload)
    return RenderedWorker(worker.id, tuple(objects), workload.key)


def _deployment(worker: Worker, stamp: Stamp, pod: pods.Pod) -> KubeObject:
    strategy = STRATEGIES.get(worker.execution_mode)
    if strategy is None:
        raise RenderError(f"executionMode {worker.execution_mode!r} is not supported")
    spec = {
        "replicas": worker.replicas,
        "selector": {"matchLabels": metadata.selector(worker.id)},
        "strategy": strategy(worker),
        "template": _marked(pod.template(stamp.pod_labels)),
    }
    return stamp.object(DEPLOYMENT, worker.meta.name, {"spec": spec})


def _marked(template: dict[str, Any]) -> dict[str, Any]:
    """The pod template labelled with its own digest (``labels.TEMPLATE``): how the pods of
    the current template are told from an older ReplicaSet's during a rollout."""
    template["metadata"]["labels"][labels.TEMPLATE] = metadata.digest(template)[:16]
    return template


def _claim_spec(disk: Disk, settings: RenderSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": [disk.access_mode],
        "resources": {"requests": {"storage": quantities.canonical(disk.size)}},
    }
    storage_class = disk.storage_class or settings.storage_class
    if storage_class:
        spec["storageClassName"] = storage_class
    return spec


def _claim(worker: Worker, stamp: Stamp, settings: RenderSettings) -> KubeObject:
    assert worker.disk is not None
    spec = _claim_spec(worker.disk, settings)
    return stamp.object(PERSISTENT_VOLUME_CLAIM, names.disk_claim(worker.meta.name), {"spec": spec})


def _headless_service(worker: Worker, stamp: Stamp) -> KubeObject:
    """The governing Service of the StatefulSet: no cluster IP, no ports, stable pod DNS."""
    spec = {
        "clusterIP": "None",
        "publishNotReadyAddresses": True,
        "selector": metadata.selector(worker.id),
    }
    return stamp.object(SERVICE, worker.meta.name, {"spec": spec})


def _stateful_set(
    worker: Worker, stamp: Stamp, pod: pods.Pod, settings: RenderSettings
) -> KubeObject:
    assert worker.disk is not None
    claim_template = {
        "apiVersion": PERSISTENT_VOLUME_CLAIM.api_version,
        "kind": PERSISTENT_VOLUME_CLAIM.name,
        "metadata": {"name": names.DISK_VOLUME, "labels": stamp.pod_labels},
        "spec": _claim_spec(worker.disk, settings),
    }
    spec = {
        "replicas": worker.replicas,
        "serviceName": worker.meta.name,
        "podManagementPolicy": "Parallel",
        "selector": {"matchLabels": metadata.selector(worker.id)},
        "updateStrategy": {"type": "RollingUpdate"},
        "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Delete", "whenScaled": "Retain"},
        "template": pod.template(stamp.pod_labels),
        "volumeClaimTemplates": [claim_template],
    }
    return stamp.object(STATEFUL_SET, worker.meta.name, {"spec": spec})
