"""Server-side printing: ``meta.k8s.io/v1`` ``Table`` responses for ``kubectl get``.

kubectl asks for ``application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the columns the
server chooses. ``to_table(rt, objects, include)`` builds the same columns the real server
shows for the served kinds (NAME, READY, STATUS, AGE...). Called by ``handlers.py``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from gitops_agent.testing.kubesim.kinds import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, Callable[[Obj], Any]]


def age(created: str | None, now: float | None = None) -> str:
    """kubectl's human duration of an RFC 3339 timestamp (``5s``, ``3m2s``, ``4h``, ``2d``)."""
    if not created:
        return "<unknown>"
    start = dt.datetime.strptime(created[:19] + "Z", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    seconds = max(0, int((now or time.time()) - start.timestamp()))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


def _meta(obj: Obj, key: str) -> Any:
    return (obj.get("metadata") or {}).get(key)


def _status(obj: Obj, key: str, default: Any = 0) -> Any:
    return (obj.get("status") or {}).get(key, default)


def _spec(obj: Obj, key: str, default: Any = 0) -> Any:
    return (obj.get("spec") or {}).get(key, default)


def _pod_ready(obj: Obj) -> str:
    statuses = _status(obj, "containerStatuses", []) or []
    total = len(_spec(obj, "containers", []) or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(obj: Obj) -> str:
    if _meta(obj, "deletionTimestamp"):
        return "Terminating"
    for status in _status(obj, "containerStatuses", []) or []:
        state = status.get("state") or {}
        reason = (state.get("waiting") or state.get("terminated") or {}).get("reason")
        if reason and reason != "Completed":
            return str(reason)
    return str(_status(obj, "reason", "") or _status(obj, "phase", "Pending"))


def _restarts(obj: Obj) -> int:
    return sum(int(s.get("restartCount", 0)) for s in _status(obj, "containerStatuses", []) or [])


def _job_status(obj: Obj) -> str:
    """``printJob``'s status column (1.32)."""
    true = {
        c.get("type") for c in _status(obj, "conditions", []) or [] if c.get("status") == "True"
    }
    for kind in ("Complete", "Failed"):
        if kind in true:
            return kind
    if _meta(obj, "deletionTimestamp"):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if kind in true:
            return kind
    return "Running"


def _event_times(obj: Obj) -> tuple[str, str]:
    """``printEvent``: first and last seen, from ``eventTime`` and ``series`` when the
    deprecated timestamps are unset."""
    first = age(obj.get("firstTimestamp") or obj.get("eventTime"))
    last = age(obj.get("lastTimestamp")) if obj.get("lastTimestamp") else first
    if obj.get("series"):
        last = age((obj.get("series") or {}).get("lastObservedTime"))
    return first, last


def _event_object(obj: Obj) -> str:
    ref = obj.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _event_source(obj: Obj) -> str:
    source = obj.get("source") or {}
    component = source.get("component") or obj.get("reportingComponent") or ""
    instance = source.get("host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def _controller(obj: Obj) -> str:
    """``printControllerRevision``: the controller as ``statefulset.apps/web``."""
    for ref in _meta(obj, "ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = str(ref.get("kind", "")).lower()
            return f"{kind}.{group}/{ref.get('name')}" if group else f"{kind}/{ref.get('name')}"
    return "<none>"


def _ports(obj: Obj) -> str:
    """``80/TCP``, or ``80:30080/TCP`` with a node port, as ``kubectl get svc`` prints them."""
    ports = _spec(obj, "ports", []) or []
    return (
        ",".join(
            f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}"
            f"/{p.get('protocol', 'TCP')}"
            for p in ports
        )
        or "<none>"
    )


_NAME: Column = ("Name", "string", lambda o: _meta(o, "name"))
_AGE: Column = ("Age", "string", lambda o: age(_meta(o, "creationTimestamp")))
WIDE = {"Event": ("Subobject", "Source", "First Seen", "Count", "Name")}  # priority 1
COLUMNS: dict[str, list[Column]] = {
    "Namespace": [_NAME, ("Status", "string", lambda o: _status(o, "phase", "")), _AGE],
    "Pod": [
        _NAME,
        ("Ready", "string", _pod_ready),
        ("Status", "string", _pod_status),
        ("Restarts", "string", lambda o: str(_restarts(o))),
        _AGE,
    ],
    "Deployment": [
        _NAME,
        ("Ready", "string", lambda o: f"{_status(o, 'readyReplicas')}/{_spec(o, 'replicas')}"),
        ("Up-to-date", "integer", lambda o: _status(o, "updatedReplicas")),
        ("Available", "integer", lambda o: _status(o, "availableReplicas")),
        _AGE,
    ],
    "StatefulSet": [
        _NAME,
        ("Ready", "string", lambda o: f"{_status(o, 'readyReplicas')}/{_spec(o, 'replicas')}"),
        _AGE,
    ],
    "ReplicaSet": [
        _NAME,
        ("Desired", "integer", lambda o: _spec(o, "replicas")),
        ("Current", "integer", lambda o: _status(o, "replicas")),
        ("Ready", "integer", lambda o: _status(o, "readyReplicas")),
        _AGE,
    ],
    "Job": [
        _NAME,
        ("Status", "string", _job_status),
        (
            "Completions",
            "string",
            lambda o: f"{_status(o, 'succeeded')}/{_spec(o, 'completions', 1)}",
        ),
        _AGE,
    ],
    "CronJob": [
        _NAME,
        ("Schedule", "string", lambda o: _spec(o, "schedule", "")),
        ("Suspend", "boolean", lambda o: _spec(o, "suspend", False)),
        ("Active", "integer", lambda o: len(_status(o, "active", []) or [])),
        (
            "Last Schedule",
            "string",
            lambda o: (
                age(_status(o, "lastScheduleTime", None))
                if _status(o, "lastScheduleTime", None)
                else "<none>"
            ),
        ),
        _AGE,
    ],
    "ConfigMap": [
        _NAME,
        ("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})),
        _AGE,
    ],
    "Secret": [
        _NAME,
        ("Type", "string", lambda o: o.get("type", "")),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
        _AGE,
    ],
    "Service": [
        _NAME,
        ("Type", "string", lambda o: _spec(o, "type", "")),
        ("Cluster-IP", "string", lambda o: _spec(o, "clusterIP", "<none>")),
        ("External-IP", "string", lambda o: "<none>"),
        ("Port(s)", "string", _ports),
        _AGE,
    ],
    "PersistentVolumeClaim": [
        _NAME,
        ("Status", "string", lambda o: _status(o, "phase", "")),
        ("Volume", "string", lambda o: _spec(o, "volumeName", "")),
        ("Capacity", "string", lambda o: (_status(o, "capacity", {}) or {}).get("storage", "")),
        (
            "Access Modes",
            "string",
            lambda o: ",".join(
                {
                    "ReadWriteOnce": "RWO",
                    "ReadOnlyMany": "ROX",
                    "ReadWriteMany": "RWX",
                    "ReadWriteOncePod": "RWOP",
                }.get(m, m)
                for m in _status(o, "accessModes", []) or []
            ),
        ),
        ("StorageClass", "string", lambda o: _spec(o, "storageClassName", "")),
        _AGE,
    ],
    "Event": [
        ("Last Seen", "string", lambda o: _event_times(o)[1]),
        ("Type", "string", lambda o: o.get("type", "")),
        ("Reason", "string", lambda o: o.get("reason", "")),
        ("Object", "string", _event_object),
        ("Subobject", "string", lambda o: (o.get("involvedObject") or {}).get("fieldPath", "")),
        ("Source", "string", _event_source),
        ("Message", "string", lambda o: str(o.get("message", "")).strip()),
        ("First Seen", "string", lambda o: _event_times(o)[0]),
        (
            "Count",
            "integer",
            lambda o: int(o.get("count") or (o.get("series") or {}).get("count") or 1),
        ),
        ("Name", "string", lambda o: _meta(o, "name")),
    ],
    "ControllerRevision": [
        _NAME,
        ("Controller", "string", _controller),
        ("Revision", "integer", lambda o: o.get("revision", 0)),
        _AGE,
    ],
    "Lease": [_NAME, ("Holder", "string", lambda o: _spec(o, "holderIdentity", "")), _AGE],
}


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


def to_table(
    rt: ResourceType,
    objects: list[Obj],
    include: str = "Metadata",
    *,
    resource_version: str = "",
    continue_token: str = "",
    definitions: bool = True,
) -> Obj:
    """A ``Table`` with one row per object and the kind's columns."""
    columns = COLUMNS.get(rt.kind, [_NAME, _AGE])
    rows = []
    for obj in objects:
        row: Obj = {"cells": [fn(obj) for _, _, fn in columns]}
        embedded = _row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    meta: Obj = {"resourceVersion": resource_version}
    if continue_token:
        meta["continue"] = continue_token
    definitions_list = [
        {
            "name": name,
            "type": kind,
            "format": "name" if name == "Name" else "",
            "description": name,
            "priority": 1 if name in WIDE.get(rt.kind, ()) else 0,
        }
        for name, kind, _ in columns
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": definitions_list if definitions else [],
        "rows": rows,
    }
