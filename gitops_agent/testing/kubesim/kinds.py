"""The resource types kubesim serves: group, version, kind, plural, scope and subresources.

Every other module looks a resource up here (by plural and group/version, or by kind);
discovery, the OpenAPI documents and the request router are built from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource: ``apps/v1`` ``deployments`` of kind ``Deployment``."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    has_generation: bool = False
    verbs: tuple[str, ...] = ALL_VERBS

    @property
    def api_version(self) -> str:
        """``apps/v1`` or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def key(self) -> str:
        """Store key of the resource: ``apps/v1/deployments``, ``/v1/pods``."""
        return f"{self.group}/{self.version}/{self.plural}"

    @property
    def qualified(self) -> str:
        """Name as in error messages: ``deployments.apps``, ``pods``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


_ALL = ("all",)
RESOURCES: tuple[ResourceType, ...] = (
    ResourceType(
        "",
        "v1",
        "Namespace",
        "namespaces",
        namespaced=False,
        short_names=("ns",),
        subresources=("status", "finalize"),
    ),
    ResourceType("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    ResourceType("", "v1", "Secret", "secrets"),
    ResourceType(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        short_names=("pvc",),
        subresources=("status",),
    ),
    ResourceType(
        "",
        "v1",
        "Pod",
        "pods",
        short_names=("po",),
        categories=_ALL,
        subresources=("status", "log"),
    ),
    ResourceType(
        "",
        "v1",
        "Service",
        "services",
        short_names=("svc",),
        categories=_ALL,
        subresources=("status",),
    ),
    ResourceType("", "v1", "Event", "events", short_names=("ev",)),
    ResourceType(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=_ALL,
        subresources=("status", "scale"),
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=_ALL,
        subresources=("status", "scale"),
        has_generation=True,
    ),
    ResourceType(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=_ALL,
        subresources=("status", "scale"),
        has_generation=True,
    ),
    ResourceType("apps", "v1", "ControllerRevision", "controllerrevisions"),
    ResourceType(
        "batch", "v1", "Job", "jobs", categories=_ALL, subresources=("status",), has_generation=True
    ),
    ResourceType(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        short_names=("cj",),
        categories=_ALL,
        subresources=("status",),
        has_generation=True,
    ),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases"),
    # the core Events in another version (``eventsapi.py``); nothing is stored under it
    ResourceType("events.k8s.io", "v1", "Event", "events", short_names=("ev",)),
    ResourceType(
        "", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)
    ),
    ResourceType(
        "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False
    ),
    ResourceType(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        namespaced=False,
    ),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    ResourceType(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        subresources=("status",),
        has_generation=True,
    ),
    ResourceType(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        namespaced=False,
        verbs=("create",),
    ),
)

GROUP_VERSIONS: tuple[tuple[str, str], ...] = tuple(
    dict.fromkeys((r.group, r.version) for r in RESOURCES)
)

_BY_PATH = {(r.group, r.version, r.plural): r for r in RESOURCES}
_BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}


def by_path(group: str, version: str, plural: str) -> ResourceType | None:
    """The resource served at ``/apis/{group}/{version}/{plural}``, or None."""
    return _BY_PATH.get((group, version, plural))


def by_kind(api_version: str, kind: str) -> ResourceType | None:
    """The resource of an object's ``apiVersion`` and ``kind``, or None."""
    return _BY_KIND.get((api_version, kind))


def must(api_version: str, kind: str) -> ResourceType:
    """Like ``by_kind`` for kinds known to be served; raises KeyError otherwise."""
    return _BY_KIND[(api_version, kind)]


NAMESPACES = must("v1", "Namespace")
PODS = must("v1", "Pod")
EVENTS = must("v1", "Event")
EVENTS_V1 = must("events.k8s.io/v1", "Event")
PVCS = must("v1", "PersistentVolumeClaim")
DEPLOYMENTS = must("apps/v1", "Deployment")
STATEFULSETS = must("apps/v1", "StatefulSet")
REPLICASETS = must("apps/v1", "ReplicaSet")
CONTROLLER_REVISIONS = must("apps/v1", "ControllerRevision")
JOBS = must("batch/v1", "Job")
CRONJOBS = must("batch/v1", "CronJob")
SERVICES = must("v1", "Service")
SERVICE_ACCOUNTS = must("v1", "ServiceAccount")
LEASES = must("coordination.k8s.io/v1", "Lease")
CLUSTER_ROLES = must("rbac.authorization.k8s.io/v1", "ClusterRole")
CLUSTER_ROLE_BINDINGS = must("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
ROLES = must("rbac.authorization.k8s.io/v1", "Role")
ROLE_BINDINGS = must("rbac.authorization.k8s.io/v1", "RoleBinding")
ACCESS_REVIEWS = must("authorization.k8s.io/v1", "SelfSubjectAccessReview")
