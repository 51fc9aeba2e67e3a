"""Cost of a no-change poll against a fetch-every-time poll, on a repository served by git daemon.

Generates a repository (``--files`` manifests over ``--commits`` commits), serves it with
``git daemon`` on 127.0.0.1, and measures with the project's GitSource:

* first checkout per fetch mode (full, shallow, blobless): wall time, git processes, disk;
* a no-change poll (``remote_revision``: one ``ls-remote``), median of ``--polls`` runs;
* the peers measured in the same run: a poller that runs ``git fetch`` + ``rev-parse`` in the
  cached working copy on every tick, and one that also checks the result out every tick.

Git processes are counted from git's own trace2 events (top-level ``start`` events).
Run: ``.venv/bin/python bench/git_poll_bench.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitops_agent.sources.git import FetchMode, GitSource, GitSourceSpec
from gitops_agent.testing.forges.gitserve import GitDaemon

IDENTITY = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {**os.environ, **IDENTITY, **(env or {})}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=full_env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def make_repository(root: Path, files: int, commits: int) -> Path:
    """``files`` Worker manifests; each later commit rewrites a fifth of them."""
    repo = root / "served" / "manifests"
    repo.mkdir(parents=True)
    git(repo, "init", "--quiet", "-b", "main")
    git(repo, "config", "uploadpack.allowFilter", "true")
    for number in range(commits):
        for index in range(number % 5 if number else 0, files, 5 if number else 1):
            path = repo / "workspaces" / f"ws{index % 20}" / f"worker-{index}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(manifest(index, number))
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", f"change {number}")
    return repo


def manifest(index: int, generation: int) -> str:
    lines = [
        f"name: worker-{index}",
        "version: v2alpha",
        "type: worker",
        f"description: generated worker {index} generation {generation}",
        "worker:",
        "  replicas: 2",
        "  stack: container",
        "  stackSpec:",
        "    command: [python, -m, app]",
    ]
    seed = f"{index}-{generation}"
    lines += [f"    # {hashlib.sha256(f'{seed}-{n}'.encode()).hexdigest()}" for n in range(40)]
    return "\n".join(lines) + "\n"


def count_processes(trace: Path) -> int:
    if not trace.exists():
        return 0
    starts = 0
    for line in trace.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "start" and "/" not in event.get("sid", ""):
            starts += 1
    trace.unlink()
    return starts


def measure(fn: Callable[[], object], trace: Path) -> tuple[float, int]:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started, count_processes(trace)


def disk_usage(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run(files: int, commits: int, polls: int) -> None:
    with tempfile.TemporaryDirectory(prefix="git-poll-bench-") as tmp:
        root = Path(tmp)
        repo = make_repository(root, files, commits)
        trace = root / "trace.json"
        env = {"GIT_TRACE2_EVENT": str(trace)}
        size = disk_usage(repo / ".git")
        print(f"repository: {files} files, {commits} commits, .git {size / 1e6:.1f} MB")
        with GitDaemon(repo.parent) as daemon:
            url = daemon.url("manifests")
            print(f"{'first checkout':<28}{'seconds':>10}{'git procs':>11}{'cache MB':>10}")
            sources = {}
            firsts: dict[FetchMode, tuple[float, float]] = {}
            for mode in FetchMode:
                cache = root / f"cache-{mode.value}"
                spec = GitSourceSpec(url=url, fetch_mode=mode)
                source = GitSource(spec, cache, extra_env=env)
                seconds, procs = measure(source.checkout, trace)
                mb = disk_usage(cache) / 1e6
                print(f"  {mode.value:<26}{seconds:>10.3f}{procs:>11}{mb:>10.1f}")
                firsts[mode] = (seconds, mb)
                sources[mode] = source
            shallow = sources[FetchMode.SHALLOW]
            poll = [measure(shallow.remote_revision, trace) for _ in range(polls)]
            workdir = sources[FetchMode.FULL].workdir

            def naive() -> None:
                git(workdir, "fetch", "--quiet", "origin", env=env)
                git(workdir, "rev-parse", "FETCH_HEAD", env=env)

            def naive_checkout() -> None:
                naive()
                git(workdir, "checkout", "--quiet", "--force", "--detach", "FETCH_HEAD", env=env)
                git(workdir, "clean", "-ffdxq", env=env)

            peer = [measure(naive, trace) for _ in range(polls)]
            peer_checkout = [measure(naive_checkout, trace) for _ in range(polls)]
        poll_s = statistics.median(s for s, _ in poll)
        peer_s = statistics.median(s for s, _ in peer)
        print(f"no-change poll (median of {polls})")
        print(f"  ls-remote (this agent)    {poll_s * 1000:>8.1f} ms  {poll[0][1]} git process")
        print(f"  fetch + rev-parse (peer)  {peer_s * 1000:>8.1f} ms  {peer[0][1]} git processes")
        full_s = statistics.median(s for s, _ in peer_checkout)
        procs = peer_checkout[0][1]
        print(f"  fetch + checkout (peer)   {full_s * 1000:>8.1f} ms  {procs} git processes")
        print(f"  ratio fetch / ls-remote   {peer_s / poll_s:>8.2f}x")
        print(f"  ratio fetch+checkout / ls-remote {full_s / poll_s:>8.2f}x")
        checkouts = " ".join(
            f"checkout_{m.value}_s={s:.3f} cache_{m.value}_mb={mb:.1f}"
            for m, (s, mb) in firsts.items()
        )
        print(
            f"RESULT {checkouts} poll_ms={poll_s * 1000:.1f} poll_git_processes={poll[0][1]} "
            f"peer_fetch_ms={peer_s * 1000:.1f} peer_fetch_checkout_ms={full_s * 1000:.1f} "
            f"fetch_over_poll={peer_s / poll_s:.2f} fetch_checkout_over_poll={full_s / poll_s:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=20)
    parser.add_argument("--polls", type=int, default=15)
    args = parser.parse_args()
    run(args.files, args.commits, args.polls)


if __name__ == "__main__":
    main()
