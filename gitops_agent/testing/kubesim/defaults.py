"""The API server's defaulting and canonical forms for the served kinds (Kubernetes 1.32).

``apply_defaults(rt, obj)`` mutates a freshly decoded object the way the real server's
defaulting functions do (``pkg/apis/{core,apps,batch}/v1/defaults.go``), materializes the
empty structs Go always serializes (``status: {}``, ``resources: {}``, template
``creationTimestamp: null``) and canonicalizes every Quantity-typed field. Called by
``objects.py`` on every create, update, patch and apply, before validation.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim import errors, quantities
from gitops_agent.testing.kubesim.kinds import ResourceType
from gitops_agent.testing.kubesim.schema import Node, Shape, shared

Obj = dict[str, Any]
_VOLUME_SOURCES_WITH_MODE = ("secret", "configMap", "downwardAPI", "projected")


def apply_defaults(rt: ResourceType, obj: Obj, old: Obj | None = None) -> None:
    """Default ``obj`` (of resource ``rt``) in place, then canonicalize its quantities (the
    parts equal to the stored ``old`` are canonical already)."""
    handler = _BY_KIND.get(rt.kind)
    spec = obj.get("spec")
    if handler is not None:
        handler(obj, spec if isinstance(spec, dict) else obj.setdefault("spec", {}))
    canonicalize(obj, shared().root(rt.group, rt.version, rt.kind), old)


def canonicalize(value: Any, node: Node | None, old: Any = None) -> Any:
    """Rewrite Quantity fields of ``value`` (in place for dicts and lists); return the value.
    Parts equal to ``old`` are left as they are."""
    if node is None or value is None:
        return value
    if node.shape is Shape.QUANTITY:
        try:
            return quantities.canonical(value)
        except quantities.QuantityError as exc:
            raise errors.bad_request(str(exc)) from exc
    if isinstance(value, dict) and node.shape in (Shape.STRUCT, Shape.MAP):
        before = old if isinstance(old, dict) else {}
        for key, item in value.items():
            child = node.child(key)
            if child is not None and child.shape is not Shape.SCALAR:
                known = before.get(key)
                if known is None or item != known:
                    value[key] = canonicalize(item, child, known)
    elif (
        isinstance(value, list)
        and node.shape is Shape.LIST
        and node.elem is not None
        and node.elem.shape is not Shape.SCALAR
    ):
        stored = old if isinstance(old, list) else []
        for i, item in enumerate(value):
            known = stored[i] if i < len(stored) else None
            if known is None or item != known:
                value[i] = canonicalize(item, node.elem, known)
    return value


def _dict(parent: Obj, key: str) -> Obj:
    """``parent[key]`` as a dict, creating an empty one when missing or null."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = {}
        parent[key] = value
    return value


def default_template(template: Obj, *, is_pod: bool = False) -> None:
    """A PodTemplateSpec: ``metadata.creationTimestamp: null`` and the pod spec defaults."""
    meta = _dict(template, "metadata")
    meta.setdefault("creationTimestamp", None)
    default_pod_spec(_dict(template, "spec"), is_pod=is_pod)


def default_pod_spec(spec: Obj, *, is_pod: bool = False) -> None:
    """``SetDefaults_PodSpec`` plus containers, volumes and probes (and pod-only extras)."""
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                default_container(container, is_pod=is_pod)
    for volume in spec.get("volumes") or []:
        if isinstance(volume, dict):
            default_volume(volume)
    if is_pod:
        spec.setdefault("enableServiceLinks", True)


def default_container(container: Obj, *, is_pod: bool = False) -> None:
    """``SetDefaults_Container``: pull policy by tag, termination message path and policy."""
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = (
            "Always" if _image_tag(container) == "latest" else ("IfNotPresent")
        )
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    resources = _dict(container, "resources")
    if is_pod and isinstance(resources.get("limits"), dict):
        requests = _dict(resources, "requests")
        for name, value in resources["limits"].items():
            requests.setdefault(name, value)
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            default_probe(container[probe])
    for handler in (container.get("lifecycle") or {}).values():
        if isinstance(handler, dict) and isinstance(handler.get("httpGet"), dict):
            _default_http_get(handler["httpGet"])
    for env in container.get("env") or []:
        _default_env(env)


def _image_tag(container: Obj) -> str:
    image = str(container.get("image") or "")
    if "@" in image:
        image = image.split("@", 1)[0]
        return image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    last = image.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else "latest"


def _default_env(env: Any) -> None:
    source = env.get("valueFrom") if isinstance(env, dict) else None
    if not isinstance(source, dict):
        return
    if isinstance(source.get("fieldRef"), dict):
        source["fieldRef"].setdefault("apiVersion", "v1")
    if isinstance(source.get("resourceFieldRef"), dict):
        source["resourceFieldRef"].setdefault("divisor", "0")


def default_probe(probe: Obj) -> None:
    """``SetDefaults_Probe`` and its HTTP action."""
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _default_http_get(probe["httpGet"])


def _default_http_get(action: Obj) -> None:
    action.setdefault("path", "/")
    action.setdefault("scheme", "HTTP")


