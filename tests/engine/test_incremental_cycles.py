"""Incremental cycles give exactly what a cycle from nothing gives (issue 18, item 1).

The property: over random sequences of edits to a repository (a Worker changed, added,
removed, moved to another file, broken, made a duplicate; two files swapping content; the
Bundle's members changed; a variable of the configuration changed; an object changed on
the target behind the agent's back), each revision evaluated and planned with the agent's
``CycleCache`` gives the same violations, the same resources and exactly the same plan
(every step, every desired and live object, every change) as evaluating and planning it
with no cache; the cached cycle is then applied, so that the next revision plans against
a target that moved. The fake target keeps resourceVersions as an API server does.
Also: a cycle re-reads only changed files; the cache is bounded and forgets what a cycle
did not use; a new configuration empties it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitops_agent.core.config import AgentConfig, SyncConfig
from gitops_agent.core.manifests import flatten
from gitops_agent.core.tree import SourceTree
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired, evaluate
from gitops_agent.engine.incremental import CycleCache
from gitops_agent.testing.fake import FakeTarget, ManualClock

NAMES = [f"w{i}" for i in range(8)]


def worker(name: str, *, replicas: int = 1, image: str = "alpine:3.20", env: str = "") -> str:
    spec: dict[str, Any] = {
        "compute": "runnable-default",
        "replicas": replicas,
        "stack": "container",
        "stackSpec": {"image": image, "command": ["sleep", "nap-${NAP}"]},
    }
    if env:
        spec["use"] = {"projection": {"projections": {"envVars": [{"key": "E", "template": env}]}}}
    manifest = {"version": "v2alpha", "name": name, "type": "worker", "spec": spec}
    return yaml.safe_dump(manifest, sort_keys=False)


def workflow(name: str, *, end: bool) -> str:
    step = {"compute": "runnable-default", "stack": "container", "stackSpec": {"image": "a:1"}}
    spec: dict[str, Any] = {"dag": [{"name": "s", "spec": step}]}
    if end:
        spec["schedule"] = {"crons": ["0 * * * *"], "endOn": "2031-01-01T00:00:00Z"}
    return yaml.safe_dump({"version": "v2alpha", "name": name, "type": "workflow", "spec": spec})


def bundle(members: list[str]) -> str:
    resources: list[dict[str, Any]] = [{"id": m, "file": f"workers/{m}.yaml"} for m in members]
    resources.append({"id": "inline", "spec": yaml.safe_load(worker("inline"))})
    data = {"version": "v2alpha", "name": "b", "type": "bundle", "bundle": {"resources": resources}}
    return yaml.safe_dump(data, sort_keys=False)


def initial_files() -> dict[str, str]:
    files = {f"workers/{name}.yaml": worker(name) for name in NAMES[:5]}
    files["flows/once.yaml"] = workflow("once", end=False)
    files["flows/until.yaml"] = workflow("until", end=True)
    files["bundles/b.yaml"] = bundle(["w0"])
    return files


@dataclass
class Repository:
    """The files and variables of one revision."""

    files: dict[str, str] = field(default_factory=initial_files)
    nap: str = "60"


EDITS = st.sampled_from(
    ["change", "add", "remove", "move", "break", "duplicate", "swap", "members", "vars", "same"]
)


def edit(repo: Repository, kind: str, draw: st.DrawFn) -> None:
    """One edit of ``kind`` to the repository."""
    workers = sorted(p for p in repo.files if p.startswith("workers/"))
    path = draw(st.sampled_from(workers)) if workers else None
    name = draw(st.sampled_from(NAMES))
    if kind == "change" and path:
        text = worker(
            path.split("/")[-1].removesuffix(".yaml"),
            replicas=draw(st.integers(0, 3)),
            image=draw(st.sampled_from(["alpine:3.20", "busybox:1"])),
            env=draw(st.sampled_from(["", "x", "${{worker-name}}"])),
        )
        repo.files[path] = text
    elif kind == "add":
        repo.files[f"workers/{name}.yaml"] = worker(name)
    elif kind == "remove" and path:
        del repo.files[path]
    elif kind == "move" and path:
        repo.files[f"moved/{path.split('/')[-1]}"] = repo.files.pop(path)
    elif kind == "break" and path:
        repo.files[path] = draw(st.sampled_from(["name: [\n", "version: v2alpha\ntype: worker\n"]))
    elif kind == "duplicate" and path:
        repo.files[f"copies/{draw(st.sampled_from(NAMES))}.yaml"] = repo.files[path]
    elif kind == "swap" and len(workers) > 1:
        first, second = draw(st.permutations(workers))[:2]
        repo.files[first], repo.files[second] = repo.files[second], repo.files[first]
    elif kind == "members":
        present = [p.split("/")[-1].removesuffix(".yaml") for p in workers]
        chosen = (
            draw(st.lists(st.sampled_from(present), unique=True, max_size=2)) if present else []
        )
        repo.files["bundles/b.yaml"] = bundle(chosen)
    elif kind == "vars":
        repo.nap = draw(st.sampled_from(["60", "61", "3600"]))


def config_of(repo: Repository) -> AgentConfig:
    return AgentConfig(name="test", vars={"NAP": repo.nap}, sync=SyncConfig(wait_timeout=5.0))


def evaluated(repo: Repository, cache: CycleCache | None) -> Desired:
    config = config_of(repo)
    tree = SourceTree(dict(repo.files))
    if cache is None:
        return evaluate(tree, ("",), config)
    cache.begin(config)
    return evaluate(tree, ("",), config, memos=cache.memos())


def same_desired(cached: Desired, fresh: Desired) -> None:
    assert [v.format() for v in cached.violations] == [v.format() for v in fresh.violations]
    assert list(flatten(cached.resources)) == list(flatten(fresh.resources))
    assert [r.manifest for r in flatten(cached.resources)] == [
        r.manifest for r in flatten(fresh.resources)
    ]


def drift(target: FakeTarget, draw: st.DrawFn) -> None:
    """Someone changes one of the owner's objects on the target (a new resourceVersion)."""
    if not target.objects:
        return
    key = draw(st.sampled_from(sorted(target.objects)))
    changed = copy.deepcopy(target.objects[key])
    changed.setdefault("metadata", {}).setdefault("labels", {})["touched"] = "yes"
    if "spec" in changed and "replicas" in changed["spec"]:
        changed["spec"]["replicas"] = 7
    target.seed(changed)


