"""Validation of each served kind's spec and of its updates, as ``pkg/apis/apps/validation``,
``pkg/apis/batch/validation`` and ``pkg/apis/core/validation`` do it.

``CHECKS[kind](obj, spec)`` returns the field errors of an object (Deployments, ReplicaSets,
StatefulSets, Jobs, CronJobs, Pods, PVCs, ConfigMaps, Secrets, Services);
``update_errors(kind, obj, old)`` those of an update (immutable fields, the StatefulSet spec
fields that may change, PVC size changes); ``template_warnings`` the warnings of a write.
Called by ``rules.py``.
"""

from __future__ import annotations

import base64
import binascii
import zoneinfo
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim import fielderrors as fe
from gitops_agent.testing.kubesim import podrules, quantities
from gitops_agent.testing.kubesim.cron import CronError, parse_schedule
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.selectors import selector_matches

Obj = dict[str, Any]
MAX_DATA = 1048576  # core.MaxSecretSize
_ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_PROTOCOLS = ("SCTP", "TCP", "UDP")
_STS_UPDATABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)


def _template(spec: Obj) -> Obj:
    template = spec.get("template")
    return template if isinstance(template, dict) else {}


def _selected(kind: str, spec: Obj) -> list[Cause]:
    """The selector a workload needs, and its match with the template's labels."""
    selector = spec.get("selector")
    labels = (_template(spec).get("metadata") or {}).get("labels") or {}
    if not selector:
        return [fe.required("spec.selector")]
    if not (selector.get("matchLabels") or selector.get("matchExpressions")):
        return [
            fe.invalid(
                "spec.selector",
                fe.Raw("&v1.LabelSelector{}"),
                f"empty selector is invalid for {kind}",
            )
        ]
    if not selector_matches(selector, labels):
        return [
            fe.invalid(
                "spec.template.metadata.labels",
                labels,
                "`selector` does not match template `labels`",
            )
        ]
    return []


