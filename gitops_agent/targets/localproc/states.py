"""Pure conversions from supervisor records to the core status model (DESIGN §4.4).

Called by the local target adapter: a service group becomes a ``WorkerState`` (ready =
running replicas, a crash loop is a failure), a job group a ``Phase`` / ``StepState`` of
one workflow step. ``core.status`` then makes the ``status`` / ``runtime`` strings.
"""

from __future__ import annotations

from gitops_agent.core.status import Phase, StepState, WorkerState
from gitops_agent.targets.localproc.records import GroupPhase, GroupStatus

_PHASES = {
    GroupPhase.PENDING: Phase.PENDING,
    GroupPhase.RUNNING: Phase.RUNNING,
    GroupPhase.SUCCEEDED: Phase.SUCCEEDED,
    GroupPhase.FAILED: Phase.FAILED,
    GroupPhase.TERMINATING: Phase.PENDING,
}


def worker_state(status: GroupStatus | None) -> WorkerState:
    """What the local target observed of a Worker's process group."""
    if status is None:
        return WorkerState(present=False)
    return WorkerState(
        present=True,
        desired=status.desired_replicas,
        ready=status.ready,
        failure=status.failure,
        rolling_out=not status.up_to_date,
    )


def job_phase(status: GroupStatus | None, *, run_id: str | None = None) -> Phase:
    """The phase of a job group's run; ``pending`` while another run than ``run_id`` shows."""
    if status is None or (run_id is not None and status.run_id != run_id):
        return Phase.PENDING
    return _PHASES[status.phase]


def step_state(step: str, status: GroupStatus | None, *, run_id: str | None = None) -> StepState:
    """One workflow step's state from the job group that runs it."""
    phase = job_phase(status, run_id=run_id)
    message = status.message if status is not None and phase is Phase.FAILED else ""
    return StepState(step, phase, message)
