"""The Kubernetes history store on kubesim: ConfigMap shards of ten cycles, one LIST and one
write per record, the oldest dropped past the limit (empty shards deleted), a huge record cut
to size, and the records invisible to everything that looks for a resource's objects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gitops_agent.core.history import Cycle, ResourceOutcome
from gitops_agent.core.rendering.objects import RenderSettings
from gitops_agent.engine.observing import observe
from gitops_agent.targets import kubeapi
from gitops_agent.targets.history import MAX_RECORD, ConfigMapHistory
from gitops_agent.targets.kubernetes import KubernetesTarget
from gitops_agent.testing.kubesim.simulator import KubeSim


@pytest.fixture
def api(kubesim: KubeSim) -> Iterator[kubeapi.KubeApi]:
    client = kubeapi.connect(kubeconfig=str(kubesim.kubeconfig), context=None, in_cluster=False)
    api = kubeapi.KubeApi(client)
    yield api
    api.close()


def cycle(n: int, resources: int = 1) -> Cycle:
    outcomes = tuple(
        ResourceOutcome(f"worker/public/w{i:05d}", "configured", "x" * 40) for i in range(resources)
    )
    return Cycle(
        "sync", f"{n:040x}", "poll", 1_800_000_000.0 + n, 1.5, "success", "ok", resources=outcomes
    )


def test_records_are_sharded_bounded_and_cost_one_list_and_at_most_two_writes(
    kubesim: KubeSim, api: kubeapi.KubeApi
) -> None:
    store = ConfigMapHistory(api, owner="prod", namespace="default")
    for n in range(1, 26):
        kubesim.control.clear_requests()
        recorded = store.record(cycle(n), limit=12)
        assert recorded.seq == n
        verbs = sorted(r.verb for r in kubesim.requests())
        assert verbs in (
            ["list", "patch"],
            ["list", "patch", "patch"],
            ["delete", "list", "patch"],
        ), verbs
    kept = store.load()
    assert [c.seq for c in kept] == list(range(14, 26))
    assert kept[-1].revision == f"{25:040x}" and kept[-1].resources == cycle(25).resources
    listed = api.list(kubeapi.kinds.CONFIG_MAP, namespace="default")
    names = sorted(m["metadata"]["name"] for m in listed if "history" in m["metadata"]["name"])
    assert names == ["gitops-agent-history-prod-1", "gitops-agent-history-prod-2"]
    other = ConfigMapHistory(api, owner="staging", namespace="default")
    assert other.load() == (), "owners keep separate histories"


def test_a_huge_record_is_cut_to_size(kubesim: KubeSim, api: kubeapi.KubeApi) -> None:
    store = ConfigMapHistory(api, owner="big", namespace="default")
    store.record(cycle(1, resources=5_000), limit=10)
    (kept,) = store.load()
    assert 0 < len(kept.resources) < 5_000 and kept.more == 5_000 - len(kept.resources)
    (config_map,) = [
        m
        for m in api.list(kubeapi.kinds.CONFIG_MAP, namespace="default")
        if m["metadata"]["name"] == "gitops-agent-history-big-0"
    ]
    assert len(config_map["data"]["cycle-1"]) <= MAX_RECORD


def test_history_records_are_no_resources_objects(kubesim: KubeSim, api: kubeapi.KubeApi) -> None:
    store = ConfigMapHistory(api, owner="prod", namespace="default")
    store.record(cycle(1), limit=10)
    target = KubernetesTarget(api, owner="prod", settings=RenderSettings(owner="prod"))
    seen = observe(target)
    assert seen.live == {} and seen.inventory.entries == {}
    everyone = observe(target, all_owners=True)
    assert everyone.live == {}
