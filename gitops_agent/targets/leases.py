"""The agent's own objects when it runs highly available in a cluster: its Lease, the Events
about leadership, and the ConfigMap through which a follower hands a webhook to the leader.

``KubeLeaseLock`` is the ``service.leadership.LeaseLock`` port over a ``coordination.k8s.io/v1``
Lease: GET, POST, and PUT at the resourceVersion read (a lost race is a 409). Its Events are
core ``v1`` Events on the Lease, named and filled as client-go's recorder does.
``KubeHints`` is the hint board: a follower that receives a webhook applies one key of the
ConfigMap ``<lease>-hints`` (``poll`` or ``previews``: a fresh value each time); the leader
watches that one ConfigMap (a LIST then a WATCH by name, so RBAC can name it) and calls back
on every new value. Calls go through ``KubeApi`` with a short timeout and no retry budget of
their own: the elector retries on its own schedule. Built by ``service.coordination``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gitops_agent.core import kinds
from gitops_agent.core.leases import LeaseRecord, micro_time
from gitops_agent.errors import TargetError
from gitops_agent.targets.kubeapi import KubeApi

log = logging.getLogger("gitops_agent.leader")
COMPONENT = "gitops-agent"
HINT_KEYS = ("poll", "previews")
WATCH_SECONDS = 60


def _record(obj: Mapping[str, Any]) -> LeaseRecord:
    spec = obj.get("spec") or {}
    return LeaseRecord(
        holder=str(spec.get("holderIdentity") or ""),
        duration=int(spec.get("leaseDurationSeconds") or 0),
        acquired=str(spec.get("acquireTime") or ""),
        renewed=str(spec.get("renewTime") or ""),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str((obj.get("metadata") or {}).get("resourceVersion", "")),
    )


class KubeLeaseLock:
    """A Lease in ``namespace`` named ``name``."""

    def __init__(self, api: KubeApi, namespace: str, name: str, *, identity: str) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.uid = ""

    def _object(self, record: LeaseRecord) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if record.resource_version:
            metadata["resourceVersion"] = record.resource_version
        return {
            "apiVersion": kinds.LEASE.api_version,
            "kind": kinds.LEASE.name,
            "metadata": metadata,
            "spec": {
                "holderIdentity": record.holder,
                "leaseDurationSeconds": record.duration,
                "acquireTime": record.acquired,
                "renewTime": record.renewed,
                "leaseTransitions": record.transitions,
            },
        }

    def _remember(self, obj: Mapping[str, Any]) -> LeaseRecord:
        self.uid = str((obj.get("metadata") or {}).get("uid", "")) or self.uid
        return _record(obj)

    def get(self) -> LeaseRecord | None:
        found = self.api.read(kinds.LEASE, self.namespace, self.name)
        return None if found is None else self._remember(found)

    def create(self, record: LeaseRecord) -> LeaseRecord:
        return self._remember(self.api.create(kinds.LEASE, self.namespace, self._object(record)))

    def update(self, record: LeaseRecord) -> LeaseRecord:
        body = self._object(record)
        return self._remember(self.api.replace(kinds.LEASE, self.namespace, self.name, body))

    def record_event(self, reason: str, message: str) -> None:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "apiVersion": kinds.EVENT.api_version,
            "kind": kinds.EVENT.name,
            "metadata": {"name": f"{self.name}.{time.time_ns():x}", "namespace": self.namespace},
            "involvedObject": {
                "apiVersion": kinds.LEASE.api_version,
                "kind": kinds.LEASE.name,
                "namespace": self.namespace,
                "name": self.name,
                "uid": self.uid,
            },
            "reason": reason,
            "message": message,
            "type": "Normal",
            "source": {"component": f"{COMPONENT}/{self.identity}"},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": COMPONENT,
            "reportingInstance": self.identity,
        }
        try:
            self.api.create(kinds.EVENT, self.namespace, event)
        except TargetError as err:
            log.warning("could not record the %s event: %s", reason, err)


class KubeHints:
    """The ConfigMap ``name`` in ``namespace`` through which followers wake the leader."""

    def __init__(self, api: KubeApi, namespace: str, name: str) -> None:
        self.api = api
        self.namespace = namespace
        self.name = name
        self._seen: dict[str, str] = {}

    def post(self, key: str) -> None:
        """Ask the leader to act now (``poll`` or ``previews``); raises TargetError."""
        value = f"{micro_time(datetime.now(UTC))} {secrets.token_hex(4)}"
        self.api.apply(
            {
                "apiVersion": kinds.CONFIG_MAP.api_version,
                "kind": kinds.CONFIG_MAP.name,
                "metadata": {
                    "name": self.name,
                    "namespace": self.namespace,
                    "labels": {"app.kubernetes.io/name": COMPONENT},
                },
                "data": {key: value},
            }
        )

    def follow(
        self, on_hint: Callable[[str], None], *, active: Callable[[], bool], stop: threading.Event
    ) -> None:
        """Call ``on_hint(key)`` for every new value while ``active()``; returns on ``stop``.
        Errors are logged and the watch starts again after a pause."""
        complained = ""
        while not stop.is_set():
            if not active():
                stop.wait(0.2)
                continue
            try:
                self._watch(on_hint, active, stop)
                complained = ""
            except TargetError as err:
                if str(err) != complained:
                    log.warning("cannot watch for webhooks handed over by followers: %s", err)
                    complained = str(err)
                stop.wait(1.0)

    def _watch(
        self, on_hint: Callable[[str], None], active: Callable[[], bool], stop: threading.Event
    ) -> None:
        listed, version = self._list()
        self._seen = _hints(listed)
        for event in self.api.watch_object(
            kinds.CONFIG_MAP, self.namespace, self.name, since=version, seconds=WATCH_SECONDS
        ):
            if stop.is_set() or not active():
                return
            if event.get("type") in ("ADDED", "MODIFIED"):
                self._deliver(_hints(event.get("object") or {}), on_hint)

    def _list(self) -> tuple[Mapping[str, Any], str]:
        """The ConfigMap (empty when missing) and the resourceVersion to watch from."""
        found, version = self.api.list_named(kinds.CONFIG_MAP, self.namespace, self.name)
        return (found or {}), version

    def _deliver(self, hints: Mapping[str, str], on_hint: Callable[[str], None]) -> None:
        for key, value in hints.items():
            if self._seen.get(key) != value:
                self._seen[key] = value
                on_hint(key)


def _hints(obj: Mapping[str, Any]) -> dict[str, str]:
    data = obj.get("data") or {}
    return {k: str(v) for k, v in data.items() if k in HINT_KEYS} if isinstance(data, dict) else {}
