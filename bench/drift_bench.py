"""Drift checks of 1,000 Workers on kubesim, against ``kubectl diff`` and ``kubectl get -o json``
of the same objects.

Generates a git repository of 1,000 Workers, starts kubesim in its own process (as an API
server runs apart from its clients), applies the repository with the agent, waits until
kubesim's controllers run every pod, then measures on that one kubesim, in one run (each
figure the best of three, the median beside it):

- the drift check with no drift, as ``run`` schedules it (observe, find the last applied
  revision, render it, compare; the revision read and validated once, then kept), the same
  check reading the revision again (the first check), and the whole ``gitops-agent drift``
  command (reading and validating the revision from git too, printing), wall time and API
  requests;
- the same after 10 Workers were changed out of band with kubectl (5 scaled, 5 given another
  image);
- the peers, on the very objects: ``kubectl diff --server-side`` of the rendered objects (what a
  person runs to see drift: a GET and a dry-run apply per object) and ``kubectl get deployments
  -o json`` of the owner's label (reading them, nothing compared).

Prints the figures and the ratios. Targets: one LIST per kind when nothing drifted (no other
request), the check under 1.5 s. Ends with one ``RESULT`` line.

Run: ``.venv/bin/python bench/drift_bench.py`` (about a minute on two cores).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import kubernetes
from benchkit import Kubesim, commit_all, write_workers

from gitops_agent.cli import main as cli
from gitops_agent.config import load_config
from gitops_agent.core import labels
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.drift import DriftReport
from gitops_agent.engine import drift as drifting
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import assemble
from gitops_agent.engine.observing import observe
from gitops_agent.sources.applied import GitApplied
from gitops_agent.sources.git import GitSource, GitSourceSpec
from gitops_agent.testing.waiting import wait_for
from gitops_agent.wiring import TargetChoice, build_target, read_desired

WORKERS = 1000
DRIFTED = 10
T = TypeVar("T")


def generate(root: Path) -> None:
    write_workers(root, WORKERS, owner="bench")
    commit_all(root, "workers")


def measured(sim: Kubesim, work: Callable[[], T]) -> tuple[T, float, list[str]]:
    """``work()``'s result, its wall seconds and the requests it sent (verb resource)."""
    before = len(sim.requests())
    start = time.perf_counter()
    result = work()
    elapsed = time.perf_counter() - start
    return result, elapsed, [f"{r['verb']} {r['resource']}" for r in sim.requests()[before:]]


