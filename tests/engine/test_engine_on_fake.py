"""The engine on the in-memory fake target: waves, conditions, timeouts, failures, prunes,
the inventory and the mass-prune guard, with a manual clock (no test waits for real).

The manifests are real (validated by the engine as a whole) and rendered by the real
Kubernetes rendering; only the target is in memory. Each test is well under a second.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

import pytest

from gitops_agent.core.config import AgentConfig, SyncConfig
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.core.manifests import ResourceId, ResourceType
from gitops_agent.core.rendering.objects import RenderSettings
from gitops_agent.core.reporting import StatusState, commit_state
from gitops_agent.core.results import FailureReason, Outcome, SyncResult
from gitops_agent.core.tree import SourceTree
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired, evaluate
from gitops_agent.engine.observing import observe
from gitops_agent.errors import InvalidError, NotFoundError, UnavailableError
from gitops_agent.testing.fake import FakeTarget, Health, ManualClock

WAIT = 30.0
POLL = 1.0


def worker(name: str, replicas: int = 1) -> str:
    return textwrap.dedent(
        f"""\
        version: v2alpha
        name: {name}
        type: worker
        spec:
          compute: runnable-default
          replicas: {replicas}
          stack: container
          stackSpec:
            image: alpine:3.20
            command: [sleep, infinity]
        """
    )


def workflow(name: str, steps: Mapping[str, tuple[str, ...]]) -> str:
    lines = [f"version: v2alpha\nname: {name}\ntype: workflow\nspec:\n  dag:"]
    for step, depends in steps.items():
        lines.append(f"    - name: {step}")
        if depends:
            lines.append(f"      depends: [{', '.join(depends)}]")
        lines.append("      spec:\n        compute: runnable-default\n        stack: container")
        lines.append(f"        stackSpec: {{image: alpine:3.20, command: [echo, {step}]}}")
    return "\n".join(lines) + "\n"


BUNDLE = textwrap.dedent(
    """\
    version: v2alpha
    name: pair
    type: bundle
    bundle:
      resources:
        - id: a
          file: a.yaml
          workspace: public
        - id: checker
          file: checker.yaml
          workspace: public
          dependencies: [a]
          dependencyConditions:
            - resourceId: a
              status: {is: [active]}
              runtime: {contains: [running]}
    """
)


def rid(kind: str, name: str) -> ResourceId:
    rtype = ResourceType(kind)
    return ResourceId(rtype, "" if rtype is ResourceType.BUNDLE else "public", name)


A, B, C = rid("worker", "a"), rid("worker", "b"), rid("worker", "c")
CHECKER, PAIR = rid("workflow", "checker"), rid("bundle", "pair")


def desired_of(files: Mapping[str, str], **sync: object) -> Desired:
    settings = {"wait_timeout": WAIT, "poll_interval": POLL, **sync}
    config = AgentConfig(name="test", sync=SyncConfig(**settings))  # type: ignore[arg-type]
    return evaluate(SourceTree(dict(files)), ("",), config)


PAIR_FILES = {
    "bundle.yaml": BUNDLE,
    "a.yaml": worker("a"),
    "checker.yaml": workflow("checker", {"check": ()}),
}


@dataclass
class Harness:
    """A fake target, a manual clock and the progress lines of every cycle."""

    target: FakeTarget = field(default_factory=FakeTarget)
    clock: ManualClock = field(default_factory=ManualClock)
    lines: list[str] = field(default_factory=list)
    on_sleep: Callable[[int], None] | None = None

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        if self.on_sleep is not None:
            self.on_sleep(len(self.clock.slept))

    def cycle(
        self, files: Mapping[str, str], revision: str = "rev1", **options: object
    ) -> SyncResult:
        cycle_keys = {"allow_mass_prune", "adopt", "wait"}
        sync = {k: v for k, v in options.items() if k not in cycle_keys}
        chosen = reconcile.CycleOptions(
            allow_mass_prune=bool(options.get("allow_mass_prune", False)),
            adopt=bool(options.get("adopt", False)),
            wait=bool(options.get("wait", True)),
            clock=self.clock,
            sleep=self.sleep,
        )
        return reconcile.reconcile(
            desired_of(files, **sync),
            self.target,
            revision=revision,
            options=chosen,
            progress=self.lines.append,
        )


def outcomes(result: SyncResult) -> dict[ResourceId, Outcome]:
    return {r.id: r.outcome for r in result.resources}


def reasons(result: SyncResult) -> dict[ResourceId, FailureReason | None]:
    return {r.id: r.reason for r in result.resources}


def keys_of(target: FakeTarget, resource: ResourceId) -> list[ObjectKey]:
    entry = target.inventory.entry(resource)
    assert entry is not None
    return list(entry.objects)


@pytest.fixture
def h() -> Harness:
    return Harness()


# ----- applying


def test_first_cycle_creates_everything_and_records_it(h: Harness) -> None:
    result = h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b", 2)})
    assert result.ok and result.reason is None
    assert outcomes(result) == {A: Outcome.CREATED, B: Outcome.CREATED}
    assert {r.id: r.status.runtime for r in result.resources if r.status} == {
        A: "running:1",
        B: "running:2",
    }
    assert set(h.target.inventory.entries) == {A, B}
    assert all(e.revision == "rev1" for e in h.target.inventory.entries.values())


def test_a_second_cycle_on_the_same_revision_writes_nothing(h: Harness) -> None:
    files = {**PAIR_FILES, "b.yaml": worker("b")}
    assert h.cycle(files).ok
    before = h.target.writes
    again = h.cycle(files)
    assert again.ok and h.target.writes == before
    assert set(outcomes(again).values()) == {Outcome.UNCHANGED}
    assert again.writes == 0


def test_an_update_is_one_write_and_leaves_the_inventory_alone(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a")}).ok
    entries = dict(h.target.inventory.entries)
    applied = len(h.target.applied)
    result = h.cycle({"a.yaml": worker("a", 3)}, revision="rev2")
    assert outcomes(result) == {A: Outcome.CONFIGURED}
    assert len(h.target.applied) == applied + 1
    assert h.target.inventory.entries == entries, "the revision travels on the object"


PROJECTED = textwrap.dedent(
    """\
    version: v2alpha
    name: w
    type: workflow
    spec:
      dag:
        - name: one
          spec:
            compute: runnable-default
            stack: container
            stackSpec:
              image: alpine:3.20
              command: [cat, /etc/x/f]
            use:
              projection:
                projections:
                  files:
                    - name: f
                      directory: /etc/x
                      template: hello
    """
)


def test_what_an_object_mounts_is_applied_before_it(h: Harness) -> None:
    assert h.cycle({"w.yaml": PROJECTED}).ok
    assert [key.kind for key in h.target.applied] == ["ConfigMap", "Job"]


# ----- bundle waves and conditions


def test_a_dependent_starts_once_its_condition_holds(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)

    def become_ready(sleeps: int) -> None:
        if sleeps == 3:
            h.target.set_health(A, Health.READY)

    h.on_sleep = become_ready
    result = h.cycle(PAIR_FILES)
    assert result.ok, result.describe()
    assert outcomes(result) == {A: Outcome.CREATED, CHECKER: Outcome.CREATED, PAIR: Outcome.CREATED}
    first_job = next(i for i, key in enumerate(h.target.applied) if key.kind == "Job")
    deployment = next(i for i, key in enumerate(h.target.applied) if key.kind == "Deployment")
    assert deployment < first_job
    assert h.clock.slept[:3] == [POLL, POLL, POLL]
    assert any(
        "workflow/public/checker waits for worker/public/a status is active and runtime contains running"
        in line
        for line in h.lines
    )


def test_a_condition_never_met_times_out_without_waiting(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)
    result = h.cycle(PAIR_FILES)
    assert not result.ok
    assert outcomes(result)[CHECKER] is Outcome.FAILED
    assert reasons(result)[CHECKER] is FailureReason.TIMEOUT
    assert result.reason is FailureReason.TIMEOUT
    checker = next(r.message for r in result.resources if r.id == CHECKER)
    assert checker.startswith("timed out after 30s waiting for worker/public/a status is active")
    assert WAIT <= sum(h.clock.slept) <= WAIT + POLL
    assert not [key for key in h.target.applied if key.kind == "Job"], "the step never started"


def test_a_failed_dependency_skips_its_dependents_at_once(h: Harness) -> None:
    h.target.set_health(A, Health.FAILED)
    result = h.cycle(PAIR_FILES)
    assert outcomes(result)[CHECKER] is Outcome.SKIPPED
    assert reasons(result)[CHECKER] is FailureReason.DEPENDENCY
    assert reasons(result)[A] is FailureReason.UNHEALTHY
    assert "dependency worker/public/a is active/failed (CrashLoopBackOff" in next(
        r.message for r in result.resources if r.id == CHECKER
    )
    assert sum(h.clock.slept) <= 2 * POLL


def test_an_apply_refused_by_the_target_fails_the_resource_and_skips_dependents(
    h: Harness,
) -> None:
    deployment = ObjectKey("apps/v1", "Deployment", "public", "a")
    h.target.fail("apply", key=deployment, error=InvalidError("bad", object_ref=str(deployment)))
    result = h.cycle(PAIR_FILES)
    assert reasons(result)[A] is FailureReason.REJECTED
    assert result.describe().startswith("invalid worker/public/a: Deployment/public/a: bad")
    assert outcomes(result)[CHECKER] is Outcome.SKIPPED
    assert "Deployment/public/a: bad" in next(r.message for r in result.resources if r.id == A)
    assert A in h.target.inventory.entries, "what was tried is recorded, so it can be pruned"


def test_an_unreachable_target_during_apply_is_unavailable_not_invalid(h: Harness) -> None:
    h.target.fail("apply", times=1)
    result = h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")})
    assert sorted(reasons(result).values(), key=str) == [None, FailureReason.UNAVAILABLE]
    assert not result.permanent


def test_a_crash_looping_worker_fails_the_cycle(h: Harness) -> None:
    h.target.set_health(A, Health.FAILED)
    result = h.cycle({"a.yaml": worker("a")})
    assert outcomes(result) == {A: Outcome.FAILED}
    assert result.reason is FailureReason.UNHEALTHY
    assert commit_state(result)[0] is StatusState.FAILURE


def test_the_bundle_is_active_once_its_members_are(h: Harness) -> None:
    assert h.cycle(PAIR_FILES).ok
    seen = observe(h.target)
    assert (seen.statuses[PAIR].status, seen.statuses[PAIR].message) == (
        "active",
        "2 member(s) ready",
    )
    h.target.set_health(A, Health.FAILED)
    assert observe(h.target).statuses[PAIR].status == "error"


# ----- workflows


def test_workflow_steps_start_in_dag_order(h: Harness) -> None:
    files = {"w.yaml": workflow("w", {"extract": (), "load": ("extract",)})}
    w = rid("workflow", "w")
    h.target.set_health(w, Health.PENDING)

    def finish_extract(sleeps: int) -> None:
        if sleeps == 2:
            extract = next(k for k in h.target.objects if "extract" in k.name)
            h.target.set_health(extract, Health.READY)
        if sleeps == 4:
            h.target.set_health(w, Health.READY)

    h.on_sleep = finish_extract
    result = h.cycle(files)
    assert result.ok, result.describe()
    jobs = [key.name for key in h.target.applied if key.kind == "Job"]
    assert [name.rsplit("-", 1)[0] for name in jobs] == ["w-extract", "w-load"]
    assert "started workflow/public/w step load" in h.lines
    assert next(r.message for r in result.resources) == "2 step(s) succeeded"


def test_a_failed_step_fails_the_workflow_and_stops_its_dag(h: Harness) -> None:
    files = {"w.yaml": workflow("w", {"extract": (), "load": ("extract",)})}
    h.target.set_health(rid("workflow", "w"), Health.FAILED)
    result = h.cycle(files)
    assert reasons(result) == {rid("workflow", "w"): FailureReason.UNHEALTHY}
    assert "step extract failed" in result.describe()
    assert [k.name.rsplit("-", 1)[0] for k in h.target.applied if k.kind == "Job"] == ["w-extract"]


def test_a_workflow_that_never_finishes_times_out(h: Harness) -> None:
    h.target.set_health(rid("workflow", "w"), Health.PENDING)
    result = h.cycle({"w.yaml": workflow("w", {"one": ()})})
    assert reasons(result) == {rid("workflow", "w"): FailureReason.TIMEOUT}
    assert "timed out after 30s" in result.describe()


# ----- prunes and the inventory


def test_a_resource_removed_from_the_source_is_pruned_and_forgotten(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    b_keys = keys_of(h.target, B)
    result = h.cycle({"a.yaml": worker("a"), "c.yaml": worker("c")}, revision="rev2")
    assert outcomes(result)[B] is Outcome.DELETED
    assert h.target.deleted == b_keys
    assert B not in h.target.inventory.entries
    assert "pruned worker/public/b" in h.lines


def test_a_failed_prune_stays_owned_and_the_next_cycle_retries(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    h.target.fail("delete")
    failed = h.cycle({"a.yaml": worker("a"), "c.yaml": worker("c")}, revision="rev2")
    assert reasons(failed)[B] is FailureReason.UNAVAILABLE
    assert B in h.target.inventory.entries, "re-tracked for the next cycle"
    retried = h.cycle({"a.yaml": worker("a"), "c.yaml": worker("c")}, revision="rev2")
    assert retried.ok and outcomes(retried)[B] is Outcome.DELETED
    assert B not in h.target.inventory.entries


def test_the_mass_prune_guard_refuses_and_deletes_nothing(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    result = h.cycle({"a.yaml": worker("a")}, revision="rev2")
    assert result.blocked_prune is not None
    assert (result.blocked_prune.deleting, result.blocked_prune.owned) == (2, 3)
    assert result.reason is FailureReason.PRUNE_REFUSED and not result.ok
    assert h.target.deleted == []
    assert commit_state(result) == (StatusState.FAILURE, result.blocked_prune.message())
    allowed = h.cycle({"a.yaml": worker("a")}, revision="rev2", allow_mass_prune=True)
    assert allowed.ok and {B, C} <= {r.id for r in allowed.resources if r.outcome == "deleted"}


def test_pruning_everything_is_refused_even_under_the_fraction(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a")}).ok
    result = h.cycle({}, revision="rev2", max_prune_fraction=1.0)
    assert result.blocked_prune is not None and "all" in result.blocked_prune.message()


def test_prune_off_keeps_what_the_source_dropped(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")}).ok
    result = h.cycle({"a.yaml": worker("a")}, revision="rev2", prune=False)
    assert result.ok and B not in outcomes(result)
    assert h.target.deleted == [] and B in h.target.inventory.entries


def test_a_removed_bundle_is_pruned_dependents_first(h: Harness) -> None:
    assert h.cycle({**PAIR_FILES, "b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    result = h.cycle(
        {"b.yaml": worker("b"), "c.yaml": worker("c")}, revision="rev2", max_prune_fraction=0.75
    )
    assert result.ok, result.describe()
    order = [line.split()[-1] for line in h.lines if line.startswith("pruned")]
    assert order == ["bundle/pair", "workflow/public/checker", "worker/public/a"]


# ----- what stops a cycle before anything is written


def test_invalid_manifests_render_and_write_nothing(h: Harness) -> None:
    result = h.cycle({"a.yaml": worker("a").replace("replicas: 1", "replica: 1")})
    assert result.reason is FailureReason.INVALID and result.permanent
    assert h.target.calls["render"] == 0 and h.target.writes == 0
    assert commit_state(result)[0] is StatusState.FAILURE


def test_resources_that_cannot_coexist_are_a_permanent_render_failure(h: Harness) -> None:
    files = {"a.yaml": worker("a"), "b.yaml": worker("a").replace("type:", "workspace: x\ntype:")}
    h.target.settings = RenderSettings(owner="test", namespaces={"x": "public"})
    result = h.cycle(files)
    assert result.reason is FailureReason.RENDER and result.permanent
    assert "would also be written for" in result.describe()
    assert h.target.writes == 0


def test_an_unreachable_target_stops_the_cycle_before_any_write(h: Harness) -> None:
    h.target.fail("observe")
    with pytest.raises(UnavailableError):
        h.cycle({"a.yaml": worker("a")})
    assert h.target.writes == 0


# ----- delete


def test_delete_runs_the_prune_path_in_reverse_order(h: Harness) -> None:
    assert h.cycle({**PAIR_FILES, "b.yaml": worker("b")}).ok
    config = AgentConfig(sync=SyncConfig(wait_timeout=WAIT, poll_interval=POLL))
    the_plan, result = reconcile.delete([PAIR], h.target, config)
    assert [r.id for r in the_plan.resources] == [PAIR, CHECKER, A]
    assert result.ok and set(outcomes(result).values()) == {Outcome.DELETED}
    assert set(h.target.inventory.entries) == {B}
    with pytest.raises(NotFoundError, match="not found: worker/public/a"):
        reconcile.delete([A], h.target, config)


def test_delete_saves_what_it_deleted_when_another_delete_fails(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")}).ok
    h.target.fail("delete", key=keys_of(h.target, A)[0])
    config = AgentConfig()
    _, result = reconcile.delete([A, B], h.target, config)
    assert outcomes(result) == {A: Outcome.FAILED, B: Outcome.DELETED}
    assert reasons(result)[A] is FailureReason.UNAVAILABLE
    assert set(h.target.inventory.entries) == {A}


# ----- results as commit statuses


def test_cycle_failures_of_the_agent_are_errors_not_failures() -> None:
    broken = SyncResult.failed("rev", FailureReason.SOURCE, "git server down")
    assert commit_state(broken) == (StatusState.ERROR, "git server down")
    assert not broken.permanent
    assert commit_state(SyncResult("rev")) == (StatusState.SUCCESS, "synced: nothing to do")


# ----- the inventory and statuses across cycles


def test_an_unchanged_resource_keeps_the_revision_it_was_applied_from(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")}).ok
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b", 2)}, revision="rev2").ok
    revisions = {rid: e.revision for rid, e in h.target.inventory.entries.items()}
    assert revisions == {A: "rev1", B: "rev1"}, "a field change is recorded on the object"


def test_a_resource_moved_to_another_file_is_an_update_not_a_prune(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")}).ok
    result = h.cycle({"moved/a.yaml": worker("a"), "b.yaml": worker("b")}, revision="rev2")
    assert outcomes(result) == {A: Outcome.CONFIGURED, B: Outcome.UNCHANGED}
    assert h.target.deleted == [], "its source-file annotation changed, nothing else"
    entry = h.target.inventory.entry(A)
    assert entry is not None and (entry.file, entry.revision) == ("moved/a.yaml", "rev2")


def test_waits_are_reported_when_they_change_and_every_few_seconds(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)
    h.cycle(PAIR_FILES)
    waits = [line for line in h.lines if line.startswith("waiting") and "checker waits" in line]
    assert waits[0].startswith("waiting 0s: workflow/public/checker waits for")
    assert 5 <= len(waits) <= 8, "one line every 5 s of a 30 s wait, not one per poll"


def test_a_scheduled_workflow_is_active_with_its_next_run(h: Harness) -> None:
    text = workflow("nightly", {"run": ()}).replace(
        "spec:\n  dag:", "spec:\n  schedule:\n    crons: ['0 1 * * *']\n  dag:", 1
    )
    result = h.cycle({"nightly.yaml": text})
    assert result.ok, result.describe()
    assert [key.kind for key in h.target.applied] == ["CronJob"]
    status = next(r.status for r in result.resources)
    assert status is not None and status.runtime == "next:2030-01-01T01:00:00Z"


def test_other_owners_objects_are_seen_only_when_asked(h: Harness) -> None:
    theirs = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "x",
            "namespace": "public",
            "labels": {
                "gitops-agent.dataos.info/owner": "someone-else",
                "gitops-agent.dataos.info/resource-type": "worker",
                "gitops-agent.dataos.info/resource-name": "x",
                "gitops-agent.dataos.info/workspace": "public",
            },
        },
        "spec": {"replicas": 1},
    }
    h.target.seed(theirs)
    assert observe(h.target).live == {}
    everyone = observe(h.target, all_owners=True)
    assert everyone.owners == {rid("worker", "x"): "someone-else"}


# ----- what is not ours


def foreign_deployment(name: str, **extra_labels: str) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "public",
            "labels": dict(extra_labels),
            "managedFields": [{"manager": "kubectl-create", "operation": "Update"}],
        },
        "spec": {"replicas": 3},
    }


OUR_LABELS = {
    "gitops-agent.dataos.info/managed-by": "gitops-agent",
    "gitops-agent.dataos.info/owner": "test",
    "gitops-agent.dataos.info/resource-type": "worker",
    "gitops-agent.dataos.info/resource-name": "a",
    "gitops-agent.dataos.info/workspace": "public",
}


def test_an_object_someone_else_made_is_a_conflict_never_written(h: Harness) -> None:
    key = h.target.seed(foreign_deployment("a"))
    result = h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b")})
    assert reasons(result) == {A: FailureReason.CONFLICT, B: None}
    message = next(r.message for r in result.resources if r.id == A)
    assert "Deployment/public/a exists and was not created by this agent" in message
    assert "kubectl-create (Update)" in message and "--adopt" in message
    assert key not in h.target.applied and h.target.objects[key]["spec"] == {"replicas": 3}
    assert key not in (h.target.inventory.entry(A).objects if h.target.inventory.entry(A) else ())


def test_adopt_takes_the_object_over_and_records_it(h: Harness) -> None:
    key = h.target.seed(foreign_deployment("a"))
    uid = h.target.objects[key]["metadata"]["uid"]
    result = h.cycle({"a.yaml": worker("a")}, adopt=True)
    assert result.ok, result.describe()
    assert h.target.objects[key]["metadata"]["uid"] == uid, "taken over, not replaced"
    entry = h.target.inventory.entry(A)
    assert entry is not None and entry.uids[key] == uid
    assert any(line.startswith("adopted Deployment/public/a") for line in h.lines)
    again = h.cycle({"a.yaml": worker("a")})
    assert again.ok and again.writes == 0


def test_the_adopt_annotation_on_the_object_is_enough(h: Harness) -> None:
    taken = foreign_deployment("a")
    taken["metadata"]["annotations"] = {"gitops-agent.dataos.info/adopt": "true"}  # type: ignore[index]
    h.target.seed(taken)
    assert h.cycle({"a.yaml": worker("a")}).ok


def test_a_look_alike_with_our_labels_is_never_deleted(h: Harness) -> None:
    assert h.cycle({"b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    key = h.target.seed(foreign_deployment("a", **OUR_LABELS))
    for revision in ("rev2", "rev3"):
        result = h.cycle({"b.yaml": worker("b"), "c.yaml": worker("c")}, revision=revision)
        assert result.ok and A not in outcomes(result)
    assert key in h.target.objects and key not in h.target.deleted
    assert any(line.startswith("left alone: Deployment/public/a") for line in h.lines)


def test_a_replaced_object_is_not_ours_any_more(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a"), "b.yaml": worker("b"), "c.yaml": worker("c")}).ok
    key = keys_of(h.target, A)[0]
    h.target.objects[key]["metadata"]["uid"] = "someone-elses"
    result = h.cycle({"b.yaml": worker("b"), "c.yaml": worker("c")}, revision="rev2")
    assert outcomes(result)[A] is Outcome.DELETED, "the entry is forgotten"
    assert key in h.target.objects and key not in h.target.deleted, "the object is left alone"


def test_what_is_created_is_recorded_before_and_its_uid_after(h: Harness) -> None:
    h.target.fail("apply", error=UnavailableError("gone"), times=100)
    failed = h.cycle({"a.yaml": worker("a")})
    assert not failed.ok
    entry = h.target.inventory.entry(A)
    assert entry is not None and entry.objects and entry.uids == {}, "recorded, uid unknown"
    h.target.clear_faults()
    assert h.cycle({"a.yaml": worker("a")}).ok
    entry = h.target.inventory.entry(A)
    assert entry is not None
    assert entry.uids == {k: h.target.objects[k]["metadata"]["uid"] for k in entry.objects}


def test_an_object_made_just_before_a_crash_is_claimed_not_duplicated(h: Harness) -> None:
    """The intent record of the first cycle, then the object, then the crash (no final
    inventory write): the next cycle recognises the object as ours."""
    first = h.cycle({"a.yaml": worker("a")})
    assert first.ok
    entry = h.target.inventory.entry(A)
    assert entry is not None
    h.target.inventory = h.target.inventory.with_entries([replace(entry, uids={})])
    again = h.cycle({"a.yaml": worker("a")})
    assert again.ok and outcomes(again) == {A: Outcome.UNCHANGED}
    claimed = h.target.inventory.entry(A)
    assert claimed is not None and claimed.uids, "the uid is recorded when claimed"


def test_a_failed_inventory_write_keeps_the_report(h: Harness) -> None:
    h.target.fail("save_inventory", times=1)
    result = h.cycle({"a.yaml": worker("a")})
    assert result.reason is FailureReason.INVENTORY
    assert "inventory not stored" in result.describe()
    assert h.target.writes == 0, "nothing is created when its record cannot be written first"
    assert h.cycle({"a.yaml": worker("a")}).ok


def test_a_failed_final_inventory_write_keeps_the_results(h: Harness) -> None:
    assert h.cycle({"a.yaml": worker("a")}).ok
    h.target.fail("save_inventory", times=1)
    result = h.cycle({"moved/a.yaml": worker("a")}, revision="rev2")
    assert result.reason is FailureReason.INVENTORY
    assert outcomes(result) == {A: Outcome.CONFIGURED}, "the results are kept"


# ----- health


def test_apply_waits_until_a_worker_is_ready(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)

    def ready(sleeps: int) -> None:
        if sleeps == 4:
            h.target.set_health(A, Health.READY)

    h.on_sleep = ready
    result = h.cycle({"a.yaml": worker("a", 2)})
    assert result.ok and sum(h.clock.slept) == 4 * POLL
    assert any(
        "worker/public/a waits to be ready (now status active, runtime pending" in x
        for x in h.lines
    )


def test_a_worker_never_ready_times_out_with_why(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)
    result = h.cycle({"a.yaml": worker("a", 2)})
    assert reasons(result) == {A: FailureReason.TIMEOUT}
    assert "timed out after 30s waiting to be ready (now status active" in result.describe()
    assert "0/2 replicas ready" in result.describe()


def test_no_wait_keeps_submitting_only(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)
    result = h.cycle({"a.yaml": worker("a")}, wait=False)
    assert result.ok and h.clock.slept == []


def test_a_target_unreadable_during_a_wait_keeps_the_cycle_and_its_records(h: Harness) -> None:
    h.target.set_health(A, Health.PENDING)

    def flaky(sleeps: int) -> None:
        if sleeps == 1:
            h.target.fail("observe", times=3)
        if sleeps == 6:
            h.target.set_health(A, Health.READY)

    h.on_sleep = flaky
    result = h.cycle(PAIR_FILES)
    assert result.ok, result.describe()
    assert sum("could not observe the target" in line for line in h.lines) == 3
    assert set(h.target.inventory.entries) == {A, CHECKER, PAIR}
