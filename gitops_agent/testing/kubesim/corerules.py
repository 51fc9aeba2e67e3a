"""Validation of the core kinds, as ``pkg/apis/core/validation/validation.go`` does it: Pods,
PersistentVolumeClaims (access modes, size; what an update may change), ConfigMaps and Secrets
(keys, 1 MiB of data), Services (ports, type, node ports; cluster IPs fixed once set). Called
by ``kindrules.py``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim import podrules, quantities
from gitops_agent.testing.kubesim.errors import Cause

Obj = dict[str, Any]
MAX_DATA = 1048576  # core.MaxSecretSize
_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PROTOCOLS = ("SCTP", "TCP", "UDP")


def pod(obj: Obj, spec: Obj) -> list[Cause]:
    return podrules.check_pod_spec("spec", spec, ("Always", "OnFailure", "Never"))


def pvc(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidatePersistentVolumeClaimSpec``."""
    causes: list[Cause] = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(fe.required("spec.accessModes", "at least 1 access mode is required"))
    for mode in modes:
        if mode not in _ACCESS_MODES:
            causes.append(fe.not_supported("spec.accessModes", mode, _ACCESS_MODES))
    if "ReadWriteOncePod" in modes and any(
        m in _ACCESS_MODES and m != "ReadWriteOncePod" for m in modes
    ):
        causes.append(
            fe.forbidden("spec.accessModes", "may not use ReadWriteOncePod with other access modes")
        )
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        causes.append(fe.required("spec.resources[storage]"))
    elif quantities.to_number(requests["storage"]) <= 0:
        causes.append(
            fe.invalid("spec.resources[storage]", requests["storage"], "must be greater than zero")
        )
    return causes


def configmap(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateConfigMap``: keys, and at most 1 MiB of data in all."""
    causes: list[Cause] = []
    size = 0
    for section in ("data", "binaryData"):
        for key, value in (obj.get(section) or {}).items():
            causes += fe.each(f"{section}[{key}]", key, fe.is_config_key(key))
            size += _decoded_size(value) if section == "binaryData" else len(str(value).encode())
    for key in obj.get("data") or {}:
        if key in (obj.get("binaryData") or {}):
            causes.append(fe.invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
    if size > MAX_DATA:
        causes.append(fe.too_long("[]", MAX_DATA))
    return causes


def secret(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateSecret``: keys, and at most 1 MiB of (decoded) data."""
    causes: list[Cause] = []
    size = 0
    for key, value in (obj.get("data") or {}).items():
        causes += fe.each(f"data[{key}]", key, fe.is_config_key(key))
        size += _decoded_size(value)
    if size > MAX_DATA:
        causes.append(fe.too_long("data", MAX_DATA))
    return causes


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=False))
    except (binascii.Error, ValueError):
        return len(str(value))


def service(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateService``: ports, their names and numbers, the type, node ports."""
    causes: list[Cause] = []
    kind = spec.get("type")
    ports = spec.get("ports") or []
    headless = spec.get("clusterIP") == "None"
    if not ports and not headless and kind != "ExternalName":
        causes.append(fe.required("spec.ports"))
    causes += _service_ports(ports)
    if not kind:
        causes.append(fe.required("spec.type"))
    elif kind not in _SERVICE_TYPES:
        causes.append(fe.not_supported("spec.type", kind, _SERVICE_TYPES))
    if kind == "ClusterIP":
        for i, port in enumerate(ports):
            if port.get("nodePort"):
                causes.append(
                    fe.forbidden(
                        f"spec.ports[{i}].nodePort", "may not be used when `type` is 'ClusterIP'"
                    )
                )
    if kind in ("NodePort", "LoadBalancer") and headless:
        causes.append(
            fe.invalid(
                "spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services"
            )
        )
    return causes + _duplicate_ports(ports)


def _service_ports(ports: list[Any]) -> list[Cause]:
    """``validateServicePort``: names (required when there are several), numbers, protocols."""
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        where = f"spec.ports[{i}]"
        name = str(port.get("name") or "")
        if len(ports) > 1 and not name:
            causes.append(fe.required(f"{where}.name"))
        elif name:
            causes += fe.each(f"{where}.name", name, fe.is_dns1123_label(name))
            if name in names:
                causes.append(fe.duplicate(f"{where}.name", name))
            names.add(name)
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                fe.invalid(f"{where}.port", number or 0, "must be between 1 and 65535, inclusive")
            )
        if port.get("protocol") not in _PROTOCOLS:
            causes.append(fe.not_supported(f"{where}.protocol", port.get("protocol"), _PROTOCOLS))
    return causes


def _duplicate_ports(ports: list[Any]) -> list[Cause]:
    causes: list[Cause] = []
    seen_nodes: set[tuple[Any, Any]] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, port in enumerate(ports):
        node = (port.get("protocol"), port.get("nodePort"))
        if port.get("nodePort") and node in seen_nodes:
            causes.append(fe.duplicate(f"spec.ports[{i}].nodePort", port.get("nodePort")))
        seen_nodes.add(node)
        key = (port.get("protocol"), port.get("port"))
        if key in seen:
            shown = (
                f'core.ServicePort{{Name:"", Protocol:{fe.go_quote(str(key[0]))}, '
                f"AppProtocol:(*string)(nil), Port:{key[1]}, TargetPort:"
                f'intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
            )
            causes.append(fe.duplicate(f"spec.ports[{i}]", fe.Raw(shown)))
        seen.add(key)
    return causes


def pvc_update(obj: Obj, old: Obj) -> list[Cause]:
    """``ValidatePersistentVolumeClaimUpdate`` (RecoverVolumeExpansionFailure on, as in 1.32)."""
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    bound = (obj.get("status") or {}).get("phase") == "Bound"
    old_size = _storage(old_spec.get("resources"))
    new_size = _storage(new_spec.get("resources"))
    ignored = {"volumeName"} if not old_spec.get("volumeName") else set()
    if bound:
        ignored.add("resources")
    if {k: v for k, v in new_spec.items() if k not in ignored} != {
        k: v for k, v in old_spec.items() if k not in ignored
    }:
        return [
            fe.forbidden(
                "spec",
                "spec is immutable after creation except resources.requests "
                "and volumeAttributesClassName for bound claims",
            )
        ]
    capacity = quantities.to_number(
        ((old.get("status") or {}).get("capacity") or {}).get("storage", "0")
    )
    if new_size < old_size and new_size <= capacity:
        return [
            fe.forbidden(
                "spec.resources.requests.storage", "field can not be less than status.capacity"
            )
        ]
    return []


def _storage(resources: Any) -> float:
    requests = (resources or {}).get("requests") or {}
    return float(quantities.to_number(requests.get("storage", "0")))


def service_update(new_spec: Obj, old_spec: Obj) -> list[Cause]:
    before, after = old_spec.get("clusterIPs") or [], new_spec.get("clusterIPs") or []
    if before and after and before[0] != after[0]:
        return [fe.invalid("spec.clusterIPs[0]", after, "may not change once set")]
    return []
