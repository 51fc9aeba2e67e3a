"""Validation of pod templates and pod specs, as ``pkg/apis/core/validation/validation.go`` does
it (``ValidatePodTemplateSpec``, ``ValidatePodSpec``, ``ValidateVolumes``,
``validateContainerCommon``...), and the warnings of ``pkg/api/pod/warnings.go``.

``check_template(field, template, restart)`` and ``check_pod_spec(field, spec, restart)``
return the field errors (volumes: names, duplicates, one source each; containers: names,
images, ports, env names and sources, volume mounts naming a defined volume, pull policy,
resource names and quantities, probes with a handler); ``template_warnings`` returns the
warnings a write of the template gets (an env var defined twice, a port defined twice).
Called by ``kindrules.py``.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim import quantities
from gitops_agent.testing.kubesim.errors import Cause

Obj = dict[str, Any]
# validateVolumeSource's order (and the field names its errors use).
_SOURCES = (
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
)
_SOURCE_NAMES = {"configMap": "name", "secret": "secretName", "persistentVolumeClaim": "claimName"}
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_STANDARD_RESOURCES = frozenset(
    {
        "cpu",
        "memory",
        "ephemeral-storage",
        "storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
        "requests.storage",
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "pods",
        "services",
        "replicationcontrollers",
        "resourcequotas",
        "secrets",
        "configmaps",
        "persistentvolumeclaims",
        "services.nodeports",
        "services.loadbalancers",
    }
)
_CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def check_template(field: str, template: Obj, restart: tuple[str, ...]) -> list[Cause]:
    """``ValidatePodTemplateSpec``: the template's labels and annotations, then its pod spec."""
    meta = template.get("metadata") or {}
    causes = check_labels(f"{field}.labels", meta.get("labels") or {})
    causes += check_annotations(f"{field}.annotations", meta.get("annotations") or {})
    return causes + check_pod_spec(f"{field}.spec", template.get("spec") or {}, restart)


def check_labels(field: str, labels: Obj) -> list[Cause]:
    """``ValidateLabels``: qualified-name keys and label values."""
    causes: list[Cause] = []
    for key, value in labels.items():
        causes += fe.each(field, key, fe.is_qualified_name(key))
        causes += fe.each(field, value, fe.is_label_value(str(value)))
    return causes


def check_annotations(field: str, annotations: Obj) -> list[Cause]:
    """``ValidateAnnotations``: qualified keys (any case) and at most 256 KiB in all."""
    causes: list[Cause] = []
    for key in annotations:
        causes += fe.each(field, key, fe.is_qualified_name(key.lower()))
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > 262144:
        causes.append(fe.too_long(field, 262144))
    return causes


def check_pod_spec(field: str, spec: Obj, restart: tuple[str, ...]) -> list[Cause]:
    """Volumes, containers and init containers, the restart policies the owner allows."""
    volumes, causes = _volumes(f"{field}.volumes", spec.get("volumes") or [])
    containers = spec.get("containers") or []
    if not containers:
        causes.append(fe.required(f"{field}.containers"))
    names: set[str] = set()
    for i, container in enumerate(containers):
        causes += _container(f"{field}.containers[{i}]", container, volumes, names)
    for i, container in enumerate(spec.get("initContainers") or []):
        causes += _container(f"{field}.initContainers[{i}]", container, volumes, names)
    policy = spec.get("restartPolicy")
    if policy not in ("Always", "OnFailure", "Never"):
        causes.append(fe.not_supported(f"{field}.restartPolicy", policy, _PULL_ORDER))
    elif policy not in restart:
        causes.append(fe.not_supported(f"{field}.restartPolicy", policy, restart))
    return causes


_PULL_ORDER = ("Always", "OnFailure", "Never")


def _volumes(field: str, volumes: list[Any]) -> tuple[set[str], list[Cause]]:
    """``ValidateVolumes``: the names of the valid volumes, and the errors."""
    valid: set[str] = set()
    causes: list[Cause] = []
    for i, volume in enumerate(volumes):
        where = f"{field}[{i}]"
        name = str(volume.get("name") or "")
        found = _volume_source(where, volume)
        if not name:
            found.append(fe.required(f"{where}.name"))
        else:
            found += fe.each(f"{where}.name", name, fe.is_dns1123_label(name))
        if name in valid:
            found.append(fe.duplicate(f"{where}.name", name))
        if not found:
            valid.add(name)
        causes += found
    return valid, causes


