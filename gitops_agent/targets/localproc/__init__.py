"""The local process supervisor: the embedded local target's runtime (no cluster needed).

A daemon per state directory keeps *process groups* running: a Worker's N replicas
(``service`` mode: restarted with exponential backoff, reported ``failed`` in a crash loop,
rolled one by one on a spec change) or a workflow step's one-shot run (``job`` mode,
succeeded or failed by exit code). Logs are captured per replica and rotated; the daemon
can be stopped and started again without duplicating a process (it adopts them).

The public API, for the local target adapter::

    runtime = LocalRuntime(state_dir)          # default $XDG_STATE_HOME/gitops-agent/local
    runtime.apply(ProcessGroupSpec("worker.public.sleeper", ("sleep", "100"), replicas=2))
    runtime.get("worker.public.sleeper")       # GroupStatus | None
    runtime.logs("worker.public.sleeper", tail=20, follow=True, timeout=5)
    runtime.remove("worker.public.sleeper")
    states.worker_state(runtime.get(...))      # -> core.status.WorkerState

See README.md in this directory for the state directory, restart policy and limits.
"""

from gitops_agent.targets.localproc.client import LocalRuntime
from gitops_agent.targets.localproc.layout import StateLayout, default_state_dir
from gitops_agent.targets.localproc.logs import ReplicaLogLine
from gitops_agent.targets.localproc.records import (
    GroupPhase,
    GroupStatus,
    ReplicaState,
    ReplicaStatus,
)
from gitops_agent.targets.localproc.settings import SupervisorSettings
from gitops_agent.targets.localproc.specs import GroupMode, ProcessGroupSpec, launch_fingerprint

__all__ = [
    "GroupMode",
    "GroupPhase",
    "GroupStatus",
    "LocalRuntime",
    "ProcessGroupSpec",
    "ReplicaLogLine",
    "ReplicaState",
    "ReplicaStatus",
    "StateLayout",
    "SupervisorSettings",
    "default_state_dir",
    "launch_fingerprint",
]