def default_volume(volume: Obj) -> None:
    """``SetDefaults_Volume`` (emptyDir when no source) and the sources' ``defaultMode``."""
    if set(volume) <= {"name"}:
        volume["emptyDir"] = {}
    for key in _VOLUME_SOURCES_WITH_MODE:
        if isinstance(volume.get(key), dict):
            volume[key].setdefault("defaultMode", 420)
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")
    ephemeral = volume.get("ephemeral")
    if isinstance(ephemeral, dict) and isinstance(ephemeral.get("volumeClaimTemplate"), dict):
        default_pvc_spec(_dict(ephemeral["volumeClaimTemplate"], "spec"))


def default_pvc_spec(spec: Obj) -> None:
    spec.setdefault("volumeMode", "Filesystem")
    _dict(spec, "resources")


def _deployment(obj: Obj, spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    strategy = _dict(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = _dict(strategy, "rollingUpdate")
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    default_template(_dict(spec, "template"))
    _dict(obj, "status")


def _statefulset(obj: Obj, spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = _dict(spec, "updateStrategy")
    if not strategy.get("type"):  # an explicit RollingUpdate gets no rollingUpdate struct
        strategy["type"] = "RollingUpdate"
        _dict(strategy, "rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    policy = _dict(spec, "persistentVolumeClaimRetentionPolicy")
    policy.setdefault("whenDeleted", "Retain")
    policy.setdefault("whenScaled", "Retain")
    default_template(_dict(spec, "template"))
    for claim in spec.get("volumeClaimTemplates") or []:
        if isinstance(claim, dict):
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            _dict(claim, "metadata").setdefault("creationTimestamp", None)
            default_pvc_spec(_dict(claim, "spec"))
            _dict(claim, "status").setdefault("phase", "Pending")
    status = _dict(obj, "status")
    status.setdefault("replicas", 0)
    status.setdefault("availableReplicas", 0)


def _replicaset(obj: Obj, spec: Obj) -> None:
    spec.setdefault("replicas", 1)
    default_template(_dict(spec, "template"))
    _dict(obj, "status").setdefault("replicas", 0)


def _job(obj: Obj, spec: Obj) -> None:
    labels = (spec.get("template") or {}).get("metadata", {}).get("labels")
    meta = _dict(obj, "metadata")
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)
    default_job_spec(spec)
    _dict(obj, "status")


def default_job_spec(spec: Obj) -> None:
    """``SetDefaults_Job`` on a Job's spec."""
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2147483647 if "backoffLimitPerIndex" in spec else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault(
        "podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    )
    default_template(_dict(spec, "template"))


def _cronjob(obj: Obj, spec: Obj) -> None:
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_template = _dict(spec, "jobTemplate")
    _dict(job_template, "metadata").setdefault("creationTimestamp", None)
    default_template(_dict(_dict(job_template, "spec"), "template"))
    _dict(obj, "status")


def _pod(obj: Obj, spec: Obj) -> None:
    default_pod_spec(spec, is_pod=True)
    status = _dict(obj, "status")
    status.setdefault("phase", "Pending")


def _service(obj: Obj, spec: Obj) -> None:
    spec.setdefault("sessionAffinity", "None")
    spec.setdefault("type", "ClusterIP")
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if kind in ("NodePort", "LoadBalancer", "ClusterIP"):
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if kind == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    _dict(_dict(obj, "status"), "loadBalancer")


def _pvc(obj: Obj, spec: Obj) -> None:
    default_pvc_spec(spec)
    _dict(obj, "status").setdefault("phase", "Pending")


def _namespace(obj: Obj, spec: Obj) -> None:
    meta = _dict(obj, "metadata")
    if meta.get("name"):
        _dict(meta, "labels")["kubernetes.io/metadata.name"] = meta["name"]
    _dict(obj, "spec").setdefault("finalizers", ["kubernetes"])
    _dict(obj, "status").setdefault("phase", "Active")


def _secret(obj: Obj, spec: Obj) -> None:
    if not obj.get("spec"):
        obj.pop("spec", None)
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = _dict(obj, "data")
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()


def _no_spec(obj: Obj, spec: Obj) -> None:
    if not obj.get("spec"):
        obj.pop("spec", None)


def _lease(obj: Obj, spec: Obj) -> None:
    """A Lease's spec is a plain struct: always present, nothing defaulted."""


def _event(obj: Obj, spec: Obj) -> None:
    _no_spec(obj, spec)
    _dict(obj, "involvedObject")
    _dict(obj, "source")
    for key in ("firstTimestamp", "lastTimestamp", "eventTime"):
        obj.setdefault(key, None)
    obj.setdefault("reportingComponent", "")
    obj.setdefault("reportingInstance", "")


_BY_KIND: dict[str, Callable[[Obj, Obj], None]] = {
    "Deployment": _deployment,
    "StatefulSet": _statefulset,
    "ReplicaSet": _replicaset,
    "Job": _job,
    "CronJob": _cronjob,
    "Pod": _pod,
    "Service": _service,
    "PersistentVolumeClaim": _pvc,
    "Namespace": _namespace,
    "Secret": _secret,
    "ConfigMap": _no_spec,
    "Event": _event,
    "Lease": _lease,
}
