"""Planning: pairs, actions, waves along the bundle graph, reverse-order prunes, the guard."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from gitops_agent.core import reporting
from gitops_agent.core.inventory import Inventory, InventoryEntry
from gitops_agent.core.kinds import key_of
from gitops_agent.core.manifests import DependencyCondition, Match, ResourceId, ResourceType
from gitops_agent.core.planning import Action, Dependency, DesiredResource, PlanOptions, plan

WORKER = ResourceType.WORKER


def rid(name: str) -> ResourceId:
    return ResourceId(WORKER, "public", name)


def deployment(name: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "public", "labels": {"app": name}},
        "spec": {"replicas": replicas},
    }


def live_of(obj: dict[str, Any]) -> dict[str, Any]:
    live = copy.deepcopy(obj)
    live["metadata"]["uid"] = "x"
    live["status"] = {"readyReplicas": 1}
    return live


def desired(name: str, replicas: int = 1, depends: tuple[Dependency, ...] = ()) -> DesiredResource:
    return DesiredResource(rid(name), (deployment(name, replicas),), depends, file=f"{name}.yaml")


def entry(name: str, depends: tuple[ResourceId, ...] = ()) -> InventoryEntry:
    return InventoryEntry(rid(name), "rev1", (key_of(deployment(name)),), f"{name}.yaml", depends)


def test_create_update_unchanged() -> None:
    want = [desired("a"), desired("b", replicas=2), desired("c")]
    live = {rid("b"): [live_of(deployment("b", 1))], rid("c"): [live_of(deployment("c"))]}
    inventory = Inventory().with_entries([entry("b"), entry("c")])
    result = plan(want, live, inventory, revision="abc")
    actions = {r.id.name: r.action for r in result.resources}
    assert actions == {"a": Action.CREATE, "b": Action.UPDATE, "c": Action.UNCHANGED}
    update = next(r for r in result.resources if r.id.name == "b")
    assert [c.format() for s in update.steps for c in s.changes] == ["~ spec.replicas: 1 -> 2"]
    assert result.has_changes


def test_no_changes_when_everything_matches() -> None:
    want = [desired("a")]
    result = plan(
        want, {rid("a"): [live_of(deployment("a"))]}, Inventory().with_entries([entry("a")])
    )
    assert not result.has_changes
    assert "No changes" in reporting.plan_text(result)


def test_waves_follow_dependencies() -> None:
    condition = DependencyCondition("a", Match(("active",)), Match((), ("running",)))
    want = [
        desired("verify", depends=(Dependency(rid("a"), condition),)),
        desired("a"),
        desired("other"),
    ]
    result = plan(want, {}, Inventory())
    assert [[r.id.name for r in wave] for wave in result.waves()] == [["a", "other"], ["verify"]]
    text = reporting.plan_text(result)
    assert "after a status is active and runtime contains running" in text


def test_prunes_come_last_in_reverse_dependency_order() -> None:
    owned = [
        entry("keep1"),
        entry("keep2"),
        entry("keep3"),
        entry("base"),
        entry("dependent", (rid("base"),)),
    ]
    live = {e.id: [live_of(deployment(e.id.name))] for e in owned}
    want = [desired("keep1"), desired("keep2"), desired("keep3")]
    result = plan(want, live, Inventory().with_entries(owned))
    deletes = [r for r in result.resources if r.action is Action.DELETE]
    assert [r.id.name for r in deletes] == ["dependent", "base"]
    assert deletes[0].wave < deletes[1].wave
    assert deletes[0].steps[0].action is Action.DELETE


def test_guard_refuses_mass_prunes_and_allows_them_explicitly() -> None:
    owned = [entry(n) for n in ("a", "b", "c")]
    live = {e.id: [live_of(deployment(e.id.name))] for e in owned}
    refused = plan([desired("a")], live, Inventory().with_entries(owned))
    assert refused.blocked_prune is not None
    assert all(r.action is not Action.DELETE for r in refused.resources)
    assert "refusing to prune 2 of 3 owned resources" in refused.blocked_prune.message()
    allowed = plan(
        [desired("a")],
        live,
        Inventory().with_entries(owned),
        options=PlanOptions(allow_mass_prune=True),
    )
    assert sorted(r.id.name for r in allowed.resources if r.action is Action.DELETE) == ["b", "c"]


def test_guard_refuses_deleting_everything() -> None:
    owned = [entry("only")]
    result = plan([], {rid("only"): [live_of(deployment("only"))]}, Inventory().with_entries(owned))
    assert result.blocked_prune is not None and "all" in result.blocked_prune.message()


def test_half_is_allowed() -> None:
    owned = [entry(n) for n in ("a", "b", "c", "d")]
    live = {e.id: [live_of(deployment(e.id.name))] for e in owned}
    result = plan([desired("a"), desired("b")], live, Inventory().with_entries(owned))
    assert result.blocked_prune is None
    assert sum(r.action is Action.DELETE for r in result.resources) == 2


def test_object_removed_from_a_resource_is_deleted() -> None:
    extra = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a-files", "namespace": "public"},
    }
    live = {rid("a"): [live_of(deployment("a")), extra]}
    recorded = replace(entry("a"), objects=(key_of(deployment("a")), key_of(extra)))
    result = plan([desired("a")], live, Inventory().with_entries([recorded]))
    (resource,) = result.resources
    assert resource.action is Action.UPDATE
    assert [(s.key.kind, s.action) for s in resource.steps] == [
        ("Deployment", Action.UNCHANGED),
        ("ConfigMap", Action.DELETE),
    ]


def test_an_object_with_our_labels_the_inventory_never_recorded_is_left_alone() -> None:
    extra = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "a-files", "namespace": "public", "uid": "other"},
    }
    live = {rid("a"): [live_of(deployment("a")), extra]}
    result = plan([desired("a")], live, Inventory().with_entries([entry("a")]))
    (resource,) = result.resources
    assert resource.action is Action.UNCHANGED and not result.has_changes
    assert [(s.key.kind, s.action) for s in resource.steps] == [
        ("Deployment", Action.UNCHANGED),
        ("ConfigMap", Action.UNMANAGED),
    ]
    assert "not created by it" in resource.steps[1].note


def test_json_and_markdown_outputs() -> None:
    result = plan(
        [desired("a", replicas=3)],
        {rid("a"): [live_of(deployment("a"))]},
        Inventory().with_entries([entry("a")]),
        revision="0123456789abcdef",
    )
    data = reporting.plan_json(result)
    assert data["counts"] == {
        "create": 0,
        "update": 1,
        "delete": 0,
        "unchanged": 0,
        "conflict": 0,
        "unmanaged": 0,
    }
    assert data["resources"][0]["objects"][0]["changes"] == [
        {"path": "spec.replicas", "change": "changed", "before": 1, "after": 3}
    ]
    markdown = reporting.plan_markdown(result)
    assert "| 0 | update | `worker/public/a` | a.yaml |" in markdown
    assert "```diff" in markdown