@st.composite
def histories(draw: st.DrawFn) -> list[tuple[str, bool]]:
    return draw(st.lists(st.tuples(EDITS, st.booleans()), min_size=1, max_size=7))


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data(), histories())
def test_a_cached_cycle_plans_exactly_what_an_uncached_one_plans(
    data: st.DataObject, history: list[tuple[str, bool]]
) -> None:
    repo, cache, target = Repository(), CycleCache(10_000), FakeTarget(owner="test")
    clock = ManualClock()
    options = reconcile.CycleOptions(wait=False, clock=clock, sleep=clock.sleep)
    for number, (kind, behind_the_back) in enumerate([("same", False), *history]):
        edit(repo, kind, data.draw)
        if behind_the_back:
            drift(target, data.draw)
        revision = f"rev{number}"
        cached, fresh = evaluated(repo, cache), evaluated(repo, None)
        same_desired(cached, fresh)
        assert number > 0 or not cached.violations, "the first revision is valid"
        if not cached.violations:
            with_cache = reconcile.make_plan(cached, target, revision=revision, cache=cache)
            without = reconcile.make_plan(fresh, target, revision=revision)
            assert with_cache.plan == without.plan
            assert with_cache.desired == without.desired
            result = reconcile.reconcile(
                cached, target, revision=revision, options=options, cache=cache
            )
            assert result.ok, result.describe()
        cache.end()


def test_a_second_revision_reads_and_renders_only_the_changed_file() -> None:
    repo, cache, target = Repository(), CycleCache(10_000), FakeTarget(owner="test")
    first = evaluated(repo, cache)
    reconcile.reconcile(
        first, target, revision="rev1", cache=cache, options=reconcile.CycleOptions(wait=False)
    )
    cache.end()
    renders = target.calls["render"]
    repo.files["workers/w1.yaml"] = worker("w1", replicas=2)
    files_before, built_before = cache.files.hits, cache.built.hits
    second = evaluated(repo, cache)
    assert cache.files.hits - files_before == len(repo.files) - 1
    # built again: the changed file, the bundle and its member file (bundles read other files)
    assert cache.built.hits - built_before == len(repo.files) - 3
    planned = reconcile.make_plan(second, target, revision="rev2", cache=cache)
    assert target.calls["render"] == renders + 1
    changed = [r.id.name for r in planned.plan.resources if r.action.value != "unchanged"]
    assert changed == ["w1"]


def test_the_cache_forgets_what_a_cycle_did_not_use_and_empties_on_a_new_configuration() -> None:
    repo, cache = Repository(), CycleCache(10_000)
    evaluated(repo, cache)
    cache.end()
    kept = len(cache.files)
    del repo.files["workers/w3.yaml"]
    evaluated(repo, cache)
    cache.end()
    assert len(cache.files) == kept - 1
    repo.nap = "120"
    evaluated(repo, cache)
    assert cache.files.hits == 0 or len(cache.files) == len(repo.files)
    assert all(key[0] in repo.files for key in cache.files._entries)


def test_the_cache_holds_at_most_its_limit() -> None:
    repo, cache = Repository(), CycleCache(3)
    cached, fresh = evaluated(repo, cache), evaluated(repo, None)
    same_desired(cached, fresh)
    assert len(cache.files) == 3
    cache.end()
    again = evaluated(repo, cache)
    same_desired(again, fresh)
    assert len(cache.files) == 3
