"""The structured-merge-diff operations and the typed checks kubesim's apply is built from,
tested alone: list order of a merge, what a prune removes, containers emptied by a removal,
the typed checks' messages and their skipping of unchanged parts."""

from __future__ import annotations

import copy
import random

from kubesim_manifests import deployment

from gitops_agent.testing.kubesim import fieldsets, smd, typed
from gitops_agent.testing.kubesim.schema import shared

DEPLOYMENT = shared().root("apps", "v1", "Deployment")
POD = shared().root("", "v1", "Pod")
ENV = POD.child("spec").child("containers").elem.child("env")  # type: ignore[union-attr]


def _env(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "value": n.lower()} for n in names]


def test_merged_list_items_follow_structured_merge_diffs_order() -> None:
    merged = smd.merge(_env("A", "B"), _env("C", "A"), ENV)
    assert [e["name"] for e in merged] == ["C", "A", "B"]
    assert [e["name"] for e in smd.merge(_env("A", "B", "C"), _env("B", "D"), ENV)] == [
        "A",
        "B",
        "C",
        "D",
    ]


def test_prune_removes_the_item_unless_someone_owns_it() -> None:
    item = ("f:spec", "f:containers", 'k:{"name":"main"}', "f:env", 'k:{"name":"B"}')
    container = ("f:spec", "f:containers", 'k:{"name":"main"}')
    last = {item, (*item, "f:name"), (*item, "f:value"), container, (*container, "f:name")}
    managed = {container, (*container, "f:name")}
    assert item in smd.prune_paths(last, managed, POD)
    assert item not in smd.prune_paths(last, managed | {item}, POD)
    # a leaf owned by another manager does not keep an item no one owns (as in SMD)
    assert item in smd.prune_paths(last, managed | {(*item, "f:value")}, POD)


def test_removal_drops_emptied_containers() -> None:
    obj = {"spec": {"containers": [{"name": "main", "env": _env("A")}]}}
    path = ("f:spec", "f:containers", 'k:{"name":"main"}', "f:env", 'k:{"name":"A"}')
    removed = smd.remove_items(obj, smd.trie({path}), POD)
    assert removed == {"spec": {"containers": [{"name": "main"}]}}


def test_typed_patch_errors_are_listed_as_structured_merge_diff_lists_them() -> None:
    config = {"spec": {"bogus": 1, "template": {"spec": {"containers": [{"image": "x"}]}}}}
    found = typed.apply_findings(DEPLOYMENT, config)  # the map's walk stops at an unknown field
    assert typed.smd_message(found.errors) == ".spec.bogus: field not declared in schema"
    config = {"spec": {"replicas": "two", "template": {"spec": {"containers": [{"image": "x"}]}}}}
    assert typed.smd_message(typed.apply_findings(DEPLOYMENT, config).errors) == (
        "errors:\n  .spec.replicas: expected numeric (int or float), got string\n"
        "  .spec.template.spec.containers: element 0: associative list with keys has an element "
        'that omits all key fields ["name"] (and doesn\'t have default values for any key fields)'
    )


def test_decoding_checks_skip_what_the_stored_object_already_has() -> None:
    stored = {"spec": {"replicas": 1, "template": {"metadata": {"labels": {"a": "b"}}}}}
    changed = {"spec": {"replicas": 2, "template": {"metadata": {"labels": {"a": "b"}}}}}
    assert not typed.decode_findings(DEPLOYMENT, changed, old=stored).strict
    wrong = {"spec": {"replicas": "2", "bogus": True}}
    found = typed.decode_findings(DEPLOYMENT, wrong, old=stored)
    assert found.strict == ['unknown field "spec.bogus"']
    assert found.type_error == (
        "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of "
        "type int32"
    )


def _mutations(base: dict[str, object], seed: int) -> dict[str, object]:
    """A copy of ``base`` with a few random fields changed, added or removed."""
    rng = random.Random(seed)
    mutated = copy.deepcopy(base)
    for _ in range(rng.randint(1, 4)):
        target: object = mutated
        while isinstance(target, dict | list) and target and rng.random() < 0.8:
            keys = list(target) if isinstance(target, dict) else list(range(len(target)))
            key = rng.choice(keys)
            child = target[key]  # type: ignore[index]
            if not isinstance(child, dict | list) or not child:
                choice = rng.random()
                if choice < 0.4 and isinstance(target, dict):
                    del target[key]
                elif choice < 0.7 and isinstance(target, list):
                    target.append(copy.deepcopy(child))
                else:
                    target[key] = f"changed-{seed}"  # type: ignore[index]
                break
            target = child
    return mutated


def test_changed_paths_walk_only_what_differs_and_agree_with_flattening() -> None:
    base = deployment("web")
    base["spec"]["template"]["spec"]["containers"][0].update(  # type: ignore[index]
        env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        ports=[{"containerPort": 80, "protocol": "TCP"}],
        resources={"limits": {"cpu": "1"}},
    )
    for seed in range(300):
        new = _mutations(base, seed)
        expected = fieldsets.changed_paths(
            fieldsets.flatten(base, DEPLOYMENT), fieldsets.flatten(new, DEPLOYMENT)
        )
        assert fieldsets.changes(base, new, DEPLOYMENT) == expected, seed
