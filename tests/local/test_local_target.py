"""The embedded local target (issue 7): the demo flow, restarts, crash loops, scaling,
pruning, and no duplicates after a restart of the agent or the supervisor."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gitops_agent.targets.local import LocalTarget
from gitops_agent.targets.localproc import LocalRuntime
from gitops_agent.testing.waiting import wait_for
from tests.local.conftest import Run


def pids(state: Path, name: str) -> list[int]:
    status = LocalRuntime(state, autostart=False).get(name)
    assert status is not None
    return sorted(r.pid for r in status.replicas if r.pid)


def config(repo: Path) -> list[str]:
    return ["--config", str(repo / "gitops-agent.yaml")]


def test_the_demo_flow(run: Run, repo: Path, state: Path) -> None:
    started = time.monotonic()
    code, out, err = run("run", "--once", "--keep-running", str(repo))
    assert code == 0, out + err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["worker/public/sleep-worker"][2:4] == ["active", "running:1"]
    assert rows["workflow/public/verify-sleep-worker"][2:4] == ["active", "succeeded"]
    assert rows["worker/public/events-bento"][3] == "unsupported"
    code, out, _ = run("log", "-t", "worker", "-n", "sleep-worker", *config(repo))
    assert code == 0 and out.strip().endswith("sleep-worker heartbeat")
    code, out, _ = run("log", "-t", "workflow", "-n", "verify-sleep-worker", *config(repo))
    assert "verify sleep-worker: ok (status=active, runtime=running:1)" in out
    code, out, err = run("run", "--once", str(repo))
    assert code == 0
    assert re.search(
        r"stopped 3 process group\(s\) and the local supervisor \(pid \d+\) on exit", err
    )
    assert LocalRuntime(state, autostart=False).list() == []
    assert time.monotonic() - started < 60


def test_a_killed_worker_process_is_restarted(run: Run, repo: Path, state: Path) -> None:
    assert run("apply", str(repo))[0] == 0
    (before,) = pids(state, "worker.public.sleep-worker")
    os.kill(before, signal.SIGKILL)
    runtime = LocalRuntime(state, autostart=False)
    runtime.wait(
        "worker.public.sleep-worker",
        lambda s: (
            s is not None and s.ready == 1 and any(r.pid not in (None, before) for r in s.replicas)
        ),
        timeout=10,
    )
    code, out, _ = run("get", "-t", "worker", "-n", "sleep-worker", *config(repo))
    assert code == 0
    assert out.splitlines()[1].split()[4:6] == ["active", "running:1"]


def test_a_crash_looping_worker_fails_and_its_dependents_are_skipped(run: Run, repo: Path) -> None:
    worker = repo / "tests" / "worker" / "sleep-worker" / "worker.yaml"
    # exits at once (no $(date) first), so it is never up long enough to count as ready
    text = worker.read_text()
    start = text.index('      - "while true')
    worker.write_text(text[:start] + '      - "exit 3"\n')
    code, out, _ = run("apply", str(repo))
    assert code == 1
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert (
        "failed" in rows["worker/public/sleep-worker"]
        and "CrashLoopBackOff" in rows["worker/public/sleep-worker"]
    )
    assert rows["workflow/public/verify-sleep-worker"].split()[1] == "skipped"


def test_scaling_adds_exactly_one_process_and_deleting_prunes(
    run: Run, repo: Path, state: Path
) -> None:
    # a git checkout of the sample: its revision is the commit, each change a new one
    for args in (
        ["init", "-q"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "sample"],
    ):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, timeout=30)
    assert run("apply", str(repo))[0] == 0
    (first,) = pids(state, "worker.public.report-writer")
    worker = repo / "workers" / "report-writer.yaml"
    worker.write_text(worker.read_text().replace("replicas: 1", "replicas: 2"))
    code, out, _ = run("plan", str(repo))
    assert code == 2 and "~ spec.replicas: 1 -> 2" in out
    assert run("apply", str(repo))[0] == 0
    runtime = LocalRuntime(state, autostart=False)
    runtime.wait(
        "worker.public.report-writer", lambda s: s is not None and s.ready == 2, timeout=10
    )
    after = pids(state, "worker.public.report-writer")
    assert len(after) == 2 and first in after, "one more process, the first one kept"
    worker.unlink()
    code, out, err = run("apply", str(repo))
    assert code == 0, out + err
    assert "pruned worker/public/report-writer" in err
    for pid in after:
        wait_for(
            lambda pid=pid: not _alive(pid),
            timeout=10,
            interval=0.05,
            message=f"process {pid} to stop after the prune",
        )
    assert not (state / "disks" / "public" / "worker.public.report-writer").exists()


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its parent counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return "zombie" not in status.lower()


def test_restarting_the_agent_or_the_supervisor_makes_no_duplicates(
    run: Run, repo: Path, state: Path
) -> None:
    assert run("run", "--once", "--keep-running", str(repo))[0] == 0
    before = pids(state, "worker.public.sleep-worker") + pids(state, "worker.public.report-writer")
    code, out, _ = run("run", "--once", "--keep-running", str(repo))
    assert code == 0 and "unchanged" in out
    runtime = LocalRuntime(state)
    runtime.stop_daemon(stop_processes=False)
    runtime.ensure_running()
    code, _, _ = run("apply", str(repo))
    assert code == 0
    after = pids(state, "worker.public.sleep-worker") + pids(state, "worker.public.report-writer")
    assert after == before


def test_prune_guard_and_get_on_the_local_target(run: Run, repo: Path) -> None:
    assert run("apply", str(repo))[0] == 0
    for path in (repo / "workers").iterdir():
        path.unlink()
    (repo / "bundles" / "test-worker-sleep.yaml").unlink()
    code, _, err = run("apply", str(repo))
    assert code == 1 and "refusing to prune 3 of 5 owned resources" in err
    code, out, _ = run(
        "get", "-t", "worker", "-n", "sleep-worker", "-d", "-o", "json", *config(repo)
    )
    assert code == 0 and '"aggregateStatus": "active"' in out
    code, out, _ = run("delete", "-t", "worker", "-n", "sleep-worker", *config(repo))
    assert code == 0 and out.strip() == "deleted worker/public/sleep-worker (1 object(s))"


def test_a_missing_secret_is_a_clear_failure(
    run: Run, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD")
    code, out, _ = run("apply", str(repo))
    assert code == 1
    row = next(line for line in out.splitlines() if line.startswith("worker/public/report-writer"))
    assert (
        "secret 'report-db' key 'password' is not available on the local target: set GITOPS_AGENT_SECRET_REPORT_DB_PASSWORD"
        in row
    )


def test_memory_limits_reach_the_processes(run: Run, repo: Path, state: Path) -> None:
    assert run("apply", str(repo))[0] == 0
    desired = LocalRuntime(state, autostart=False).desired("worker.public.sleep-worker")
    assert desired is not None and desired.memory_limit_bytes == 256 * 1024 * 1024


SCHEDULED = """version: v2alpha
name: nightly
type: workflow
spec:
  schedule:
    crons: ["*/5 * * * *"]
  dag:
    - name: report
      spec:
        compute: runnable-default
        stack: container
        stackSpec:
          image: alpine:3.20
          command: [sh, -c, "echo nightly report"]
