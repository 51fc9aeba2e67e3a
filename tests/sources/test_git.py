"""GitSource against real repositories over file://, git daemon and smart HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops_agent.backoff import BackoffPolicy, retry_call
from gitops_agent.errors import ConfigError, SourceError
from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec, pick_revision
from gitops_agent.testing.forges.gitserve import GitDaemon, GitHttpServer
from gitops_agent.testing.forges.serving import free_port
from tests.sources.conftest import commit, git


def traced_commands(trace: Path) -> list[list[str]]:
    """argv of every git process started by us (top-level trace2 ``start`` events), from
    the subcommand on (the hardening options before it left out)."""
    if not trace.exists():
        return []
    commands = []
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "start" and "/" not in event.get("sid", ""):
            commands.append(without_global_options(event["argv"][1:]))
    return commands


def without_global_options(argv: list[str]) -> list[str]:
    """``argv`` after git's global options (``--no-pager``, ``-c KEY=VALUE``)."""
    index = 0
    while index < len(argv) and argv[index] in ("--no-pager", "-c"):
        index += 2 if argv[index] == "-c" else 1
    return argv[index:]


def traced_source(spec: GitSourceSpec, cache: Path, trace: Path) -> GitSource:
    return GitSource(spec, cache, extra_env={"GIT_TRACE2_EVENT": str(trace)})


def test_file_url_checkout_reads_the_ref(upstream: Path, tmp_path: Path) -> None:
    source = GitSource(GitSourceSpec(url=upstream.as_uri(), ref="main"), tmp_path / "cache")
    head = git(upstream, "rev-parse", "HEAD")
    assert source.remote_revision() == head
    checkout = source.checkout()
    assert checkout.revision == head
    assert checkout.ref == "main"
    assert (checkout.directory / "workers" / "a.yaml").read_text() == "name: a\n"
    assert checkout.root == source.workdir


def test_local_path_and_sub_path(upstream: Path, tmp_path: Path) -> None:
    spec = GitSourceSpec(url=str(upstream), ref="main", path="workers")
    checkout = GitSource(spec, tmp_path / "cache").checkout()
    assert checkout.directory == checkout.root.resolve() / "workers"
    assert sorted(p.name for p in checkout.directory.iterdir()) == ["a.yaml"]


def test_daemon_follows_new_commits_and_removes_deleted_files(
    upstream: Path, daemon: GitDaemon, tmp_path: Path
) -> None:
    source = GitSource(GitSourceSpec(url=daemon.url("manifests")), tmp_path / "cache")
    first = source.checkout()
    git(upstream, "rm", "--quiet", "workers/a.yaml")
    second_sha = commit(upstream, {"workers/b.yaml": "name: b\n"}, "replace a with b")
    assert source.remote_revision() == second_sha
    second = source.checkout(second_sha)
    assert second.revision == second_sha != first.revision
    assert sorted(p.name for p in (second.directory / "workers").iterdir()) == ["b.yaml"]


def test_no_change_poll_is_one_ls_remote_and_no_checkout(
    upstream: Path, daemon: GitDaemon, tmp_path: Path
) -> None:
    trace = tmp_path / "trace.json"
    source = traced_source(GitSourceSpec(url=daemon.url("manifests")), tmp_path / "c", trace)
    checkout = source.checkout()
    index_mtime = (checkout.root / ".git" / "index").stat().st_mtime_ns
    trace.unlink()

    assert source.remote_revision() == checkout.revision
    assert [argv[0] for argv in traced_commands(trace)] == ["ls-remote"]

    trace.unlink()
    again = source.checkout(checkout.revision)
    assert again == checkout
    assert traced_commands(trace) == []  # already there: no fetch, no checkout
    assert (checkout.root / ".git" / "index").stat().st_mtime_ns == index_mtime


@pytest.mark.parametrize("mode", list(FetchMode))
def test_fetch_modes_check_out_the_same_tree(
    mode: FetchMode, upstream: Path, daemon: GitDaemon, tmp_path: Path
) -> None:
    spec = GitSourceSpec(url=daemon.url("manifests"), fetch_mode=mode)
    checkout = GitSource(spec, tmp_path / "cache").checkout()
    assert (checkout.root / "README.md").read_text() == "hello\n"
    shallow = (checkout.root / ".git" / "shallow").exists()
    assert shallow is (mode is FetchMode.SHALLOW)
    promisor = git(checkout.root, "config", "--default", "", "remote.origin.promisor")
    assert (promisor == "true") is (mode is FetchMode.BLOBLESS)


