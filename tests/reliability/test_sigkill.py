"""Crash safety (issue 11, acceptance 7): SIGKILL the agent mid-apply and mid-prune.

Each trial starts ``gitops-agent apply`` as a real process against kubesim, kills it with
SIGKILL once a random number of its writes reached the server, then runs one apply to
converge. After every trial: the apply converged (exit 0), a plan finds nothing to do, the
cluster holds exactly the desired Workers (no duplicate, no leftover), and every object with
the agent's owner label is in the inventory (no orphan). Trials alternate between two
revisions of 100 Workers (updates, creates and prunes in each); the prune trials delete half.
The random draws are seeded, so a failing trial can be replayed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client

from gitops_agent.core import labels
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from tests.reliability.conftest import (
    OWNER,
    Run,
    deployments,
    orphans,
    stored_inventory,
    write_repo,
)

FIRST = [f"w{i:03d}" for i in range(100)]
SECOND = [f"w{i:03d}" for i in range(10, 110)]
WRITES = ("patch", "delete")


def writes_so_far(sim: KubeSim) -> int:
    return sum(1 for r in sim.requests() if r.verb in WRITES and r.resource == "deployments")


def kill_after_writes(sim: KubeSim, repo: Path, writes: int) -> bool:
    """Start an apply and SIGKILL it once ``writes`` more writes reached the server; True
    when it was killed mid-flight (False: it finished first)."""
    start = writes_so_far(sim)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gitops_agent",
            "apply",
            str(repo),
            "-q",
            "--target",
            "kubernetes",
            "--kubeconfig",
            str(sim.kubeconfig),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(
            lambda: process.poll() is not None or writes_so_far(sim) - start >= writes,
            timeout=120,
            interval=0.005,
            message=f"{writes} writes of the apply under test",
        )
        killed = process.poll() is None
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    return killed


def converged(run: Run, repo: Path, api: client.ApiClient, names: list[str]) -> None:
    code, out, err = run("apply", str(repo), "-q")
    assert code == 0, out + err
    assert run("plan", str(repo))[0] == 0
    live = deployments(api, selector=labels.owner_selector(OWNER))
    assert sorted(live) == sorted(names), "exactly the desired Workers"
    assert orphans(api) == []
    recorded = stored_inventory(api)
    assert sorted(rid.name for rid in recorded.entries) == sorted(names)
    for entry in recorded.entries.values():
        assert all(entry.uids.get(key) for key in entry.objects), f"{entry.id} uid recorded"


@pytest.mark.parametrize(("trials", "prune"), [(20, False), (5, True)], ids=["apply", "prune"])
def test_sigkill_then_apply_converges(
    run: Run,
    kubesim: KubeSim,
    api: client.ApiClient,
    tmp_path: Path,
    trials: int,
    prune: bool,
) -> None:
    draw = random.Random(20261130 + trials)
    repo = tmp_path / "repo"
    write_repo(repo, FIRST)
    converged(run, repo, api, FIRST)
    killed = 0
    for trial in range(trials):
        if prune:
            names = FIRST[::2]
            write_repo(repo, names)
            killed += kill_after_writes(kubesim, repo, draw.randint(1, 45))
            converged(run, repo, api, names)
            write_repo(repo, FIRST)
            converged(run, repo, api, FIRST)
            continue
        names = SECOND if trial % 2 == 0 else FIRST
        image = f"alpine:3.{20 + trial}"
        write_repo(repo, names, image=image)
        killed += kill_after_writes(kubesim, repo, draw.randint(1, 100))
        converged(run, repo, api, names)
    print(f"{trials} SIGKILL trials ({'prune' if prune else 'apply'}): {killed} killed mid-flight")
    assert killed >= trials * 0.8, f"only {killed} of {trials} trials were killed mid-flight"