def best_of(
    sim: Kubesim, work: Callable[[], T], times: int = 3
) -> tuple[T, float, float, list[str]]:
    """The last result, the best and the median wall seconds, the requests of one run."""
    runs = [measured(sim, work) for _ in range(times)]
    elapsed = sorted(run[1] for run in runs)
    return runs[-1][0], elapsed[0], elapsed[len(elapsed) // 2], runs[-1][2]


def reader(root: Path) -> GitApplied:
    """The applied revisions of the repository, read as ``run`` reads them (its working copy
    in a cache; the last revision read kept)."""
    spec = GitSourceSpec(url=str(root), ref="main")
    source = GitSource(spec, root.parent / "cache")
    return GitApplied(source, lambda path: read_desired(str(path)))


def engine_check(sim: Kubesim, revisions: GitApplied, config: AgentConfig) -> DriftReport:
    """One drift check as ``run`` makes it with its configuration: observe, the applied
    revision, read it (unless it was the last one read), render, compare."""
    target = build_target(config, _choice(sim))
    try:
        seen = observe(target)
        revision = drifting.applied_revision(seen, revisions)
        assert revision is not None
        wanted = revisions.desired(revision)
        return drifting.check(wanted, target, seen, revision=revision, revisions=revisions)
    finally:
        target.close()


def command(root: Path, sim: Kubesim) -> int:
    """The whole ``gitops-agent drift`` command, output discarded."""
    args = ["drift", str(root), "--target", "kubernetes", "--kubeconfig", str(sim.kubeconfig)]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return cli(args)


def kubectl(sim: Kubesim, *args: str, ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(
        ["kubectl", "--kubeconfig", str(sim.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode not in ok:
        raise SystemExit(f"kubectl {' '.join(args[:3])} failed: {done.stderr[-2000:]}")


def _choice(sim: Kubesim) -> TargetChoice:
    return TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))


def apply_all(root: Path, sim: Kubesim) -> Path:
    """Apply the repository with the agent; the rendered objects, as a file for kubectl."""
    wanted = read_desired(str(root))
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = build_target(wanted.config, _choice(sim))
    try:
        options = reconcile.CycleOptions(wait=False)
        result = reconcile.reconcile(wanted, target, revision=revision, options=options)
        assert result.ok, result.describe()
        rendered = assemble(wanted.resources, target.render(wanted.resources, revision=revision))
    finally:
        target.close()
    # JSON, not YAML: a digest such as 0051319791056660 is a string to PyYAML and a number to
    # kubectl's YAML reader
    manifest = root.parent / "objects.json"
    items = [dict(o) for item in rendered for o in item.objects]
    manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return manifest


def settled(sim: Kubesim) -> bool:
    """Every pod running and every Deployment available: kubesim's controllers are idle."""
    api = kubernetes.config.new_client_from_config(config_file=str(sim.kubeconfig))
    try:
        pods = kubernetes.client.CoreV1Api(api).list_namespaced_pod("public")
        deployments = kubernetes.client.AppsV1Api(api).list_namespaced_deployment("public")
    finally:
        api.close()
    running = sum(1 for pod in pods.items if pod.status and pod.status.phase == "Running")
    available = sum(1 for d in deployments.items if (d.status.available_replicas or 0) >= 1)
    return running >= WORKERS and available >= WORKERS


def drift_out_of_band(sim: Kubesim) -> None:
    for i in range(DRIFTED):
        name = f"deploy/worker-{i:04d}"
        if i % 2:
            kubectl(sim, "-n", "public", "scale", name, "--replicas=2")
        else:
            kubectl(sim, "-n", "public", "set", "image", name, "main=alpine:3.19")


def peers(sim: Kubesim, manifest: Path) -> tuple[tuple[float, int], tuple[float, int]]:
    """``kubectl diff --server-side`` and ``kubectl get -o json``: (seconds, requests) each."""
    diff = ["diff", "--server-side", "--force-conflicts", "--field-manager", "gitops-agent"]
    diff += ["-f", str(manifest)]
    _, diff_time, diff_requests = measured(sim, lambda: kubectl(sim, *diff, ok=(0, 1)))
    selector = labels.owner_selector("bench")
    get = ["get", "deployments", "-A", "-l", selector, "-o", "json"]
    _, get_time, get_requests = measured(sim, lambda: kubectl(sim, *get))
    return (diff_time, len(diff_requests)), (get_time, len(get_requests))


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, Kubesim(Path(tmp)) as sim:
        root = Path(tmp) / "repo"
        generate(root)
        manifest = apply_all(root, sim)
        wait_for(lambda: settled(sim), timeout=600, interval=2, message="every pod running")
        time.sleep(3)  # the controllers' last status writes
        config = load_config(root / "gitops-agent.yaml")
        scheduled = reader(root)
        engine_check(sim, scheduled, config)  # the working copy cloned, the revision read once
        clean, clean_best, clean_median, clean_requests = best_of(
            sim, lambda: engine_check(sim, scheduled, config)
        )
        _, cold_best, cold_median, _ = best_of(sim, lambda: engine_check(sim, reader(root), config))
        code, command_best, command_median, command_requests = best_of(
            sim, lambda: command(root, sim)
        )
        assert code == 0 and not clean.has_drift, clean
        drift_out_of_band(sim)
        drifted, drifted_best, drifted_median, drifted_requests = best_of(
            sim, lambda: engine_check(sim, scheduled, config)
        )
        assert len(drifted.objects) == DRIFTED, drifted
        code, drifted_command, _, _ = best_of(sim, lambda: command(root, sim))
        assert code == 2
        (diff_time, diff_requests), (get_time, get_requests) = peers(sim, manifest)
    kinds = sorted({r.split()[1] for r in clean_requests})
    one_list_per_kind = all(r.startswith("list ") for r in clean_requests) and len(kinds) == len(
        clean_requests
    )
    print(f"{WORKERS} workers ({WORKERS} Deployments, {WORKERS} pods), kubesim in its own process")
    print(
        f"drift check, no drift:      {clean_best:6.2f} s (median {clean_median:.2f})"
        f"  {len(clean_requests):5d} requests  one LIST per kind: {one_list_per_kind}"
        f" ({', '.join(kinds)}); target < 1.5 s"
    )
    print(
        f"drift check, first read:    {cold_best:6.2f} s (median {cold_median:.2f})"
        "  (the revision checked out, read and validated again)"
    )
    print(
        f"drift command, no drift:    {command_best:6.2f} s (median {command_median:.2f})"
        f"  {len(command_requests):5d} requests  (also reads and validates the revision from git)"
    )
    print(
        f"drift check, {DRIFTED} drifted:    {drifted_best:6.2f} s (median {drifted_median:.2f})"
        f"  {len(drifted_requests):5d} requests  ({len(drifted.objects)} objects reported)"
    )
    print(f"drift command, {DRIFTED} drifted:  {drifted_command:6.2f} s")
    print(f"kubectl diff --server-side: {diff_time:6.2f} s  {diff_requests:5d} requests")
    print(f"kubectl get -o json:        {get_time:6.2f} s  {get_requests:5d} requests")
    print(f"ratio wall time, kubectl diff / drift check: {diff_time / clean_best:.1f}x")
    print(
        f"ratio requests, kubectl diff / drift check:  {diff_requests / len(clean_requests):.0f}x"
    )
    print(f"ratio wall time, kubectl get / drift check:  {get_time / clean_best:.2f}x")
    print(
        f"RESULT workers={WORKERS} check_s={clean_best:.3f} check_requests={len(clean_requests)} "
        f"check_first_read_s={cold_best:.3f} command_s={command_best:.3f} "
        f"drifted={DRIFTED} drifted_check_s={drifted_best:.3f} "
        f"drifted_check_requests={len(drifted_requests)} drifted_command_s={drifted_command:.3f} "
        f"kubectl_diff_s={diff_time:.3f} kubectl_diff_requests={diff_requests} "
        f"kubectl_get_s={get_time:.3f} "
        f"diff_requests_ratio={diff_requests / len(clean_requests):.1f} "
        f"diff_time_ratio={diff_time / clean_best:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