def test_tags_pull_refs_and_older_shas(upstream: Path, daemon: GitDaemon, tmp_path: Path) -> None:
    tagged = git(upstream, "rev-parse", "HEAD")
    git(upstream, "tag", "-a", "v1.0", "-m", "release")
    pr_head = commit(upstream, {"workers/pr.yaml": "name: pr\n"}, "pr change")
    git(upstream, "update-ref", "refs/pull/7/head", pr_head)
    git(upstream, "reset", "--quiet", "--hard", tagged)
    latest = commit(upstream, {"workers/c.yaml": "name: c\n"}, "main moves on")

    url = daemon.url("manifests")
    tag_source = GitSource(GitSourceSpec(url=url, ref="v1.0"), tmp_path / "c")
    assert tag_source.remote_revision() == tagged
    assert tag_source.checkout().revision == tagged

    pr_source = GitSource(GitSourceSpec(url=url, ref="refs/pull/7/head"), tmp_path / "c")
    assert pr_source.remote_revision() == pr_head
    assert (pr_source.checkout().root / "workers" / "pr.yaml").exists()

    main = GitSource(GitSourceSpec(url=url, ref="main"), tmp_path / "c")
    assert main.checkout().revision == latest
    older = main.checkout(tagged)  # shallow working copy fetches the older SHA by itself
    assert older.revision == tagged
    assert not (older.root / "workers" / "c.yaml").exists()
    assert main.read_file(latest, "workers/c.yaml") == b"name: c\n"


def test_sha_ref_needs_no_remote_round_trip(upstream: Path, tmp_path: Path) -> None:
    sha = git(upstream, "rev-parse", "HEAD")
    trace = tmp_path / "trace.json"
    source = traced_source(GitSourceSpec(url=upstream.as_uri(), ref=sha), tmp_path / "c", trace)
    assert source.remote_revision() == sha
    assert traced_commands(trace) == []
    assert source.checkout().revision == sha


def test_restart_reuses_the_cached_working_copy(
    upstream: Path, daemon: GitDaemon, tmp_path: Path
) -> None:
    spec = GitSourceSpec(url=daemon.url("manifests"))
    revision = GitSource(spec, tmp_path / "cache").checkout().revision
    trace = tmp_path / "trace.json"
    restarted = traced_source(spec, tmp_path / "cache", trace)
    assert restarted.checkout(revision).revision == revision
    assert traced_commands(trace) == []
    marker = restarted.workdir / ".git" / "marker"
    marker.write_text("kept")
    other = GitSource(GitSourceSpec(url=upstream.as_uri()), tmp_path / "cache")
    assert other.workdir != restarted.workdir
    assert marker.exists()


def test_bad_path_and_ref_are_named(upstream: Path, daemon: GitDaemon, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="inside the repository"):
        GitSourceSpec(url=daemon.url("manifests"), path="../etc")
    missing_dir = GitSource(GitSourceSpec(url=daemon.url("manifests"), path="nope"), tmp_path)
    with pytest.raises(SourceError, match="'nope' is not a directory"):
        missing_dir.checkout()
    no_ref = GitSource(GitSourceSpec(url=daemon.url("manifests"), ref="release"), tmp_path)
    with pytest.raises(SourceError, match=r"ref 'release' not found in git://127\.0\.0\.1"):
        no_ref.remote_revision()
    with pytest.raises(SourceError, match="ref release"):
        no_ref.checkout()


def test_unreachable_remote_is_a_source_error(tmp_path: Path) -> None:
    url = f"git://127.0.0.1:{free_port()}/manifests"
    source = GitSource(GitSourceSpec(url=url, timeout=20), tmp_path)
    with pytest.raises(SourceError, match=r"ls-remote git://127\.0\.0\.1:\d+/manifests"):
        source.remote_revision()


TOKEN = "s3cr3t-token-value-1234"


def test_token_is_sent_as_header_and_never_stored(upstream: Path, tmp_path: Path) -> None:
    git(upstream.parent, "clone", "--quiet", "--bare", str(upstream), "manifests.git")
    env = {"FORGE_TOKEN": TOKEN}
    with GitHttpServer(upstream.parent, token=TOKEN) as server:
        spec = GitSourceSpec(url=server.url("manifests.git"), token_env="FORGE_TOKEN")
        source = GitSource(spec, tmp_path / "cache", environ=env)
        checkout = source.checkout()
        assert checkout.revision == source.remote_revision()
        assert server.seen_authorization and all(
            h.startswith("Basic ") for h in server.seen_authorization
        )
        stored = "\n".join(
            p.read_text(errors="replace")
            for p in (checkout.root / ".git").rglob("*")
            if p.is_file() and p.suffix not in (".pack", ".idx")
        )
        assert TOKEN not in stored
        assert server.seen_authorization[0].split()[1] not in stored

        wrong = GitSource(spec, tmp_path / "other", environ={"FORGE_TOKEN": "wrong-" + TOKEN})
        with pytest.raises(SourceError) as failed:
            wrong.remote_revision()
        assert TOKEN not in str(failed.value)
        assert "refused the credentials; check the token in $FORGE_TOKEN" in str(failed.value)


