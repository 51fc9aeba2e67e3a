"""Drift checks and heals of the engine on the in-memory fake target: the applied revision
found from what objects record (never an unapplied one), objects compared with their own
revision, deleted objects created again with their new uid recorded, objects that are not
the agent's left alone, ignored fields kept as they are live, and a check that writes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping

import pytest

from gitops_agent.core.drift import HealOutcome, ObjectDriftKind
from gitops_agent.core.kinds import ObjectKey
from gitops_agent.engine import drift as drifting
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired
from gitops_agent.engine.observing import observe
from gitops_agent.errors import SourceError
from gitops_agent.testing.fake import FakeTarget, ManualClock
from tests.engine.test_engine_on_fake import A, B, desired_of, worker

DEPLOY_A = ObjectKey("apps/v1", "Deployment", "public", "a")
DEPLOY_B = ObjectKey("apps/v1", "Deployment", "public", "b")


class History:
    """Revisions in order, oldest first, each a set of files: the ``Revisions`` port."""

    def __init__(self, revisions: Mapping[str, Mapping[str, str]], **sync: object) -> None:
        self.files = dict(revisions)
        self.order = list(revisions)
        self.sync = sync
        self.read: list[str] = []

    def newest(self, revisions: Collection[str]) -> str:
        return max(revisions, key=self.order.index)

    def desired(self, revision: str) -> Desired:
        if revision not in self.files:
            raise SourceError(f"no revision {revision}")
        self.read.append(revision)
        return desired_of(self.files[revision], **self.sync)


def applied(target: FakeTarget, history: History, revision: str) -> None:
    clock = ManualClock()
    options = reconcile.CycleOptions(clock=clock, sleep=clock.sleep)
    result = reconcile.reconcile(
        history.desired(revision), target, revision=revision, options=options
    )
    assert result.ok, result.describe()


def check(target: FakeTarget, history: History) -> drifting.DriftReport:
    seen = observe(target)
    revision = drifting.applied_revision(seen, history)
    assert revision is not None
    return drifting.check(
        history.desired(revision), target, seen, revision=revision, revisions=history
    )


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


def test_no_drift_after_an_apply_and_no_write(target: FakeTarget) -> None:
    history = History({"r1": {"a.yaml": worker("a"), "b.yaml": worker("b")}})
    applied(target, history, "r1")
    before, lookups = target.writes, target.calls["lookup"]
    report = check(target, history)
    assert not report.has_drift and report.checked == 2 and report.revision == "r1"
    assert target.writes == before and target.calls["lookup"] == lookups


def test_the_last_applied_revision_not_a_newer_unapplied_one(target: FakeTarget) -> None:
    history = History(
        {
            "r1": {"a.yaml": worker("a"), "b.yaml": worker("b")},
            "r2": {"a.yaml": worker("a", replicas=2), "b.yaml": worker("b")},
            "r3": {"a.yaml": worker("a", replicas=5), "b.yaml": worker("b")},  # not applied
        }
    )
    applied(target, history, "r1")
    applied(target, history, "r2")
    report = check(target, history)
    assert report.revision == "r2" and not report.has_drift
    assert "r3" not in history.read
    target.objects[DEPLOY_A]["spec"]["replicas"] = 4
    (found,) = check(target, history).objects
    assert (found.fields[0].git, found.fields[0].live) == (2, 4)


def test_an_object_compares_with_its_own_revision(target: FakeTarget) -> None:
    history = History(
        {
            "r1": {"a.yaml": worker("a"), "b.yaml": worker("b"), "c.yaml": worker("c")},
            "r2": {"a.yaml": worker("a"), "b.yaml": worker("b", 3), "c.yaml": worker("c", 3)},
        }
    )
    applied(target, history, "r1")
    before = copy.deepcopy(target.objects[DEPLOY_B])
    applied(target, history, "r2")
    # a's Deployment still says r1: r2 renders it alike, so r1 is not read again
    history.read.clear()
    assert not check(target, history).has_drift and history.read == ["r2"]
    # b's write at r2 failed: it holds what r1 applied, and says so
    target.objects[DEPLOY_B] = before
    report = check(target, history)
    assert report.revision == "r2" and not report.has_drift, "an unapplied change is not drift"
    assert history.read == ["r2", "r2", "r1"]
    target.objects[DEPLOY_B]["spec"]["replicas"] = 5
    (found,) = check(target, history).objects
    assert (found.revision, found.fields[0].git, found.fields[0].live) == ("r1", 1, 5)


def test_heal_restores_recreates_and_records_the_new_uid(target: FakeTarget) -> None:
    history = History({"r1": {"a.yaml": worker("a"), "b.yaml": worker("b")}})
    applied(target, history, "r1")
    old_uid = target.objects[DEPLOY_B]["metadata"]["uid"]
    target.objects[DEPLOY_A]["spec"]["replicas"] = 3
    del target.objects[DEPLOY_B]
    seen = observe(target)
    report = drifting.check(history.desired("r1"), target, seen, revision="r1", revisions=history)
    assert {(o.key, o.kind) for o in report.objects} == {
        (DEPLOY_A, ObjectDriftKind.CHANGED),
        (DEPLOY_B, ObjectDriftKind.DELETED),
    }
    assert report.lookups == 1
    applies = target.calls["apply"]
    healed, inventory = drifting.heal(report, target, seen.inventory)
    assert {h.key: h.outcome for h in healed} == {
        DEPLOY_A: HealOutcome.HEALED,
        DEPLOY_B: HealOutcome.RECREATED,
    }
    assert target.calls["apply"] == applies + 2, "one apply per drifted object"
    new_uid = target.objects[DEPLOY_B]["metadata"]["uid"]
    entry = inventory.entry(B)
    assert entry is not None and entry.uids[DEPLOY_B] == new_uid != old_uid
    target.save_inventory(inventory, previous=seen.inventory)
    assert not check(target, history).has_drift
    assert target.objects[DEPLOY_A]["spec"]["replicas"] == 1
    plan = reconcile.make_plan(history.desired("r1"), target, revision="r1").plan
    assert not plan.has_changes, "the next sync sees its own objects"


def test_an_object_replaced_by_someone_else_is_left_alone(target: FakeTarget) -> None:
    history = History({"r1": {"a.yaml": worker("a")}})
    applied(target, history, "r1")
    target.objects[DEPLOY_A]["metadata"]["uid"] = "someone-else"
    target.objects[DEPLOY_A]["spec"]["replicas"] = 2
    seen = observe(target)
    report = drifting.check(history.desired("r1"), target, seen, revision="r1", revisions=history)
    (found,) = report.objects
    assert found.kind is ObjectDriftKind.REPLACED
    applies = target.calls["apply"]
    (healing,), _ = drifting.heal(report, target, seen.inventory)
    assert healing.outcome is HealOutcome.SKIPPED and target.calls["apply"] == applies
    target.objects[DEPLOY_A]["metadata"].setdefault("annotations", {})[
        "gitops-agent.dataos.info/adopt"
    ] = "true"
    report = drifting.check(
        history.desired("r1"), target, observe(target), revision="r1", revisions=history
    )
    (healing,), inventory = drifting.heal(report, target, observe(target).inventory)
    assert healing.outcome is HealOutcome.HEALED
    entry = inventory.entry(A)
    assert entry is not None and entry.uids[DEPLOY_A] == "someone-else", "adopted: recorded"


def test_heal_keeps_ignored_fields_as_they_are_live(target: FakeTarget) -> None:
    ignore = ({"kind": "Deployment", "name": "a", "pointers": ["/spec/replicas"]},)
    history = History({"r1": {"a.yaml": worker("a")}}, ignore=ignore)
    applied(target, history, "r1")
    live = target.objects[DEPLOY_A]
    live["spec"]["replicas"] = 4
    assert not check(target, history).has_drift, "the ignore rule silences replicas"
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "alpine:3.19"
    seen = observe(target)
    wanted = history.desired("r1")
    report = drifting.check(wanted, target, seen, revision="r1", revisions=history)
    drifting.heal(report, target, seen.inventory, ignore=drifting.config_rules(wanted))
    healed = target.objects[DEPLOY_A]
    assert healed["spec"]["replicas"] == 4
    assert healed["spec"]["template"]["spec"]["containers"][0]["image"] == "alpine:3.20"


def test_nothing_applied_and_unreadable_revisions(target: FakeTarget) -> None:
    history = History({"r1": {"a.yaml": worker("a")}})
    assert drifting.applied_revision(observe(target), history) is None
    applied(target, history, "r1")
    target.objects[DEPLOY_A]["metadata"]["annotations"]["gitops-agent.dataos.info/revision"] = (
        "gone"
    )
    target.objects[DEPLOY_A]["spec"]["replicas"] = 2
    seen = observe(target)
    report = drifting.check(history.desired("r1"), target, seen, revision="r1", revisions=history)
    assert report.has_drift and any("revision gone" in note for note in report.notes)
