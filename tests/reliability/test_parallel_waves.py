"""Parallel waves on kubesim (issue 18, build item 3): the resources of one wave are written
up to ``sync.concurrency`` at once, the namespace they share made once, the progress lines told a resource at a time; ``concurrency: 1``
writes one at a time. Dependents waiting on their dependencies are covered by the engine's
and the Bundle tests, which run with the default concurrency."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.reliability.conftest import Run, write_repo

LATENCY = 0.3
NAMES = [f"w{i:02d}" for i in range(8)]


def overlapping(kubesim: KubeSim) -> int:
    """The most Deployment patches the server was answering at one moment."""
    patches = [
        (r.time, r.time + r.duration)
        for r in kubesim.requests()
        if r.verb == "patch" and r.resource == "deployments"
    ]
    return max((sum(1 for s, e in patches if s <= start < e) for start, _ in patches), default=0)


@pytest.mark.parametrize(("concurrency", "wide"), [(8, True), (1, False)])
def test_a_wave_is_written_at_once_and_each_resource_in_order(
    run: Run, kubesim: KubeSim, tmp_path: Path, concurrency: int, wide: bool
) -> None:
    sync = f"{{waitTimeout: 60s, pollInterval: 0.2s, concurrency: {concurrency}}}"
    repo = write_repo(tmp_path / "repo", NAMES, sync=sync)
    kubesim.add_fault(verb="patch", resource="deployments", code=0, latency=LATENCY)
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    most = overlapping(kubesim)
    assert (most >= 4) if wide else (most == 1), most
    applied = [line for line in err.splitlines() if "] applied worker/public/" in line]
    assert sorted(line.split("applied ")[1] for line in applied) == [
        f"worker/public/{n} (create)" for n in NAMES
    ]
    created = [r for r in kubesim.requests() if r.resource == "namespaces" and r.code == 201]
    assert len(created) == 1, "the namespace made once, whoever needed it first"
    written = [
        r
        for r in kubesim.requests()
        if r.resource == "deployments" and r.verb == "patch" and r.code < 300
    ]
    assert len(written) == len(NAMES)
