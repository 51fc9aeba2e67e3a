"""Names of rendered objects, derived from resource and step names, and their limits.

Called by the renderers (every derived name comes from here) and by ``checks`` (a derived
name longer than Kubernetes allows is a validation error, never a failed apply).
"""

from __future__ import annotations

import re

#: Hex digits of the content hash that end a Job's name.
JOB_HASH_LENGTH = 8
#: A Job's name is also its pods' ``job-name`` label value, so at most 63 characters.
MAX_JOB_NAME = 63
#: Service names are DNS-1035 labels: they start with a letter.
DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
DISK_VOLUME = "disk"
STACK_VOLUME = "stack-config"
CONTAINER = "main"


def disk_claim(worker: str) -> str:
    """The PersistentVolumeClaim of a Worker's ``disk`` (Deployment form)."""
    return f"{worker}-disk"


def stack_config(base: str) -> str:
    """The ConfigMap holding a stack's configuration file."""
    return f"{base}-stack"


def files_config(base: str, index: int) -> str:
    """The ConfigMap of the ``index``-th (0-based) directory of projected files."""
    return f"{base}-files" if index == 0 else f"{base}-files-{index + 1}"


def files_volume(index: int) -> str:
    """The pod volume of the ``index``-th directory of projected files."""
    return "files" if index == 0 else f"files-{index + 1}"


def claim_volume(index: int) -> str:
    """The pod volume of the ``index``-th distinct claim of ``use.volumes``."""
    return f"volume-{index + 1}"


def step_base(workflow: str, step: str) -> str:
    """A step's name before its content hash."""
    return f"{workflow}-{step}"


def job(workflow: str, step: str, digest: str) -> str:
    """A step's Job: ``<workflow>-<step>-<hash>``; a changed step gets a new Job."""
    return f"{step_base(workflow, step)}-{digest[:JOB_HASH_LENGTH]}"


def job_name_length(workflow: str, step: str) -> int:
    return len(step_base(workflow, step)) + 1 + JOB_HASH_LENGTH