def _volume_source(where: str, volume: Obj) -> list[Cause]:
    """``validateVolumeSource``: one source, and the name each named source needs."""
    causes: list[Cause] = []
    count = 0
    for key, shown in _SOURCES:
        source = volume.get(key)
        if source is None:
            continue
        if count and key != "emptyDir":
            causes.append(
                fe.forbidden(f"{where}.{shown}", "may not specify more than 1 volume type")
            )
            continue
        count += 1
        needed = _SOURCE_NAMES.get(key)
        if needed and isinstance(source, dict) and not source.get(needed):
            causes.append(fe.required(f"{where}.{key}.{needed}"))
    if count == 0:
        causes.append(fe.required(where, "must specify a volume type"))
    return causes


def _container(where: str, container: Obj, volumes: set[str], names: set[str]) -> list[Cause]:
    """``validateContainerCommon`` and the per-container checks of ``validateContainers``."""
    causes: list[Cause] = []
    name = str(container.get("name") or "")
    if not name:
        causes.append(fe.required(f"{where}.name"))
    else:
        causes += fe.each(f"{where}.name", name, fe.is_dns1123_label(name))
    if not container.get("image"):
        causes.append(fe.required(f"{where}.image"))
    causes += _ports(f"{where}.ports", container.get("ports") or [])
    causes += _env(f"{where}.env", container.get("env") or [])
    causes += _mounts(f"{where}.volumeMounts", container.get("volumeMounts") or [], volumes)
    policy = container.get("imagePullPolicy")
    if policy not in _PULL_POLICIES:
        causes.append(fe.not_supported(f"{where}.imagePullPolicy", policy, _PULL_POLICIES))
    causes += _resources(f"{where}.resources", container.get("resources") or {})
    if name in names:
        causes.append(fe.duplicate(f"{where}.name", name))
    names.add(name)
    for probe in _PROBES:
        if isinstance(container.get(probe), dict):
            causes += _probe(f"{where}.{probe}", container[probe], probe)
    return causes