def test_missing_token_and_embedded_password_are_config_errors(tmp_path: Path) -> None:
    spec = GitSourceSpec(url="https://127.0.0.1:1/x.git", token_env="NOT_SET_ANYWHERE")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        GitSource(spec, tmp_path, environ={}).remote_revision()
    with pytest.raises(ConfigError) as embedded:
        GitSourceSpec(url=f"https://user:{TOKEN}@127.0.0.1/x.git")
    assert TOKEN not in str(embedded.value)


def test_https_failure_text_is_masked(tmp_path: Path) -> None:
    url = f"https://127.0.0.1:{free_port()}/manifests.git"
    spec = GitSourceSpec(url=url, token_env="T", timeout=20)
    with pytest.raises(SourceError) as failed:
        GitSource(spec, tmp_path, environ={"T": TOKEN}).checkout()
    text = str(failed.value)
    assert "127.0.0.1" in text and "ref HEAD" in text
    assert TOKEN not in text


def test_pick_revision_prefers_branch_then_peeled_tag() -> None:
    out = "a" * 40 + "\trefs/tags/x\n" + "b" * 40 + "\trefs/tags/x^{}\n"
    assert pick_revision(out, "x") == "b" * 40
    assert pick_revision(out + "c" * 40 + "\trefs/heads/x\n", "x") == "c" * 40
    assert pick_revision(out, "y") is None


def test_retry_helper_rides_out_a_remote_that_comes_up_late(upstream: Path, tmp_path: Path) -> None:
    port = free_port()
    spec = GitSourceSpec(url=f"git://127.0.0.1:{port}/manifests", timeout=20)
    source = GitSource(spec, tmp_path / "cache")
    daemons: list[GitDaemon] = []

    def start_daemon_while_waiting(seconds: float) -> None:
        if not daemons:
            daemons.append(GitDaemon(upstream.parent, port=port).__enter__())

    policy = BackoffPolicy(initial=0.01, max_attempts=3, max_elapsed=30)
    try:
        revision = retry_call(
            source.remote_revision,
            policy=policy,
            retry_on=(SourceError,),
            sleep=start_daemon_while_waiting,
        )
    finally:
        for daemon in daemons:
            daemon.__exit__(None, None, None)
    assert revision == git(upstream, "rev-parse", "HEAD")
    assert len(daemons) == 1


def test_sub_path_through_a_symlink_cannot_leave_the_repository(
    upstream: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (upstream / "escape").symlink_to(outside)
    commit(upstream, {}, "add a symlink")
    source = GitSource(GitSourceSpec(url=upstream.as_uri(), path="escape"), tmp_path / "c")
    with pytest.raises(SourceError, match="leaves the repository"):
        source.checkout()


def test_without_a_ref_the_remote_default_branch_is_followed(tmp_path: Path) -> None:
    repo = tmp_path / "served" / "legacy"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "-b", "master")
    sha = commit(repo, {"workers/a.yaml": "name: a\n"}, "on master")
    source = GitSource(GitSourceSpec(url=repo.as_uri()), tmp_path / "cache")
    assert source.remote_revision() == sha
    assert source.checkout().revision == sha


def test_a_missing_ref_names_where_to_set_it(upstream: Path, tmp_path: Path) -> None:
    source = GitSource(GitSourceSpec(url=upstream.as_uri(), ref="release"), tmp_path / "c")
    with pytest.raises(SourceError) as missing:
        source.remote_revision()
    assert "ref 'release' not found" in str(missing.value)
    assert "set source.ref in gitops-agent.yaml, or --ref" in str(missing.value)


def test_the_branch_a_source_follows_is_named(tmp_path: Path) -> None:
    repo = tmp_path / "served" / "legacy"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "-b", "trunk")
    commit(repo, {"a.yaml": "name: a\n"}, "first")
    assert GitSource(GitSourceSpec(url=repo.as_uri()), tmp_path / "c").branch() == "trunk"
    named = GitSource(GitSourceSpec(url=repo.as_uri(), ref="refs/heads/x"), tmp_path / "c")
    assert named.branch() == "x"
