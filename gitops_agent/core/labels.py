"""The label and annotation names the agent writes on target objects (DESIGN §4.3).

Written by ``core.rendering``; read by the planner, the status model and the targets
(which list objects by ``owner`` and delete only what names their owner). One project-owned
prefix, ``gitops-agent.dataos.info/``, for every name. Also the label selectors built from
them, and the agent's field manager name on the API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PREFIX = "gitops-agent.dataos.info/"

# Labels: on every object and on the pods its workload creates.
MANAGED_BY = f"{PREFIX}managed-by"
OWNER = f"{PREFIX}owner"
RESOURCE_TYPE = f"{PREFIX}resource-type"
RESOURCE_NAME = f"{PREFIX}resource-name"
WORKSPACE = f"{PREFIX}workspace"
BUNDLE = f"{PREFIX}bundle"
STEP = f"{PREFIX}step"

#: The value of ``MANAGED_BY`` on every object this project writes.
MANAGER = "gitops-agent"
#: The field manager of the agent's server-side applies.
FIELD_MANAGER = "gitops-agent"

# Label of the inventory's own ConfigMaps (``"true"``): they are the agent's records, not
# objects of a resource.
INVENTORY = f"{PREFIX}inventory"
# Label of a Worker's pod template: the digest of that template. A Deployment's pods of the
# current template carry it; those of an older ReplicaSet, still winding down, do not.
TEMPLATE = f"{PREFIX}template"
# Label of the history's ConfigMaps: the owner whose cycles they hold. They carry no owner
# label: they are records, never objects of a resource, an orphan or something to prune.
HISTORY = f"{PREFIX}history"

# Annotations on every object.
REVISION = f"{PREFIX}revision"
SOURCE_FILE = f"{PREFIX}source-file"
CONTENT_HASH = f"{PREFIX}content-hash"

# Annotation on pod templates: the hash of the ConfigMaps the pods mount, so that a
# changed file or stack configuration rolls the pods (a mounted ConfigMap alone does not).
CONFIG_HASH = f"{PREFIX}config-hash"

# Annotation on a resource's primary object (a Worker's Deployment or StatefulSet, a
# Workflow's Jobs or CronJob): the DataOS manifest as applied, compact JSON, for ``get -d``.
MANIFEST = f"{PREFIX}manifest"

# Annotation an object's owner puts on it to let the agent take it over (``"true"``); the
# command line's ``--adopt`` does the same for every object of a run.
ADOPT = f"{PREFIX}adopt"

# Annotation on a CronJob: the Workflow's ``schedule.endOn``, as written.
END_ON = f"{PREFIX}end-on"

#: Annotations left out of the content hash: they change without the object changing.
UNHASHED_ANNOTATIONS = frozenset({REVISION, CONTENT_HASH})


def managed_selector() -> str:
    """The label selector of every object any agent of this project manages."""
    return f"{MANAGED_BY}={MANAGER}"


def owner_selector(owner: str) -> str:
    """The label selector of every object an agent named ``owner`` manages."""
    return f"{managed_selector()},{OWNER}={owner}"


def resource_selector(owner: str, resource_type: str, name: str) -> str:
    """The label selector of the objects (and pods) of one resource of ``owner``."""
    return f"{owner_selector(owner)},{RESOURCE_TYPE}={resource_type},{RESOURCE_NAME}={name}"


def labels_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """An object's labels (empty when it has none)."""
    return (obj.get("metadata") or {}).get("labels") or {}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, str]:
    """An object's annotations (empty when it has none)."""
    return (obj.get("metadata") or {}).get("annotations") or {}


def is_inventory(obj: Mapping[str, Any]) -> bool:
    """True for the inventory's own ConfigMaps."""
    return labels_of(obj).get(INVENTORY) == "true"


def uid_of(obj: Mapping[str, Any] | None) -> str:
    """The uid the target gave an object (empty when it has none)."""
    return str(((obj or {}).get("metadata") or {}).get("uid") or "")


def adoptable(obj: Mapping[str, Any]) -> bool:
    """True when the object's owner asked the agent to take it over (the adopt annotation)."""
    return annotations_of(obj).get(ADOPT) == "true"


def managers_of(obj: Mapping[str, Any]) -> list[str]:
    """Who manages an object, from its managedFields: ``manager (operation)``, in order."""
    found: list[str] = []
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if isinstance(entry, Mapping):
            name = f"{entry.get('manager') or 'unknown'} ({entry.get('operation') or '?'})"
            if name not in found:
                found.append(name)
    return found


def is_controlled(obj: Mapping[str, Any]) -> bool:
    """True for an object a controller made on behalf of another (an ownerReference), such as
    the Jobs of a CronJob or the claims of a StatefulSet."""
    return bool((obj.get("metadata") or {}).get("ownerReferences"))