def _ports(field: str, ports: list[Any]) -> list[Cause]:
    """``validateContainerPorts``."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        where = f"{field}[{i}]"
        name = port.get("name")
        if name:
            if name in names:
                causes.append(fe.duplicate(f"{where}.name", name))
            names.add(name)
        number = port.get("containerPort")
        if not number:
            causes.append(fe.required(f"{where}.containerPort"))
        elif not 1 <= number <= 65535:
            causes.append(
                fe.invalid(
                    f"{where}.containerPort", number, "must be between 1 and 65535, inclusive"
                )
            )
        protocol = port.get("protocol")
        if protocol not in _PROTOCOLS:
            causes.append(fe.not_supported(f"{where}.protocol", protocol, _PROTOCOLS))
    return causes


def _env(field: str, env: list[Any]) -> list[Cause]:
    """``ValidateEnv`` with the relaxed names of 1.32 and ``validateEnvVarValueFrom``."""
    causes: list[Cause] = []
    for i, var in enumerate(env):
        where = f"{field}[{i}]"
        name = str(var.get("name") or "")
        if not name:
            causes.append(fe.required(f"{where}.name"))
        elif "=" in name or any(not 32 <= ord(c) <= 126 for c in name):
            causes.append(fe.invalid(f"{where}.name", name, fe.ENV_NAME_MSG))
        source = var.get("valueFrom")
        if not isinstance(source, dict):
            continue
        kinds = [
            k
            for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
            if source.get(k) is not None
        ]
        if not kinds:
            causes.append(
                fe.invalid(
                    f"{where}.valueFrom",
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or "
                    "`secretKeyRef`",
                )
            )
        elif var.get("value"):
            causes.append(
                fe.invalid(
                    f"{where}.valueFrom", "", "may not be specified when `value` is not empty"
                )
            )
        elif len(kinds) > 1:
            causes.append(
                fe.invalid(
                    f"{where}.valueFrom", "", "may not have more than one field specified at a time"
                )
            )
    return causes


def _mounts(field: str, mounts: list[Any], volumes: set[str]) -> list[Cause]:
    """``ValidateVolumeMounts``: a defined volume, a mount path, unique paths."""
    causes: list[Cause] = []
    paths: set[str] = set()
    for i, mount in enumerate(mounts):
        where = f"{field}[{i}]"
        name = str(mount.get("name") or "")
        if not name:
            causes.append(fe.required(f"{where}.name"))
        if name not in volumes:
            causes.append(fe.not_found(f"{where}.name", name))
        path = str(mount.get("mountPath") or "")
        if not path:
            causes.append(fe.required(f"{where}.mountPath"))
        if path in paths:
            causes.append(fe.invalid(f"{where}.mountPath", path, "must be unique"))
        paths.add(path)
    return causes


def _probe(field: str, probe: Obj, kind: str) -> list[Cause]:
    """``validateProbe``: one handler, non-negative timings, success threshold 1 where due."""
    causes: list[Cause] = []
    present = [h for h in _HANDLERS if probe.get(h) is not None]
    if not present:
        causes.append(fe.required(field, "must specify a handler type"))
    for handler in present[1:]:
        causes.append(
            fe.forbidden(f"{field}.{handler}", "may not specify more than 1 handler type")
        )
    for key in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        causes += fe.nonnegative(f"{field}.{key}", probe.get(key))
    if kind != "readinessProbe" and probe.get("successThreshold") not in (None, 1):
        causes.append(
            fe.invalid(f"{field}.successThreshold", probe["successThreshold"], "must be 1")
        )
    return causes


def _resources(field: str, resources: Obj) -> list[Cause]:
    """``ValidateContainerResourceRequirements``: names, non-negative, requests under limits."""
    causes: list[Cause] = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for section, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            where = f"{field}.{section}[{name}]"
            causes += _resource_name(where, name)
            if quantities.to_number(value) < 0:
                causes.append(fe.invalid(where, value, "must be greater than or equal to 0"))
    for name, value in requests.items():
        if name in limits and quantities.to_number(value) > quantities.to_number(limits[name]):
            causes.append(
                fe.invalid(
                    f"{field}.requests",
                    value,
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return causes


def _resource_name(where: str, name: str) -> list[Cause]:
    """``validateContainerResourceName``."""
    causes = fe.each(where, name, fe.is_qualified_name(name))
    if causes:
        return causes
    if "/" not in name:
        if name not in _STANDARD_RESOURCES:
            causes.append(
                fe.invalid(where, name, "must be a standard resource type or fully qualified")
            )
        if name not in _CONTAINER_RESOURCES and not name.startswith("hugepages-"):
            causes.append(fe.invalid(where, name, "must be a standard resource for containers"))
    return causes


def template_warnings(field: str, template: Obj) -> list[str]:
    """``GetWarningsForPodTemplate``: env vars that hide an earlier one, repeated ports."""
    spec = template.get("spec") or {}
    return pod_warnings(f"{field}.spec", spec)


def pod_warnings(field: str, spec: Obj) -> list[str]:
    out: list[str] = []
    seen_ports: dict[str, str] = {}
    for key in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(key) or []):
            where = f"{field}.{key}[{i}]"
            out += _env_warnings(f"{where}.env", container.get("env") or [])
            for j, port in enumerate(container.get("ports") or []):
                ident = f"{port.get('containerPort')}/{port.get('protocol')}"
                here = f"{where}.ports[{j}]"
                if ident in seen_ports and not port.get("hostPort"):
                    out.append(f"{here}: duplicate port definition with {seen_ports[ident]}")
                seen_ports.setdefault(ident, here)
    return out


def _env_warnings(field: str, env: list[Any]) -> list[str]:
    out: list[str] = []
    names: set[str] = set()
    for i, var in enumerate(env):
        name = str(var.get("name") or "")
        if name not in names:
            names.add(name)
            continue
        reference = f"$({name})"
        value = str(var.get("value") or "")
        if var.get("valueFrom") is not None or value == reference or reference not in value:
            out.append(
                f"{field}[{i}]: hides previous definition of {fe.go_quote(name)}, "
                "which may be dropped when using apply"
            )
    return out
