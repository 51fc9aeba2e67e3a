"""Reading a checkout by its commit's listing, and the agent's incremental cycles on git.

``read_listed`` must give the tree ``read_tree`` gives (hidden paths skipped, files that
are not UTF-8 or too large as problems), reuse the text of every blob the previous tree
read, and step aside (None) for a listing with a symlink. The agent loop following a real
repository reads, after a one-file commit, only that file again.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.yamldoc import MAX_FILE_BYTES
from gitops_agent.service.agent import AgentLoop, AgentParts
from gitops_agent.sources import directory
from gitops_agent.sources.git import GitSource, GitSourceSpec
from gitops_agent.sources.revisions import GitRevisions
from gitops_agent.testing.fake import FakeTarget
from tests.sources.conftest import commit, git


def worker(name: str, replicas: int = 1) -> str:
    return (
        f"version: v2alpha\nname: {name}\ntype: worker\nspec:\n  compute: runnable-default\n"
        f"  replicas: {replicas}\n  stack: container\n  stackSpec: {{image: alpine:3.20}}\n"
    )


def checkout(upstream: Path, tmp_path: Path) -> tuple[GitSource, Path, str]:
    source = GitSource(GitSourceSpec(url=str(upstream), ref="main"), tmp_path / "cache")
    done = source.checkout()
    return source, done.root, done.revision


def test_a_listed_read_is_the_walk_and_reuses_unchanged_blobs(
    upstream: Path, tmp_path: Path
) -> None:
    commit(
        upstream,
        {
            "workers/b.yaml": worker("b"),
            ".hidden/c.yaml": worker("c"),
            "workers/.d.yml": worker("d"),
            "notes.txt": "not a manifest\n",
            "big.yaml": "a: " + "x" * MAX_FILE_BYTES + "\n",
        },
    )
    (upstream / "latin.yaml").write_bytes(b"name: caf\xe9\n")
    git(upstream, "add", "-A")
    git(upstream, "commit", "--quiet", "-m", "latin")
    source, root, revision = checkout(upstream, tmp_path)
    walked = directory.read_tree(root)
    listed = directory.read_listed(root, source.listing(revision), None)
    assert listed is not None
    assert (listed.files, listed.problems, listed.positions) == (
        walked.files,
        walked.problems,
        walked.positions,
    )
    assert set(listed.blobs) == set(listed.files) | set(listed.problems)

    newer = commit(upstream, {"workers/b.yaml": worker("b", replicas=2)})
    root = source.checkout(newer).root
    again = directory.read_listed(root, source.listing(newer), listed)
    assert again is not None
    assert again.files == directory.read_tree(root).files
    assert again.files["workers/a.yaml"] is listed.files["workers/a.yaml"], "reused"
    assert again.files["workers/b.yaml"] != listed.files["workers/b.yaml"]


def test_a_listing_with_a_symlink_is_left_to_the_walk(upstream: Path, tmp_path: Path) -> None:
    os.symlink("a.yaml", upstream / "workers" / "link.yaml")
    git(upstream, "add", "-A")
    git(upstream, "commit", "--quiet", "-m", "link")
    source, root, revision = checkout(upstream, tmp_path)
    assert directory.read_listed(root, source.listing(revision), None) is None


def test_the_agent_reads_only_what_a_commit_changed(upstream: Path, tmp_path: Path) -> None:
    commit(
        upstream,
        {f"workers/w{i}.yaml": worker(f"w{i}") for i in range(6)} | {"workers/a.yaml": worker("a")},
    )
    target = FakeTarget(owner="gitops-agent")
    source = GitSource(GitSourceSpec(url=str(upstream), ref="main"), tmp_path / "cache")
    parts = AgentParts(
        config=AgentConfig(),
        config_path=None,
        source=GitRevisions(source),
        make_target=lambda config: target,
        reporter=_Silent(),
    )
    loop = AgentLoop(parts)
    first = loop.poll()
    assert first is not None and first.ok, first.describe() if first else None
    assert loop.cache is not None and loop.cache.tree is not None
    assert loop.cache.tree.blobs, "read by the commit's listing"
    hits = loop.cache.files.hits
    renders = target.calls["render"]
    commit(upstream, {"workers/w3.yaml": worker("w3", replicas=3)})
    second = loop.poll()
    assert second is not None and second.ok, second.describe() if second else None
    assert loop.cache.files.hits - hits == 6, "every file but the changed one"
    assert target.calls["render"] == renders + 1
    assert [r.id.name for r in second.resources if r.outcome.value != "unchanged"] == ["w3"]


class _Silent:
    def report(self, revision: str, status: object) -> None:
        return None
