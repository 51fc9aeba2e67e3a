"""Commit-to-applied latency of the agent: push webhooks against polling every 30 s.

Serves a manifest repository with ``git daemon``, runs ``gitops-agent run`` against kubesim
with a GitHub API emulator, and for each mode pushes commits and measures the time from the
push to the ``success`` status of that commit. Also measures what a poll without a new commit
costs: wall time and the git processes it spawns (counted from git's own trace2 events).

Run: ``.venv/bin/python bench/agent_bench.py`` (about two minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

from gitops_agent.service.webhooks import sign
from gitops_agent.sources.git import GitSource, GitSourceSpec
from gitops_agent.testing.forges.github import GitHubEmulator
from gitops_agent.testing.forges.gitserve import GitDaemon
from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.waiting import wait_for

SAMPLE = Path(__file__).resolve().parent.parent / "sample-repo"
TOKEN, SECRET, REPO = "ghs_bench_token_0123456789", "bench-secret", "org/manifests"
COMMITS = 3


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()


def prepare(tmp: Path) -> tuple[Path, Path]:
    bare, work = tmp / "served" / "manifests.git", tmp / "work"
    bare.parent.mkdir(parents=True)
    git(tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    shutil.copytree(SAMPLE, work)
    git(work, "init", "--quiet", "--initial-branch=main")
    git(work, "config", "user.email", "bench@example.com")
    git(work, "config", "user.name", "Bench")
    git(work, "remote", "add", "origin", str(bare))
    return bare, work


def commit(work: Path, n: int) -> str:
    path = work / "workers" / "events-bento.yaml"
    text = path.read_text()
    path.write_text(text.replace(f"replicas: {1 + (n - 1) % 3}", f"replicas: {1 + n % 3}"))
    git(work, "commit", "--quiet", "-am", f"change {n}")
    git(work, "push", "--quiet", "origin", "main")
    return git(work, "rev-parse", "HEAD")


def start_agent(
    tmp: Path, url: str, github: GitHubEmulator, kubeconfig: Path, interval: str
) -> tuple[subprocess.Popen[str], str]:
    sample = yaml.safe_load((SAMPLE / "gitops-agent.yaml").read_text())
    config = {
        "name": "bench",
        "source": {"url": url, "ref": "main", "interval": interval},
        "vars": sample["vars"],
        "target": {"kind": "kubernetes"},
        "reporter": {
            "kind": "github",
            "url": github.base_url,
            "repository": REPO,
            "tokenEnv": "GH_TOKEN",
        },
        "sync": {"waitTimeout": "60s", "pollInterval": "0.2s"},
        "server": {"webhookSecretEnv": "WEBHOOK_SECRET"},
    }
    path = tmp / f"agent-{interval}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [
        sys.executable,
        "-m",
        "gitops_agent",
        "run",
        "--config",
        str(path),
        "--kubeconfig",
        str(kubeconfig),
        "--listen",
        "127.0.0.1:0",
        "--cache-dir",
        str(tmp / f"cache-{interval}"),
    ]
    env = {**os.environ, "GH_TOKEN": TOKEN, "WEBHOOK_SECRET": SECRET}
    proc = subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "listening on " in line:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
            return proc, line.split("listening on ", 1)[1].strip()
    raise SystemExit("the agent did not start")


def wait_success(github: GitHubEmulator, sha: str, timeout: float) -> float:
    """The time the ``success`` status of ``sha`` was seen (polled every 20 ms)."""
    try:
        wait_for(
            lambda: any(s.state == "success" for s in github.statuses(REPO, sha)),
            timeout=timeout,
            message=f"a success status for {sha[:7]}",
        )
    except TimeoutError as err:
        raise SystemExit(str(err)) from None
    return time.monotonic()


def webhook(agent_url: str, sha: str) -> None:
    body = json.dumps(
        {"ref": "refs/heads/main", "after": sha, "repository": {"full_name": REPO}}
    ).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + sign(SECRET, body),
    }
    with urllib.request.urlopen(
        urllib.request.Request(
            agent_url + "/webhooks/github", data=body, headers=headers, method="POST"
        ),
        timeout=5,
    ):
        pass


def measure(
    mode: str, tmp: Path, work: Path, url: str, github: GitHubEmulator, sim: KubeSim, start_n: int
) -> list[float]:
    proc, agent_url = start_agent(tmp, url, github, sim.kubeconfig, "30s")
    latencies = []
    try:
        wait_success(github, git(work, "rev-parse", "HEAD"), 60)
        for n in range(start_n, start_n + COMMITS):
            sha = commit(work, n)
            pushed = time.monotonic()
            if mode == "webhook":
                webhook(agent_url, sha)
            latencies.append(wait_success(github, sha, 90) - pushed)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return latencies


def poll_cost(url: str, tmp: Path) -> tuple[float, int]:
    source = GitSource(GitSourceSpec(url=url, ref="main"), tmp / "poll-cache")
    trace = tmp / "trace.json"
    source.extra_env = {"GIT_TRACE2_EVENT": str(trace)}
    source.checkout()
    trace.write_text("")
    runs = []
    for _ in range(15):
        start = time.perf_counter()
        source.remote_revision()
        runs.append(time.perf_counter() - start)
    starts = sum(1 for line in trace.read_text().splitlines() if '"event":"start"' in line)
    return statistics.median(runs), starts // 15


def main() -> int:
    with (
        tempfile.TemporaryDirectory() as name,
        KubeSim(SimConfig(ready_delay=0.3, run_duration=0.3, tick=0.05)) as sim,
    ):
        tmp = Path(name)
        _, work = prepare(tmp)
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", "initial")
        git(work, "push", "--quiet", "origin", "main")
        with (
            GitHubEmulator(token=TOKEN, repositories=[REPO]) as github,
            GitDaemon(tmp / "served") as daemon,
        ):
            url = daemon.url("manifests.git")
            hooked = measure("webhook", tmp, work, url, github, sim, 1)
            polled = measure("polling", tmp, work, url, github, sim, 1 + COMMITS)
            poll_time, processes = poll_cost(url, tmp)
    print(
        f"commit-to-applied latency, {COMMITS} commits each (push -> success status on the forge):"
    )
    print(
        f"  webhook:         median {statistics.median(hooked):6.2f} s  (each: {', '.join(f'{x:.2f}' for x in hooked)})"
    )
    print(
        f"  polling at 30 s: median {statistics.median(polled):6.2f} s  (each: {', '.join(f'{x:.2f}' for x in polled)})"
    )
    print(
        f"  ratio polling / webhook: {statistics.median(polled) / statistics.median(hooked):.1f}x"
    )
    print(
        f"no-change poll: {poll_time * 1000:.1f} ms, {processes} git process(es) per poll (one ls-remote), no checkout"
    )
    print(
        f"RESULT webhook_s={statistics.median(hooked):.3f} polling_s={statistics.median(polled):.3f} "
        f"polling_over_webhook={statistics.median(polled) / statistics.median(hooked):.1f} "
        f"noop_poll_ms={poll_time * 1000:.1f} noop_poll_git_processes={processes}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