"""


def test_scheduled_workflows_run_when_their_cron_fires(run: Run, repo: Path, state: Path) -> None:
    (repo / "workers" / "nightly.yaml").write_text(SCHEDULED)
    assert run("apply", str(repo))[0] == 0
    code, out, _ = run("get", "-t", "workflow", "-n", "nightly", *config(repo))
    assert code == 0 and "next:" in out
    from datetime import UTC, datetime

    from gitops_agent.config import load_config
    from gitops_agent.wiring import TargetChoice, build_target

    target = build_target(load_config(repo / "gitops-agent.yaml"), TargetChoice(kind="local"))
    assert isinstance(target, LocalTarget)
    quiet = target.run_due(
        datetime(2026, 1, 1, 3, 1, tzinfo=UTC), datetime(2026, 1, 1, 3, 4, tzinfo=UTC)
    )
    assert quiet == []
    started = target.run_due(
        datetime(2026, 1, 1, 3, 4, tzinfo=UTC), datetime(2026, 1, 1, 3, 5, tzinfo=UTC)
    )
    assert started == ["workflow.public.nightly.report@20260101T0305"]
    runtime = LocalRuntime(state, autostart=False)
    done = runtime.wait(
        "workflow.public.nightly.report",
        lambda s: s is not None and s.phase == "succeeded",
        timeout=10,
    )
    assert done is not None and done.run_id == "20260101T0305"
    assert [line.text for line in runtime.logs("workflow.public.nightly.report")] == [
        "nightly report"
    ]