def _nonnegative(spec: Obj, *keys: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in keys:
        causes += fe.nonnegative(f"spec.{key}", spec.get(key))
    return causes


def _deployment(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(spec, "replicas") + _selected("deployment", spec)
    causes += podrules.check_template("spec.template", _template(spec), ("Always",))
    causes += _strategy(spec.get("strategy") or {})
    causes += _nonnegative(spec, "minReadySeconds", "revisionHistoryLimit")
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if isinstance(deadline, int):
        causes += fe.nonnegative("spec.progressDeadlineSeconds", deadline)
        if deadline <= ready:
            causes.append(
                fe.invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
    return causes


def _strategy(strategy: Obj) -> list[Cause]:
    """``ValidateDeploymentStrategy`` and ``ValidateRollingUpdateDeployment``."""
    kind, rolling = strategy.get("type"), strategy.get("rollingUpdate")
    if kind == "Recreate":
        if rolling is not None:
            return [
                fe.forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                )
            ]
        return []
    if kind != "RollingUpdate":
        return [fe.not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate"))]
    rolling = rolling or {}
    where = "spec.strategy.rollingUpdate"
    causes = _int_or_percent(f"{where}.maxUnavailable", rolling.get("maxUnavailable"))
    causes += _int_or_percent(f"{where}.maxSurge", rolling.get("maxSurge"))
    if _scalar(rolling.get("maxUnavailable")) == 0 and _scalar(rolling.get("maxSurge")) == 0:
        causes.append(
            fe.invalid(
                f"{where}.maxUnavailable",
                fe.Raw(fe.int_or_string(rolling.get("maxUnavailable"))),
                "may not be 0 when `maxSurge` is 0",
            )
        )
    unavailable = rolling.get("maxUnavailable")
    if isinstance(unavailable, str) and _scalar(unavailable) > 100:
        causes.append(
            fe.invalid(
                f"{where}.maxUnavailable",
                fe.Raw(fe.int_or_string(unavailable)),
                "must not be greater than 100%",
            )
        )
    return causes


def _int_or_percent(where: str, value: Any) -> list[Cause]:
    """``ValidatePositiveIntOrPercent``."""
    if isinstance(value, str):
        if fe.matches(fe.PERCENT_FMT, value):
            return []
        return [fe.invalid(where, fe.Raw(fe.int_or_string(value)), fe.PERCENT_MSG)]
    return fe.nonnegative(where, value)


def _scalar(value: Any) -> int:
    """``getIntOrPercentValue``: the number of an int or a valid percent, else 0."""
    if isinstance(value, str):
        return int(value[:-1]) if fe.matches(fe.PERCENT_FMT, value) else 0
    return value if isinstance(value, int) else 0


def _replicaset(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(spec, "replicas") + _selected("replicaset", spec)
    causes += podrules.check_template("spec.template", _template(spec), ("Always",))
    return causes + _nonnegative(spec, "minReadySeconds")


def _statefulset(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateStatefulSetSpec``."""
    causes: list[Cause] = []
    policy = spec.get("podManagementPolicy")
    if policy not in ("OrderedReady", "Parallel"):
        causes.append(
            fe.invalid("spec.podManagementPolicy", policy, "must be 'OrderedReady' or 'Parallel'")
        )
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") not in ("RollingUpdate", "OnDelete"):
        shown = fe.Raw(
            f"apps.StatefulSetUpdateStrategy{{Type:{fe.go_quote(str(strategy.get('type')))}, "
            "RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)(nil)}"
        )
        causes.append(
            fe.invalid("spec.updateStrategy", shown, "must be 'RollingUpdate' or 'OnDelete'")
        )
    elif strategy.get("type") == "OnDelete" and strategy.get("rollingUpdate") is not None:
        causes.append(
            fe.invalid(
                "spec.updateStrategy.rollingUpdate",
                fe.Raw("&apps.RollingUpdateStatefulSetStrategy{}"),
                "only allowed for updateStrategy 'RollingUpdate'",
            )
        )
    causes += _nonnegative(spec, "replicas", "minReadySeconds")
    causes += _selected("statefulset", spec)
    return causes + _statefulset_template(_template(spec))


def _statefulset_template(template: Obj) -> list[Cause]:
    """``ValidatePodTemplateSpecForStatefulSet``: labels and annotations only (the pod spec is
    not validated: its volume mounts may name claim templates), the restart policy Always."""
    meta = template.get("metadata") or {}
    causes = podrules.check_labels("spec.template.labels", meta.get("labels") or {})
    causes += podrules.check_annotations("spec.template.annotations", meta.get("annotations") or {})
    policy = (template.get("spec") or {}).get("restartPolicy")
    if policy != "Always":
        causes.append(fe.not_supported("spec.template.spec.restartPolicy", policy, ("Always",)))
    return causes


def _job(obj: Obj, spec: Obj) -> list[Cause]:
    causes = _nonnegative(
        spec, "parallelism", "completions", "activeDeadlineSeconds", "backoffLimit"
    )
    return causes + podrules.check_template(
        "spec.template", _template(spec), ("OnFailure", "Never")
    )


def _cronjob(obj: Obj, spec: Obj) -> list[Cause]:
    """``ValidateCronJobCreate``: name length, schedule, time zone, the job template."""
    causes: list[Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        causes.append(fe.invalid("metadata.name", name, "must be no more than 52 characters"))
    causes += _schedule(spec)
    zone = spec.get("timeZone")
    if zone is not None:
        causes += _time_zone(str(zone))
    causes += _nonnegative(
        spec, "startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"
    )
    job = (spec.get("jobTemplate") or {}).get("spec") or {}
    return causes + podrules.check_template(
        "spec.jobTemplate.spec.template", _template(job), ("OnFailure", "Never")
    )


def _schedule(spec: Obj) -> list[Cause]:
    schedule = spec.get("schedule")
    if not schedule:
        return [fe.required("spec.schedule")]
    causes: list[Cause] = []
    try:
        parse_schedule(str(schedule))
    except CronError as exc:
        causes.append(fe.invalid("spec.schedule", schedule, str(exc)))
    if "TZ" in str(schedule):
        causes.append(
            fe.invalid(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            )
        )
    return causes


def _time_zone(zone: str) -> list[Cause]:
    """``validateTimeZone``: an IANA name ``time.LoadLocation`` knows."""
    if not zone:
        return [fe.invalid("spec.timeZone", zone, "timeZone must be nil or non-empty string")]
    if zone.lower() == "local":
        return [
            fe.invalid(
                "spec.timeZone",
                zone,
                "timeZone must be an explicit time zone as "
                "defined in https://www.iana.org/time-zones",
            )
        ]
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return [fe.invalid("spec.timeZone", zone, f"unknown time zone {zone}")]
    return []


def _pod(obj: Obj, spec: Obj) -> list[Cause]:
    return podrules.check_pod_spec("spec", spec, ("Always", "OnFailure", "Never"))


def _pvc(obj: Obj, spec: Obj) -> list[Cause]:
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


def _configmap(obj: Obj, spec: Obj) -> list[Cause]:
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


def _secret(obj: Obj, spec: Obj) -> list[Cause]:
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


def _service(obj: Obj, spec: Obj) -> list[Cause]:
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


CHECKS: dict[str, Callable[[Obj, Obj], list[Cause]]] = {
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "StatefulSet": _statefulset,
    "Job": _job,
    "CronJob": _cronjob,
    "Pod": _pod,
    "PersistentVolumeClaim": _pvc,
    "ConfigMap": _configmap,
    "Secret": _secret,
    "Service": _service,
}
_TEMPLATES = {
    "Deployment": "spec.template",
    "ReplicaSet": "spec.template",
    "StatefulSet": "spec.template",
    "Job": "spec.template",
}


def template_warnings(kind: str, obj: Obj) -> list[str]:
    """The pod warnings of a write of this object (``GetWarningsForPodTemplate``...)."""
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    if kind == "Pod":
        return podrules.pod_warnings("spec", spec or {})
    if kind == "CronJob":
        job = ((spec or {}).get("jobTemplate") or {}).get("spec") or {}
        return podrules.template_warnings("spec.jobTemplate.spec.template", _template(job))
    if kind in _TEMPLATES:
        return podrules.template_warnings(_TEMPLATES[kind], _template(spec or {}))
    return []


def update_errors(kind: str, obj: Obj, old: Obj) -> list[Cause]:
    """The fields an update may not change, per kind."""
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    causes: list[Cause] = []
    immutable = {
        "Deployment": ("selector",),
        "ReplicaSet": ("selector",),
        "Job": ("selector", "template", "completions", "completionMode"),
    }.get(kind, ())
    for key in immutable:
        if new_spec.get(key) != old_spec.get(key):
            causes.append(
                fe.invalid(
                    f"spec.{key}", fe.Raw(_struct(key, new_spec.get(key))), "field is immutable"
                )
            )
    if kind == "StatefulSet":
        causes += _statefulset_update(new_spec, old_spec)
    elif kind == "PersistentVolumeClaim":
        causes += _pvc_update(obj, old)
    elif kind == "Service":
        causes += _service_update(new_spec, old_spec)
    return causes


def _struct(key: str, value: Any) -> str:
    """The new value as the immutability error prints it (a pod template abridged)."""
    if key == "selector":
        return fe.label_selector(value)
    return fe.go_value(value) if not isinstance(value, dict) else "core.PodTemplateSpec{...}"


def _statefulset_update(new_spec: Obj, old_spec: Obj) -> list[Cause]:
    """``ValidateStatefulSetUpdate`` of Kubernetes 1.32."""
    rest = {k: v for k, v in new_spec.items() if k not in _STS_UPDATABLE}
    before = {k: v for k, v in old_spec.items() if k not in _STS_UPDATABLE}
    if rest == before:
        return []
    listed = ", ".join(f"'{k}'" for k in _STS_UPDATABLE[:-1])
    return [
        fe.forbidden(
            "spec",
            f"updates to statefulset spec for fields other than {listed} "
            f"and '{_STS_UPDATABLE[-1]}' are forbidden",
        )
    ]


def _pvc_update(obj: Obj, old: Obj) -> list[Cause]:
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


def _service_update(new_spec: Obj, old_spec: Obj) -> list[Cause]:
    before, after = old_spec.get("clusterIPs") or [], new_spec.get("clusterIPs") or []
    if before and after and before[0] != after[0]:
        return [fe.invalid("spec.clusterIPs[0]", after, "may not change once set")]
    return []
