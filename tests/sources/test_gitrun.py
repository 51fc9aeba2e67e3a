"""sources.gitrun: git run by the agent starts no program a repository's config names, uses
no system or global config, and reaches only the allowed transports (real git, real repos)."""

from __future__ import annotations

import contextlib
import re
import subprocess
from pathlib import Path

import git
import pytest

import gitops_agent
from gitops_agent.sources import gitrun
from gitops_agent.sources.snapshot import working_tree_revision
from gitops_agent.testing.forges.serving import free_port
from tests.security.hostile import WORKER, Markers, hostile_repository
from tests.security.hostile import git as plain_git


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Markers]:
    repo, markers = hostile_repository(tmp_path)
    return repo, markers


def run_ignoring_failure(args: list[str], repo: Path) -> None:
    with contextlib.suppress(git.GitCommandError):
        gitrun.run(args, cwd=repo, config=gitrun.filter_overrides(repo), timeout=30)


def test_the_hostile_repository_is_armed_for_plain_git(hostile: tuple[Path, Markers]) -> None:
    repo, markers = hostile
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, timeout=30, check=False)
    assert "included-fsmonitor" in markers.fired()
    assert "filter-process" in markers.fired()


@pytest.mark.parametrize(
    "args",
    [
        ["status", "--porcelain"],
        ["diff", "--raw"],
        ["add", "-A", "--dry-run"],
        ["log", "-1"],
        ["checkout", "--quiet", "--force", "--detach", "HEAD", "--"],
        ["stash", "list"],
        ["ls-remote", "--", "origin"],
        ["fetch", "--quiet", "--", "origin"],
        ["notes", "add", "-f", "-m", "x", "HEAD"],
        ["update-ref", "refs/heads/other", "HEAD"],
    ],
)
def test_commands_in_a_hostile_repository_start_nothing(
    args: list[str], hostile: tuple[Path, Markers]
) -> None:
    repo, markers = hostile
    run_ignoring_failure(args, repo)
    assert markers.fired() == []


def test_a_filter_whose_name_holds_an_equals_sign_is_disarmed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    markers = Markers(tmp_path / "markers")
    markers.directory.mkdir()
    plain_git(repo, "init", "--quiet")
    (repo / ".gitattributes").write_text("* filter=a=b\n")
    (repo / "f.txt").write_text("one\n")
    plain_git(repo, "add", "-A")
    plain_git(repo, "commit", "--quiet", "-m", "one")
    plain_git(repo, "config", "filter.a=b.clean", f"{markers.touch('clean')}; cat")
    (repo / "f.txt").write_text("two\n")
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, timeout=30, check=False)
    assert markers.fired() == ["clean"]  # armed for plain git
    markers.reset()
    overrides = gitrun.filter_overrides(repo)
    assert ("filter.a=b.clean", "") in overrides
    assert "M f.txt" in str(gitrun.run(["status", "--short"], cwd=repo, config=overrides))
    assert markers.fired() == []


def test_the_directory_revision_is_read_without_running_anything(
    hostile: tuple[Path, Markers],
) -> None:
    repo, markers = hostile
    head = plain_git(repo, "rev-parse", "HEAD")
    assert working_tree_revision(repo) == (head, True)  # a manifest was modified
    assert working_tree_revision(repo / "workers") == (head, True)
    assert markers.fired() == []
    (repo / "workers" / "sleeper.yaml").write_text(WORKER)  # as committed
    assert working_tree_revision(repo) == (head, False)  # notes.txt is not a manifest
    assert markers.fired() == []


def test_a_repository_rewriting_urls_to_ext_reaches_no_command(
    hostile: tuple[Path, Markers],
) -> None:
    repo, markers = hostile
    evil = f"ext::sh -c {markers.touch('ext').replace(' ', '% ')}"
    plain_git(repo, "config", f"url.{evil}.insteadOf", "https://example.invalid/")
    for url in ("https://example.invalid/x.git", evil, "fd::0"):
        with pytest.raises(git.GitCommandError) as refused:
            gitrun.run(["ls-remote", "--", url], cwd=repo, timeout=30)
        assert "not allowed" in str(refused.value.stderr) or "ext" in str(refused.value.stderr)
    assert markers.fired() == []


def test_ssh_and_git_proxy_commands_of_the_repository_are_not_used(
    hostile: tuple[Path, Markers],
) -> None:
    repo, markers = hostile
    port = free_port()
    for url in (f"ssh://git@127.0.0.1:{port}/x.git", f"git://127.0.0.1:{port}/x.git"):
        with pytest.raises(git.GitCommandError):
            gitrun.run(["ls-remote", "--", url], cwd=repo, timeout=30)
    assert markers.fired() == []


def test_system_and_global_config_are_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = Markers(tmp_path / "markers")
    markers.directory.mkdir()
    config = tmp_path / "global.config"
    config.write_text(
        f"[core]\n\tfsmonitor = {markers.touch('global-fsmonitor')}; false\n"
        "[protocol]\n\tallow = always\n"
    )
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".gitconfig").write_text(config.read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_SYSTEM", str(config))
    repo = tmp_path / "repo"
    repo.mkdir()
    plain_git(repo, "init", "--quiet")
    (repo / "a.yaml").write_text("a: 1\n")
    gitrun.run(["status", "--porcelain"], cwd=repo)
    assert markers.fired() == []
    env = gitrun.environment()
    assert env["GIT_CONFIG_NOSYSTEM"] == "1" and env["GIT_CONFIG_GLOBAL"] == "/dev/null"


def test_the_environment_fixes_ssh_proxy_and_transports() -> None:
    env = gitrun.environment(environ={})
    assert env["GIT_SSH_COMMAND"] == "ssh" and env["GIT_PROXY_COMMAND"] == ""
    assert env["GIT_ALLOW_PROTOCOL"] == "file:git:http:https:ssh"
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    kept = gitrun.environment(environ={"GIT_SSH": "/opt/my ssh", "GIT_PROXY_COMMAND": "p"})
    assert kept["GIT_SSH_COMMAND"] == "'/opt/my ssh'" and kept["GIT_PROXY_COMMAND"] == "p"
    argv = gitrun.command(["status"])
    assert argv[:2] == ["git", "--no-pager"] and argv[-1] == "status"
    assert "core.fsmonitor=false" in argv and "protocol.ext.allow=never" in argv


def test_only_gitrun_starts_git() -> None:
    """No other module of the agent (test support aside) starts a git process."""
    package = Path(gitops_agent.__file__).parent
    starts = re.compile(r"""\bgit\.(?:Git|Repo)\b|\.execute\(|\[\s*["']git["']""")
    offenders = [
        path.relative_to(package).as_posix()
        for path in sorted(package.rglob("*.py"))
        if path.relative_to(package).parts[0] != "testing"
        and path.relative_to(package).as_posix() != "sources/gitrun.py"
        and starts.search(path.read_text())
    ]
    assert offenders == []
