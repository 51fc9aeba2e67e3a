"""The kinds of object the agent renders, observes and deletes, and the identity of an object.

The one table of kinds (``KINDS``): where the API serves each kind (apiVersion, plural,
namespaced), the order objects are applied in (what an object mounts comes first), which
kinds the agent writes and lists by its owner label (``managed``), and which it lists only
to compute status (``observed``: pods); the Lease and Events of leader election last.
``core.permissions`` derives the RBAC rules the agent needs from this table. The local target's process groups are a kind of
their own. Read by rendering (the kinds it writes), the planner and applier (apply order),
the targets (REST paths, what to list), the status model and diffing.

An object is a plain mapping shaped like a Kubernetes object (``apiVersion``, ``kind``,
``metadata``); ``ObjectKey`` is its identity, with no version (Argo CD and Flux agree).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

KUBERNETES = "kubernetes"
LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of object: where it is served and what the agent does with it."""

    name: str
    api_version: str
    plural: str
    namespaced: bool = True
    managed: bool = False
    observed: bool = False
    target: str = KUBERNETES

    def collection(self, namespace: str = "") -> str:
        """The REST path of the kind's objects (in ``namespace`` when one is given)."""
        group = "api" if "/" not in self.api_version else "apis"
        base = f"/{group}/{self.api_version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def path(self, namespace: str, name: str) -> str:
        """The REST path of one object."""
        return f"{self.collection(namespace)}/{name}"

    @property
    def rank(self) -> int:
        """The position of this kind in apply order."""
        return KINDS.index(self)


NAMESPACE = Kind("Namespace", "v1", "namespaces", namespaced=False)
CONFIG_MAP = Kind("ConfigMap", "v1", "configmaps", managed=True)
SECRET = Kind("Secret", "v1", "secrets")
PERSISTENT_VOLUME_CLAIM = Kind(
    "PersistentVolumeClaim", "v1", "persistentvolumeclaims", managed=True
)
SERVICE = Kind("Service", "v1", "services", managed=True)
STATEFUL_SET = Kind("StatefulSet", "apps/v1", "statefulsets", managed=True)
DEPLOYMENT = Kind("Deployment", "apps/v1", "deployments", managed=True)
JOB = Kind("Job", "batch/v1", "jobs", managed=True)
CRON_JOB = Kind("CronJob", "batch/v1", "cronjobs", managed=True)
POD = Kind("Pod", "v1", "pods", observed=True)
PROCESS_GROUP = Kind(
    "ProcessGroup", "local.gitops-agent.dataos.info/v1", "processgroups", managed=True, target=LOCAL
)
#: What the agent itself uses when it runs in a cluster with leader election: its Lease and
#: the Events it records about leadership. Neither is rendered, observed nor pruned.
LEASE = Kind("Lease", "coordination.k8s.io/v1", "leases")
EVENT = Kind("Event", "v1", "events")

#: Every kind, in apply order: namespaces first, then what an object mounts before it.
KINDS: tuple[Kind, ...] = (
    NAMESPACE,
    CONFIG_MAP,
    SECRET,
    PERSISTENT_VOLUME_CLAIM,
    SERVICE,
    STATEFUL_SET,
    DEPLOYMENT,
    JOB,
    CRON_JOB,
    POD,
    PROCESS_GROUP,
    LEASE,
    EVENT,
)
_BY_NAME = {kind.name: kind for kind in KINDS}

#: The Kubernetes kinds the agent writes, lists by its owner label and prunes.
MANAGED: tuple[Kind, ...] = tuple(k for k in KINDS if k.managed and k.target == KUBERNETES)
#: The workload kinds whose pods make a Worker's status.
WORKLOADS = frozenset({DEPLOYMENT.name, STATEFUL_SET.name})


def kind_named(name: str) -> Kind:
    """The kind called ``name``; ``KeyError`` for a kind the agent does not know."""
    return _BY_NAME[name]


def rank_of(name: str) -> int:
    """The apply-order position of a kind name; unknown kinds go last."""
    kind = _BY_NAME.get(name)
    return kind.rank if kind is not None else len(KINDS)


@dataclass(frozen=True, slots=True, order=True)
class ObjectKey:
    """``apiVersion``, ``kind``, ``namespace`` and ``name`` of an object. The agent writes
    one version of each kind, so the API version stands in for the group."""

    api_version: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def rank(self) -> int:
        """The position of this object's kind in apply order."""
        return rank_of(self.kind)

    def encode(self) -> str:
        """A compact form for inventories: ``apiVersion|kind|namespace|name``."""
        return "|".join((self.api_version, self.kind, self.namespace, self.name))

    @classmethod
    def decode(cls, text: str) -> ObjectKey:
        api_version, kind, namespace, name = text.split("|")
        return cls(api_version, kind, namespace, name)


def key_of(obj: Mapping[str, Any]) -> ObjectKey:
    """The identity of an object."""
    metadata = obj.get("metadata") or {}
    return ObjectKey(
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(metadata.get("namespace", "")),
        str(metadata.get("name", "")),
    )


def apply_order(key: ObjectKey) -> tuple[int, str]:
    """Sort key of objects in apply order: by kind, then by name."""
    return key.rank, key.name
