"""Previews of explicit heads (notes, log), the builder of preview ports, and markers."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gitops_agent.errors import ConfigError, ReporterError
from gitops_agent.reporters import (
    PreviewPorts,
    ReporterKind,
    ReporterSpec,
    build_pull_requests,
    preview_marker,
)
from gitops_agent.reporters.bitbucket_pulls import BitbucketPullRequests
from gitops_agent.reporters.gitea_pulls import GiteaPullRequests
from gitops_agent.reporters.github_pulls import GitHubPullRequests
from gitops_agent.reporters.gitlab_pulls import GitLabPullRequests
from gitops_agent.reporters.previewwriters import LogPreviewWriter, NotesPreviewWriter
from gitops_agent.reporters.pulls import check_marker, closing_body
from gitops_agent.testing.forges.gitserve import GitDaemon
from tests.sources.conftest import commit, git

PREVIEWS_REF = "refs/notes/gitops-agent-previews"


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, str]:
    """A bare repository ``served/manifests.git`` whose main has two commits; the head SHA."""
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "--quiet", "-b", "main")
    commit(work, {"a.yaml": "name: a\n"}, "base")
    head = commit(work, {"a.yaml": "name: a\nreplicas: 3\n"}, "scale a")
    (tmp_path / "served").mkdir()
    git(tmp_path / "served", "clone", "--quiet", "--bare", str(work), "manifests.git")
    return tmp_path / "served", head


def read_note(url: str, sha: str, where: Path) -> str:
    """The previews note of ``sha`` as a fresh clone of ``url`` sees it."""
    git(where, "clone", "--quiet", url, "reader")
    git(where / "reader", "fetch", "--quiet", "origin", f"{PREVIEWS_REF}:{PREVIEWS_REF}")
    return git(where / "reader", "notes", "--ref", "gitops-agent-previews", "show", sha)


def test_notes_writer_puts_the_preview_on_the_head_commit(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    base, head = served
    with GitDaemon(base, allow_push=True) as daemon:
        url = daemon.url("manifests.git")
        ports = build_pull_requests(
            ReporterSpec(ReporterKind.NOTES), source_url=url, cache_dir=tmp_path / "cache"
        )
        assert not ports.lists_pull_requests and ports.heads is not None
        marker = preview_marker("production")
        ports.heads.write(head, marker, "## Preview of scale a\n\n`spec.replicas: 1 -> 2`")
        where = ports.heads.write(head, marker, "## Preview of scale a\n\n`spec.replicas: 1 -> 3`")
        staging = NotesPreviewWriter(url, cache_dir=tmp_path / "other", notes_ref=PREVIEWS_REF)
        staging.write(head, preview_marker("staging"), "## Staging preview\n\nno changes")
        big = "x" * 300_000  # more than one argv entry may hold
        staging.write(head, preview_marker("big"), big)
        note = read_note(url, head, tmp_path)
        statuses = git(base / "manifests.git", "for-each-ref", "refs/notes/")
    assert where == f"git note {PREVIEWS_REF} of {head[:7]}"
    assert note.count("<!-- gitops-agent preview production -->") == 1
    assert "spec.replicas: 1 -> 3" in note and "1 -> 2" not in note  # replaced, not appended
    assert "## Staging preview" in note and big in note  # other agents' sections kept
    assert statuses.split()[-1] == PREVIEWS_REF  # the statuses' notes ref is not touched


def test_notes_writer_refuses_what_is_not_a_commit(tmp_path: Path) -> None:
    writer = NotesPreviewWriter(str(tmp_path), cache_dir=tmp_path / "c", notes_ref=PREVIEWS_REF)
    with pytest.raises(ReporterError, match="full commit SHA"):
        writer.write("main", preview_marker("p"), "plan")


def test_log_writer_writes_one_line(caplog: pytest.LogCaptureFixture) -> None:
    body = "<!-- gitops-agent preview p -->\n\n### Preview: +1 ~1 -0 \x1b[31m\n\n| a | b |\n"
    with caplog.at_level(logging.INFO, logger="gitops_agent.previews"):
        where = LogPreviewWriter().write("3f786850e387550fdab836ed7e6dc881de23001b", "p x", body)
    (record,) = caplog.records
    assert where == "the log"
    assert record.getMessage() == "preview 3f78685 [p x]: Preview: +1 ~1 -0 [31m (5 lines)"


def test_build_pull_requests_chooses_by_reporter_kind(tmp_path: Path) -> None:
    expected = {
        ReporterKind.GITHUB: GitHubPullRequests,
        ReporterKind.GITLAB: GitLabPullRequests,
        ReporterKind.GITEA: GiteaPullRequests,
        ReporterKind.BITBUCKET: BitbucketPullRequests,
    }
    for kind, client in expected.items():
        spec = ReporterSpec(
            kind, api_url="https://forge.example/api", repository="a/b", token_env="T"
        )
        ports = build_pull_requests(spec, environ={})
        assert isinstance(ports.pulls, client) and ports.lists_pull_requests
    assert isinstance(build_pull_requests(ReporterSpec()).heads, LogPreviewWriter)
    with pytest.raises(ConfigError, match=r"reporter\.url is required"):
        build_pull_requests(ReporterSpec(ReporterKind.GITEA, repository="a/b", token_env="T"))
    with pytest.raises(ConfigError, match="source URL"):
        build_pull_requests(ReporterSpec(ReporterKind.NOTES))
    with pytest.raises(ConfigError, match="not owner/name"):
        build_pull_requests(ReporterSpec(ReporterKind.GITHUB, repository="a/../b", token_env="T"))
    with pytest.raises(ConfigError, match="tokenEnv"):
        build_pull_requests(ReporterSpec(ReporterKind.GITHUB, repository="a/b"))
    with pytest.raises(ValueError, match="exactly one"):
        PreviewPorts()


def test_markers_and_final_lines() -> None:
    assert preview_marker("production") == "gitops-agent preview production"
    assert check_marker("<!-- gitops-agent preview p -->") == "gitops-agent preview p"
    for bad in ("x -->", "two\nlines", "", "a)b", "x" * 200):
        with pytest.raises(ReporterError):
            check_marker(bad)
    assert closing_body("plan\n", "Merged.") == "plan\n\nMerged.\n"
    assert closing_body("plan\n\nMerged.\n", "Merged.") == "plan\n\nMerged.\n"
