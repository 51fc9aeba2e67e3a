"""Previews in ``run`` end to end (issue 15, acceptance 1 to 5 and 7): a real agent process
follows a repository served by ``git daemon``, applies ``main`` to kubesim, and previews the
pull requests each forge emulator (GitHub, GitLab, Gitea, Bitbucket) lists: statuses on the
head, one comment per pull request edited in place, never a write to the cluster, the
agent's own configuration, forks left alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitops_agent.testing.kubesim.simulator import KubeSim
from tests.previews.support import (
    FORGES,
    REPO,
    Running,
    add_writer,
    edit,
    final_preview,
    preview_states,
    running_agent,
    writes,
)


@pytest.fixture(params=sorted(FORGES))
def agent(request: pytest.FixtureRequest, tmp_path: Path, kubesim: KubeSim) -> Iterator[Running]:
    with running_agent(request.param, tmp_path, kubesim, {"enabled": True}) as running:
        yield running


def test_a_pull_request_is_previewed_commented_once_and_never_applied(
    agent: Running,
) -> None:
    pulls, kubesim = agent.pulls, agent.kubesim
    before = writes(kubesim)

    def scale_and_add(work: Path) -> None:
        edit("tests/worker/sleep-worker/worker.yaml", "replicas: 1", "replicas: 3")(work)
        add_writer("second-writer")(work)

    head = pulls.push(7, scale_and_add)
    assert final_preview(agent, head) == (agent.forge.success, "+1 ~1 -0")
    assert (agent.forge.pending, f"previewing {head[:7]}") in preview_states(agent, head)
    (comment,) = agent.emulator.comments(REPO, 7)
    assert "spec.replicas: 1 -> 3" in comment.body
    if agent.forge.html:
        assert "<code>worker/public/second-writer</code>" in comment.body
        assert "<details><summary>" in comment.body
    else:
        assert "`worker/public/second-writer`" in comment.body
        assert "<details>" not in comment.body and "<code>" not in comment.body
    assert f"Head `{head[:12]}`" in comment.body
    assert writes(kubesim) == before, "a preview never writes to the cluster"

    second = pulls.push(7, add_writer("third-writer"))
    third = pulls.push(7, edit("workers/third-writer.yaml", "replicas: 1", "replicas: 2"))
    assert final_preview(agent, third) == (agent.forge.success, "+2 ~1 -0")
    (comment,) = agent.emulator.comments(REPO, 7)
    assert f"Head `{third[:12]}`" in comment.body, "one comment, edited to the newest head"
    assert second != third and writes(kubesim) == before


def test_an_invalid_pull_request_fails_with_every_violation(
    agent: Running,
) -> None:
    pulls = agent.pulls

    def break_two(work: Path) -> None:
        edit("workers/report-writer.yaml", "replicas: 1", "replica: 1")(work)
        (work / "workers/bad.yaml").write_text("version: v2alpha\nname: Bad_Name\ntype: worker\n")

    head = pulls.push(8, break_two)
    state, description = final_preview(agent, head)
    assert state == agent.forge.failure and description.startswith("invalid: workers/")
    (comment,) = agent.emulator.comments(REPO, 8)
    assert "workers/report-writer.yaml:" in comment.body and "workers/bad.yaml:" in comment.body
    if agent.forge.blob is None:
        assert "](http" not in comment.body, "no guessed links on a self-hosted API address"
    else:
        assert f"/org/manifests{agent.forge.blob}{head}/workers/" in comment.body


def test_the_base_configuration_is_used_and_a_fork_is_left_alone(
    agent: Running,
) -> None:
    pulls, kubesim = agent.pulls, agent.kubesim
    before = writes(kubesim)

    def takeover(work: Path) -> None:
        config = work / "gitops-agent.yaml"
        text = config.read_text().replace("name: sample", "name: intruder")
        config.write_text(text + "target:\n  workspaces: {public: kube-system}\n")

    head = pulls.push(9, takeover)
    assert final_preview(agent, head) == (agent.forge.success, "+0 ~0 -0")
    (comment,) = agent.emulator.comments(REPO, 9)
    assert "edits gitops-agent.yaml, which this agent does not read" in comment.body
    fork = pulls.push(10, add_writer("forked-writer"), fork=True)
    assert final_preview(agent, fork) == (
        agent.forge.success,
        "fork pull requests are not previewed",
    )
    assert agent.emulator.comments(REPO, 10) == []
    assert writes(kubesim) == before
