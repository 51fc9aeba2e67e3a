"""The watch cache on kubesim (issue 18, build item 2): one LIST and one WATCH per kind; a
reconcile of an unchanged revision then asks the cluster nothing; a kubectl change is in the
copy within a second; a compacted history (410) is listed again; and a cycle that writes is
never judged on the object before its write (the copy waits for the write's event)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.core import kinds, labels
from gitops_agent.engine import reconcile
from gitops_agent.testing.kubesim.simulator import KubeSim
from gitops_agent.testing.waiting import wait_for
from gitops_agent.wiring import TargetChoice, WatchedTargets, read_desired
from tests.reliability.conftest import OWNER, kubectl, write_repo


@pytest.fixture
def watched(kubesim: KubeSim, tmp_path: Path) -> Iterator[tuple[WatchedTargets, Path]]:
    repo = write_repo(tmp_path / "repo", ["a", "b"])
    config = read_desired(str(repo)).config
    targets = WatchedTargets(
        config, TargetChoice(kind="kubernetes", kubeconfig=str(kubesim.kubeconfig))
    )
    yield targets, repo
    targets.close()


def cycle(targets: WatchedTargets, repo: Path, revision: str = "r1") -> reconcile.SyncResult:
    wanted = read_desired(str(repo))
    target = targets(wanted.config)
    try:
        return reconcile.reconcile(wanted, target, revision=revision)
    finally:
        target.close()


def test_an_unchanged_revision_asks_the_cluster_nothing(
    kubesim: KubeSim, watched: tuple[WatchedTargets, Path]
) -> None:
    targets, repo = watched
    assert cycle(targets, repo).ok
    assert targets.cache is not None and targets.cache.ready(timeout=10)
    lists = [
        r
        for r in kubesim.requests()
        if r.verb == "list" and OWNER in r.query.get("labelSelector", "")
    ]
    watches = [r for r in kubesim.requests() if r.verb == "watch"]
    assert len(watches) == len(kinds.MANAGED) + 1, "one watch per kind and one for pods"
    assert len(lists) >= len(kinds.MANAGED) + 1
    kubesim.clear_requests()
    again = cycle(targets, repo)
    assert again.ok and again.writes == 0
    assert [f"{r.verb} {r.resource}" for r in kubesim.requests()] == []


def test_a_kubectl_change_is_known_within_a_second(
    kubesim: KubeSim, watched: tuple[WatchedTargets, Path]
) -> None:
    targets, repo = watched
    assert cycle(targets, repo).ok
    cache = targets.cache
    assert cache is not None
    cache.changed.clear()
    started = time.monotonic()
    kubectl(kubesim, "-n", "public", "scale", "deployment/a", "--replicas=3")

    def scaled() -> bool:
        found = [o for o in cache.objects(kinds.DEPLOYMENT) if o["metadata"]["name"] == "a"]
        return bool(found) and found[0]["spec"]["replicas"] == 3

    wait_for(scaled, timeout=5, message="the scale in the watch cache")
    assert time.monotonic() - started < 1.0 + 0.5, "kubectl's own start is in the figure"


def test_a_compacted_history_is_listed_again(
    kubesim: KubeSim, watched: tuple[WatchedTargets, Path]
) -> None:
    targets, repo = watched
    assert cycle(targets, repo).ok
    cache = targets.cache
    assert cache is not None
    # history moves on elsewhere (not one of ours), then is compacted: the copy's version of
    # Deployments is older than what the server still remembers
    kubectl(kubesim, "-n", "public", "create", "configmap", "elsewhere", "--from-literal=a=b")
    kubesim.compact()
    kubesim.end_watches()
    before = len(
        [r for r in kubesim.requests() if r.verb == "list" and r.resource == "deployments"]
    )
    kubectl(kubesim, "-n", "public", "scale", "deployment/b", "--replicas=2")

    def relisted() -> bool:
        lists = [r for r in kubesim.requests() if r.verb == "list" and r.resource == "deployments"]
        found = [o for o in cache.objects(kinds.DEPLOYMENT) if o["metadata"]["name"] == "b"]
        return len(lists) > before and bool(found) and found[0]["spec"]["replicas"] == 2

    wait_for(relisted, timeout=15, message="a new LIST after the 410, and the change in it")


def test_a_cycle_that_writes_is_judged_on_what_it_wrote(
    kubesim: KubeSim, watched: tuple[WatchedTargets, Path], tmp_path: Path
) -> None:
    targets, repo = watched
    assert cycle(targets, repo).ok
    manifest = repo / "workers" / "a.yaml"
    manifest.write_text(manifest.read_text().replace("replicas: 1", "replicas: 3"))
    result = cycle(targets, repo, "r2")
    (a,) = [r for r in result.resources if r.id.name == "a"]
    assert a.ok and a.status is not None and a.status.runtime == "running:3", a
    live = [
        o
        for o in targets.cache.objects(kinds.DEPLOYMENT)  # type: ignore[union-attr]
        if labels.labels_of(o).get(labels.RESOURCE_NAME) == "a"
    ]
    assert live[0]["spec"]["replicas"] == 3
