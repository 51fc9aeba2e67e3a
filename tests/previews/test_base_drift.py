"""What a preview marks "live differs from base too", on an in-memory target: resources the
pull request touches are planned again from the base; those it leaves are judged from the
head's plan; either way the target is read once."""

from __future__ import annotations

from gitops_agent.engine import reconcile
from gitops_agent.engine.preview import preview
from gitops_agent.testing.fake import FakeTarget
from tests.engine.test_engine_on_fake import desired_of, rid, worker


def test_live_differs_from_base_only_where_it_does() -> None:
    target = FakeTarget()
    base = desired_of({f"{n}.yaml": worker(n) for n in ("a", "b", "c", "d")})
    assert reconcile.reconcile(base, target, revision="base").ok
    for name in ("b", "c"):  # changed out of band: scaled by hand
        live = next(o for k, o in target.objects.items() if k.name == name)
        live["spec"]["replicas"] = 5
    head = desired_of(
        {
            "a.yaml": worker("a", replicas=2),  # touched, live as the base says
            "b.yaml": worker("b", replicas=2),  # touched, live differs from the base
            "c.yaml": worker("c"),  # untouched, live differs from the base
            "d.yaml": worker("d"),  # untouched, as the base says
        }
    )
    observed, written = target.calls["observe"], target.writes
    found = preview(head, target, head_revision="head", base=base, base_revision="base")
    assert found.base_drift == {rid("worker", "b"), rid("worker", "c")}
    assert target.calls["observe"] - observed == 1, "one read of the target serves both"
    assert target.writes == written, "a preview writes nothing"
