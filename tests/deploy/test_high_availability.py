"""Three replicas of the agent in kubesim over HTTPS, each with the in-cluster configuration
and the ServiceAccount's token, under deploy/'s RBAC (issue 17, acceptance 3 and 4).

One timeline, with short lease timings (2 s / 1.5 s / 0.3 s): exactly one replica applies;
a webhook sent to a follower starts the leader's cycle within 2 s; when kubesim fails every
lease renewal, the leader stops writing (its cycle in progress ends, fenced) within
renewDeadline and nobody applies until the API recovers; SIGKILL of the leader: another
applies the next commit within 20 s; SIGTERM: the lease is handed over within 3 s.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim.kinds import LEASES
from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.agent.harness import AgentProcess, ManifestRepo
from tests.deploy.cluster import (
    agent_config,
    install,
    leader_of,
    push_webhook,
    service_account,
    start_agents,
)
from tests.deploy.support import AGENT_NAMESPACE, agent_config_text, rendered
from tests.deploy.test_least_privilege import CREDENTIALS

RENEW_DEADLINE = 1.5
STUCK = """\
version: v2alpha
name: stuck
type: worker
spec:
  compute: runnable-default
  replicas: 1
  stack: container
  stackSpec: {image: example.org/unschedulable:1, command: [sleep, infinity]}
"""


def holder(sim: KubeSim) -> str:
    lease = sim.store.get(LEASES, AGENT_NAMESPACE, "gitops-agent-prod") or {}
    return str((lease.get("spec") or {}).get("holderIdentity") or "")


def wait(predicate: object, timeout: float, what: str) -> float:
    """Seconds until ``predicate()`` held."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout}s: {what}")


def line_time(agent: AgentProcess, text: str) -> float | None:
    agent.drain()
    return next((t for t, line in agent.stamped if text in line), None)


def writers(sim: KubeSim, since: float) -> set[str]:
    """User agents of the writes to rendered kinds (not the Lease, Events or hints) since."""
    found = set()
    for r in sim.requests():
        if r.time < since or r.method not in ("PATCH", "POST", "PUT", "DELETE"):
            continue
        if r.resource in ("leases", "events") or r.name.endswith("-hints"):
            continue
        found.add(r.user_agent.rpartition("pod/")[2])
    return found


def test_three_replicas_one_writer_fenced_renewals_and_hand_overs(
    kubesim: KubeSim, tmp_path: Path
) -> None:
    objects = rendered("overlays/cluster")
    install(kubesim, [*objects, CREDENTIALS], tmp_path)
    account = service_account(kubesim, tmp_path)
    repo = ManifestRepo(tmp_path / "repo")
    first = repo.commit("initial")
    with GitDaemon(repo.bare.parent) as daemon:
        config = agent_config(
            agent_config_text(objects), tmp_path / "agent.yaml", url=daemon.url("manifests.git")
        )
        started = time.time()
        agents = start_agents(kubesim, config, account, tmp_path, 3)
        try:
            _timeline(kubesim, repo, agents, first, started)
        finally:
            for agent in agents:
                agent.stop()


def _timeline(
    sim: KubeSim, repo: ManifestRepo, agents: list[AgentProcess], first: str, started: float
) -> None:
    leader = leader_of(agents)
    name = lambda a: f"agent-{agents.index(a)}"  # noqa: E731
    wait(lambda: leader.logged(f"revision {first[:12]} applied"), 40, "the first commit applied")
    followers = [a for a in agents if a is not leader]
    assert not any(a.logged("reconciling revision") for a in followers)
    assert writers(sim, started) == {name(leader)}, "exactly one replica writes"
    assert holder(sim).startswith(name(leader))

    # acceptance 4: a webhook to a follower, and the leader's cycle starts within 2 s
    second = repo.commit("second")
    sent = time.monotonic()
    assert push_webhook(followers[0], second) == 202
    wait(lambda: leader.logged(f"reconciling revision {second[:12]}"), 5, "the leader polling")
    latency = (line_time(leader, f"reconciling revision {second[:12]}") or 0) - sent
    assert latency < 2.0, f"webhook on a follower to the leader's cycle: {latency:.2f}s"
    wait(lambda: leader.logged(f"revision {second[:12]} applied"), 30, "the second commit")

    # renewals failed by the API server: the leader stops writing within renewDeadline
    third = repo.commit("a worker that never schedules", _add_stuck)
    assert push_webhook(followers[1], third) == 202
    wait(lambda: leader.logged("applied worker/public/stuck"), 20, "the stuck worker applied")
    fault = sim.add_fault(verb="update", resource="leases", code=503)
    faulted = time.monotonic()
    wait(lambda: leader.logged("lost the lease"), RENEW_DEADLINE + 2, "the leader giving up")
    lost = (line_time(leader, "lost the lease") or 0) - faulted
    assert lost <= RENEW_DEADLINE + 0.5, f"writes stopped {lost:.2f}s after renewals failed"
    wait(lambda: leader.logged("left to the new leader"), 3, "the cycle in progress fenced")
    fenced_at = time.time()
    fourth = repo.commit("the stuck worker removed", _remove_stuck)
    assert push_webhook(followers[0], fourth) == 202
    time.sleep(1.0)
    assert writers(sim, fenced_at) == set(), "nobody writes while no lease can be renewed"
    sim.control.remove_fault(fault)
    applied = f"revision {fourth[:12]} applied"
    wait(lambda: any(a.logged(applied) for a in agents), 30, "the fourth commit, once renewed")
    current = next(a for a in agents if a.logged(applied))

    # SIGKILL: another replica applies the next commit within 20 s
    fifth = repo.commit("fifth")
    current.proc.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    survivors = [a for a in agents if a is not current]
    wait(
        lambda: any(a.logged(f"revision {fifth[:12]} applied") for a in survivors),
        20,
        "another replica applying after SIGKILL",
    )
    took = time.monotonic() - killed
    assert took < 20, took
    successor = next(a for a in survivors if a.logged(f"revision {fifth[:12]} applied"))

    # SIGTERM: the lease is released and taken over within 3 s
    last = next(a for a in survivors if a is not successor)
    successor.proc.send_signal(signal.SIGTERM)
    terminated = time.monotonic()
    wait(lambda: holder(sim).startswith(name(last)), 3, "hand-over after SIGTERM")
    handed = time.monotonic() - terminated
    assert handed < 3.0, handed
    assert successor.proc.wait(timeout=10) == 0
    print(
        f"webhook->leader {latency:.2f}s; fenced {lost:.2f}s after renewals failed; "
        f"SIGKILL->applied {took:.2f}s; SIGTERM->hand-over {handed:.2f}s"
    )


def _add_stuck(work: Path) -> None:
    (work / "workers" / "stuck.yaml").write_text(STUCK)


def _remove_stuck(work: Path) -> None:
    (work / "workers" / "stuck.yaml").unlink()
