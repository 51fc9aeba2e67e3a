"""The label and annotation names the agent writes on target objects (DESIGN §4.3).

Written by ``core.rendering``; read by the planner, the status model and the Kubernetes
target (which lists objects by ``owner`` and deletes only what names its owner). One
project-owned prefix, ``gitops-agent.dataos.info/``, for every name.
"""

from __future__ import annotations

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

# Annotation on a CronJob: the Workflow's ``schedule.endOn``, as written.
END_ON = f"{PREFIX}end-on"

#: Annotations left out of the content hash: they change without the object changing.
UNHASHED_ANNOTATIONS = frozenset({REVISION, CONTENT_HASH})


def owner_selector(owner: str) -> str:
    """The label selector of every object an agent named ``owner`` manages."""
    return f"{MANAGED_BY}={MANAGER},{OWNER}={owner}"
