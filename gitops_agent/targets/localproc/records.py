"""Status records: what the daemon observed of each group, as values and as JSON.

The daemon writes one ``status/<name>.json`` per group after every change; it is both the
client's view (``LocalRuntime.get`` / ``list``) and the daemon's memory across restarts
(pids and their start times are what adoption checks). ``states.py`` turns a
``GroupStatus`` into the core status model.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field, replace
from typing import Any

from gitops_agent.targets.localproc.specs import GroupMode

RECORD_VERSION = 1


class ReplicaState(enum.StrEnum):
    """Where one replica is."""

    PENDING = "pending"  # not started yet (new, scaled up, or waiting its turn in a roll)
    RUNNING = "running"
    BACKOFF = "backoff"  # exited; restarts when its backoff delay is over
    STOPPING = "stopping"  # signalled; waiting for its process group to go
    SUCCEEDED = "succeeded"  # a job replica that exited 0
    FAILED = "failed"  # a job replica that exited non-zero or was killed


class GroupPhase(enum.StrEnum):
    """Where a group is as a whole."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TERMINATING = "terminating"


@dataclass(frozen=True, slots=True)
class ReplicaStatus:
    """One replica: its current process (if any) and its history."""

    index: int
    state: ReplicaState
    _: KW_ONLY
    pid: int | None = None
    start_ticks: int | None = None
    launch_id: str = ""
    fingerprint: str = ""
    restarts: int = 0
    fast_failures: int = 0
    last_exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "state": self.state.value,
            "pid": self.pid,
            "startTicks": self.start_ticks,
            "launchId": self.launch_id,
            "fingerprint": self.fingerprint,
            "restarts": self.restarts,
            "fastFailures": self.fast_failures,
            "lastExitCode": self.last_exit_code,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReplicaStatus:
        return cls(
            int(data["index"]),
            ReplicaState(data["state"]),
            pid=data.get("pid"),
            start_ticks=data.get("startTicks"),
            launch_id=str(data.get("launchId", "")),
            fingerprint=str(data.get("fingerprint", "")),
            restarts=int(data.get("restarts", 0)),
            fast_failures=int(data.get("fastFailures", 0)),
            last_exit_code=data.get("lastExitCode"),
            started_at=data.get("startedAt"),
            finished_at=data.get("finishedAt"),
            message=str(data.get("message", "")),
        )


@dataclass(frozen=True, slots=True)
class GroupStatus:
    """One group as the daemon last saw it.

    ``ready`` counts running replicas; ``failure`` is set while a service replica is in a
    crash loop (the group keeps retrying with backoff); ``fingerprint`` is the launch
    fingerprint of the spec the daemon works towards, so a caller can tell whether its
    last ``apply`` has been seen.
    """

    name: str
    mode: GroupMode
    phase: GroupPhase
    _: KW_ONLY
    desired_replicas: int = 0
    ready: int = 0
    replicas: tuple[ReplicaStatus, ...] = ()
    fingerprint: str = ""
    spec_hash: str = ""
    run_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    failure: str | None = None
    message: str = ""
    stop_grace_seconds: float = 5.0
    updated_at: float = 0.0

    @property
    def up_to_date(self) -> bool:
        """True when every replica runs (or ran) under the group's current fingerprint."""
        return all(r.fingerprint == self.fingerprint for r in self.replicas)

    @property
    def pids(self) -> tuple[int, ...]:
        """The pids of the replicas' processes that are alive or being stopped."""
        return tuple(r.pid for r in self.replicas if r.pid is not None)

    def with_phase(self, phase: GroupPhase) -> GroupStatus:
        return replace(self, phase=phase)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": RECORD_VERSION,
            "name": self.name,
            "mode": self.mode.value,
            "phase": self.phase.value,
            "desiredReplicas": self.desired_replicas,
            "ready": self.ready,
            "replicas": [r.to_json() for r in self.replicas],
            "fingerprint": self.fingerprint,
            "specHash": self.spec_hash,
            "runId": self.run_id,
            "metadata": dict(self.metadata),
            "failure": self.failure,
            "message": self.message,
            "stopGraceSeconds": self.stop_grace_seconds,
            "updatedAt": self.updated_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroupStatus:
        """Read a record; raises ``KeyError`` / ``ValueError`` when it is malformed."""
        return cls(
            str(data["name"]),
            GroupMode(data["mode"]),
            GroupPhase(data["phase"]),
            desired_replicas=int(data.get("desiredReplicas", 0)),
            ready=int(data.get("ready", 0)),
            replicas=tuple(ReplicaStatus.from_json(r) for r in data.get("replicas", [])),
            fingerprint=str(data.get("fingerprint", "")),
            spec_hash=str(data.get("specHash", "")),
            run_id=str(data.get("runId", "")),
            metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
            failure=data.get("failure"),
            message=str(data.get("message", "")),
            stop_grace_seconds=float(data.get("stopGraceSeconds", 5.0)),
            updated_at=float(data.get("updatedAt", 0.0)),
        )


def parse_record(data: object) -> GroupStatus | None:
    """A record from loaded JSON, or None when it is missing or malformed."""
    if not isinstance(data, Mapping):
        return None
    try:
        return GroupStatus.from_json(data)
    except (KeyError, TypeError, ValueError):
        return None
