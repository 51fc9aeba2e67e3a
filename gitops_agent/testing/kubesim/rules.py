"""Semantic validation of written objects: the 422 ``Invalid`` errors of the real server.

``check(rt, obj, old)`` returns the field errors (``Cause``) the API server's validation
would report for names, labels, selectors, pod templates, resources, ports and the
immutable fields of updates. The messages follow ``k8s.io/apimachinery`` validation texts.
Called by ``objects.py`` after defaulting; an empty list means valid.
"""

from __future__ import annotations

import re
from typing import Any

from gitops_agent.testing.kubesim import quantities
from gitops_agent.testing.kubesim.cron import CronError, parse_schedule
from gitops_agent.testing.kubesim.errors import Cause
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.selectors import selector_matches

Obj = dict[str, Any]
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_DNS1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_QUALIFIED_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def go_value(value: Any) -> str:
    """A value printed the way Go's ``%#v`` prints it in field errors (close enough)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return str(value)


def invalid(field: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {go_value(value)}: {detail}", field)


def required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), field)


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def unsupported(field: str, value: Any, allowed: tuple[str, ...]) -> Cause:
    listed = ", ".join(f'"{a}"' for a in allowed)
    return Cause(
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {listed}",
        field,
    )


def check(rt: ResourceType, obj: Obj, old: Obj | None) -> list[Cause]:
    """All field errors of ``obj``; ``old`` is the stored object on updates."""
    causes = check_meta(rt, obj.get("metadata") or {})
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    checker = _BY_KIND.get(rt.kind)
    if checker is not None:
        causes.extend(checker(obj, spec or {}))
    if old is not None:
        causes.extend(check_immutable(rt, obj, old))
    return causes


def check_meta(rt: ResourceType, meta: Obj) -> list[Cause]:
    """Name (by the kind's naming rule), labels and annotation keys."""
    causes: list[Cause] = []
    name = meta.get("name") or ""
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    elif rt.kind == "Service" and not _DNS1035.match(name):
        causes.append(invalid("metadata.name", name, _DNS1035_MSG))
    elif rt.kind == "Namespace" and not (_LABEL.match(name) and len(name) <= 63):
        causes.append(invalid("metadata.name", name, _LABEL_MSG))
    elif not (_SUBDOMAIN.match(name) and len(name) <= 253):
        causes.append(invalid("metadata.name", name, _SUBDOMAIN_MSG))
    causes.extend(check_labels("metadata.labels", meta.get("labels") or {}))
    for key in meta.get("annotations") or {}:
        causes.extend(_key_errors("metadata.annotations", key))
    return causes


def check_labels(field: str, labels: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in labels.items():
        causes.extend(_key_errors(field, key))
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.match(value):
            causes.append(invalid(field, value, _LABEL_VALUE_MSG))
    return causes


def _key_errors(field: str, key: str) -> list[Cause]:
    prefix, _, name = key.rpartition("/")
    if len(name) > 63 or not _QUALIFIED.match(name) or (prefix and not _SUBDOMAIN.match(prefix)):
        return [invalid(field, key, _QUALIFIED_MSG)]
    return []


def _workload(kind: str) -> Any:
    def checker(obj: Obj, spec: Obj) -> list[Cause]:
        causes = _replicas(spec)
        selector = spec.get("selector")
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            causes.append(required("spec.selector"))
        elif not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(
                invalid("spec.selector", selector, f"empty selector is invalid for {kind}")
            )
        elif not selector_matches(selector, labels):
            causes.append(
                invalid(
                    "spec.template.metadata.labels",
                    labels,
                    "`selector` does not match template `labels`",
                )
            )
        causes.extend(check_labels("spec.template.metadata.labels", labels))
        causes.extend(check_pod_spec("spec.template.spec", _template_spec(spec), ("Always",)))
        if kind == "deployment":
            causes.extend(_strategy(spec))
        return causes

    return checker


def _template_spec(spec: Obj) -> Obj:
    return ((spec.get("template") or {}).get("spec")) or {}


def _replicas(spec: Obj) -> list[Cause]:
    replicas = spec.get("replicas")
    if isinstance(replicas, int) and replicas < 0:
        return [invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
    return []


def _strategy(spec: Obj) -> list[Cause]:
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("rollingUpdate")
    if strategy.get("type") == "Recreate" and rolling is not None:
        return [
            forbidden(
                "spec.strategy.rollingUpdate",
                "may not be specified when strategy `type` is 'Recreate'",
            )
        ]
    if strategy.get("type") not in ("Recreate", "RollingUpdate"):
        return [
            unsupported("spec.strategy.type", strategy.get("type"), ("Recreate", "RollingUpdate"))
        ]
    if (
        rolling
        and rolling.get("maxUnavailable") in (0, "0%")
        and rolling.get("maxSurge") in (0, "0%")
    ):
        return [
            invalid(
                "spec.strategy.rollingUpdate.maxUnavailable",
                rolling.get("maxUnavailable"),
                "may not be 0 when `maxSurge` is 0",
            )
        ]
    deadline, ready = spec.get("progressDeadlineSeconds"), spec.get("minReadySeconds") or 0
    if isinstance(deadline, int) and deadline <= ready:
        return [
            invalid(
                "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
            )
        ]
    return []


def check_pod_spec(field: str, spec: Obj, restart: tuple[str, ...]) -> list[Cause]:
    """Containers (name, image, ports, resources) and the allowed restart policies."""
    causes: list[Cause] = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(required(f"{field}.containers"))
    seen: set[str] = set()
    for i, container in enumerate(containers):
        where = f"{field}.containers[{i}]"
        causes.extend(_container(where, container, seen))
    policy = spec.get("restartPolicy")
    if policy not in restart:
        causes.append(unsupported(f"{field}.restartPolicy", policy, restart))
    return causes


def _container(where: str, container: Obj, seen: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = container.get("name") or ""
    if name and not (_LABEL.match(name) and len(name) <= 63):
        causes.append(invalid(f"{where}.name", name, _LABEL_MSG))
    elif name in seen:
        causes.append(Cause("FieldValueDuplicate", f'Duplicate value: "{name}"', f"{where}.name"))
    seen.add(name)
    if not container.get("image"):
        causes.append(required(f"{where}.image"))
    for j, port in enumerate(container.get("ports") or []):
        number = port.get("containerPort")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                invalid(
                    f"{where}.ports[{j}].containerPort",
                    number,
                    "must be between 1 and 65535, inclusive",
                )
            )
    causes.extend(_resources(f"{where}.resources", container.get("resources") or {}))
    return causes


def _resources(where: str, resources: Obj) -> list[Cause]:
    causes: list[Cause] = []
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            if quantities.to_number(value) < 0:
                causes.append(
                    invalid(f"{where}.{kind}[{name}]", value, "must be greater than or equal to 0")
                )
    for name, value in requests.items():
        if name in limits and quantities.to_number(value) > quantities.to_number(limits[name]):
            causes.append(
                invalid(
                    f"{where}.requests",
                    value,
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return causes


def _job(obj: Obj, spec: Obj) -> list[Cause]:
    causes = check_pod_spec("spec.template.spec", _template_spec(spec), ("OnFailure", "Never"))
    for key in ("parallelism", "completions", "backoffLimit"):
        value = spec.get(key)
        if isinstance(value, int) and value < 0:
            causes.append(invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
    return causes


def _cronjob(obj: Obj, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(required("spec.schedule"))
    else:
        try:
            parse_schedule(str(schedule))
        except CronError as exc:
            causes.append(invalid("spec.schedule", schedule, str(exc)))
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
    template = (spec.get("jobTemplate") or {}).get("spec") or {}
    causes.extend(
        check_pod_spec(
            "spec.jobTemplate.spec.template.spec", _template_spec(template), ("OnFailure", "Never")
        )
    )
    return causes


def _pvc(obj: Obj, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if not spec.get("accessModes"):
        causes.append(required("spec.accessModes", "at least 1 access mode is required"))
    requests = (spec.get("resources") or {}).get("requests") or {}
    if "storage" not in requests:
        causes.append(required("spec.resources[storage]"))
    return causes


def _configmap(obj: Obj, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    for section in ("data", "binaryData"):
        for key in obj.get(section) or {}:
            if not _CONFIG_KEY.match(key) or len(key) > 253:
                causes.append(
                    invalid(
                        f"{section}[{key}]",
                        key,
                        "a valid config key must consist of alphanumeric "
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or "
                        "'KEY_NAME',  or 'key-name', regex used for validation "
                        "is '[-._a-zA-Z0-9]+')",
                    )
                )
    return causes


def _service(obj: Obj, spec: Obj) -> list[Cause]:
    causes: list[Cause] = []
    if spec.get("type") != "ExternalName" and not spec.get("ports"):
        causes.append(required("spec.ports"))
    for i, port in enumerate(spec.get("ports") or []):
        number = port.get("port")
        if not isinstance(number, int) or not 1 <= number <= 65535:
            causes.append(
                invalid(f"spec.ports[{i}].port", number, "must be between 1 and 65535, inclusive")
            )
    return causes


def _pod(obj: Obj, spec: Obj) -> list[Cause]:
    return check_pod_spec("spec", spec, ("Always", "OnFailure", "Never"))


_BY_KIND: dict[str, Any] = {
    "Deployment": _workload("deployment"),
    "ReplicaSet": _workload("replicaset"),
    "StatefulSet": _workload("statefulset"),
    "Job": _job,
    "CronJob": _cronjob,
    "PersistentVolumeClaim": _pvc,
    "ConfigMap": _configmap,
    "Secret": _configmap,
    "Service": _service,
    "Pod": _pod,
}


def check_immutable(rt: ResourceType, obj: Obj, old: Obj) -> list[Cause]:
    """The fields an update may not change, per kind."""
    new_spec, old_spec = obj.get("spec") or {}, old.get("spec") or {}
    causes: list[Cause] = []
    immutable = {
        "Deployment": ("selector",),
        "ReplicaSet": ("selector",),
        "StatefulSet": ("selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"),
        "Job": ("selector", "template", "completions", "completionMode"),
    }.get(rt.kind, ())
    for key in immutable:
        if new_spec.get(key) != old_spec.get(key):
            causes.append(invalid(f"spec.{key}", new_spec.get(key), "field is immutable"))
    if rt.kind == "PersistentVolumeClaim":
        causes.extend(_pvc_update(new_spec, old_spec))
    if (
        rt.kind == "Service"
        and old_spec.get("clusterIP")
        and new_spec.get("clusterIP") not in (None, "", old_spec.get("clusterIP"))
    ):
        causes.append(
            invalid("spec.clusterIPs[0]", new_spec.get("clusterIP"), "may not change once set")
        )
    return causes


def _pvc_update(new_spec: Obj, old_spec: Obj) -> list[Cause]:
    def strip(spec: Obj) -> Obj:
        out = {k: v for k, v in spec.items() if k not in ("resources", "volumeName")}
        return out

    if strip(new_spec) != strip(old_spec):
        return [
            forbidden(
                "spec",
                "spec is immutable after creation except resources.requests "
                "and volumeAttributesClassName for bound claims",
            )
        ]
    return []
