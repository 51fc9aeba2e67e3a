"""Reconciling 1,000 Workers on kubesim, against ``kubectl apply --server-side`` of the same objects.

Generates a repository of 1,000 Workers, then measures on one kubesim, in a process of its
own as an API server is, whose every request is delayed by 5 ms (``--latency``; a nearby
API server), in one run: the agent's first apply
with ``--no-wait`` (wall time, requests, the ``sync.concurrency`` writes in flight), a
one-shot no-op ``apply`` of the same revision (LIST-based, as ``apply`` and ``plan`` observe),
a no-op cycle of ``run`` reading the watch cache (after the cache's warm-up), and ``kubectl
apply --server-side`` of the very objects the agent rendered (wall time, requests), first
into an empty namespace and then again unchanged. Prints the figures and the ratios; ends
with one ``RESULT`` line. Targets (issue 18): ``noop_requests=0`` for the watch-cached cycle,
``noop_requests<=8`` one-shot, ``first_apply_speedup_vs_kubectl>=4``.

Run: ``.venv/bin/python bench/engine_bench.py [--latency 0.005]`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from benchkit import Kubesim, write_workers

from gitops_agent.core.rendering.output import dump_yaml
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.engine.ports import Target
from gitops_agent.wiring import TargetChoice, WatchedTargets, build_target, read_desired

WORKERS = 1000


@dataclass(frozen=True)
class Cycle:
    seconds: float
    requests: int  # requests the cycle made (the watch cache's long-lived watches aside)
    writes: int
    ok: bool


def cycle(
    wanted: Desired, make: Callable[[], Target], sim: Kubesim, revision: str, *, wait: bool
) -> Cycle:
    """One reconcile, timed, with the requests it made."""
    target = make()
    before = len(sim.requests())
    start = time.perf_counter()
    try:
        options = reconcile.CycleOptions(wait=wait)
        result = reconcile.reconcile(wanted, target, revision=revision, options=options)
    finally:
        target.close()
    elapsed = time.perf_counter() - start
    records = [r["verb"] for r in sim.requests()[before:] if r["verb"] != "watch"]
    writes = sum(1 for verb in records if verb in ("create", "update", "patch", "delete"))
    return Cycle(elapsed, len(records), writes, result.ok)


def settled(wanted: Desired, make: Callable[[], Target], sim: Kubesim) -> Cycle:
    """A no-op ``apply`` (waiting for health, as by default) once the cluster has settled:
    the first cycle after an apply waits for the rollouts, the one measured follows it."""
    cycle(wanted, make, sim, "rev1", wait=True)
    return cycle(wanted, make, sim, "rev1", wait=True)


def kubectl_apply(sim: Kubesim, manifest: Path) -> tuple[float, int]:
    before = len(sim.requests())
    start = time.perf_counter()
    command = [
        "kubectl",
        "--kubeconfig",
        str(sim.kubeconfig),
        "apply",
        "--server-side",
        "--field-manager",
        "bench-kubectl",
        "-f",
        str(manifest),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kubectl failed: {done.stderr[-2000:]}")
    return elapsed, len(sim.requests()) - before


def peer_manifest(wanted: Desired, sim: Kubesim, path: Path) -> int:
    """The objects the agent renders, into namespace ``kubectl``, as one YAML stream for
    kubectl; returns how many objects it holds."""
    peer_config = replace(
        wanted.config, target=replace(wanted.config.target, workspaces={"public": "kubectl"})
    )
    peer = build_target(
        peer_config, TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))
    )
    objects = [
        dict(obj)
        for item in assemble(wanted.resources, peer.render(wanted.resources, revision="rev1"))
        for obj in item.objects
    ]
    peer.close()
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubectl"}}
    path.write_text("".join("---\n" + dump_yaml(o) for o in [namespace, *objects]))
    return len(objects)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per request")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Kubesim(Path(tmp)) as sim:
        measured = measure(sim, Path(tmp), args.latency)
    report(args.latency, *measured)
    return 0


Measured = tuple[int, Cycle, Cycle, Cycle, Cycle, tuple[float, int], tuple[float, int]]


def measure(sim: Kubesim, tmp: Path, latency: float) -> Measured:
    """Every figure, in one run on one kubesim."""
    root = tmp / "repo"
    write_workers(root, WORKERS, owner="bench")
    wanted = read_desired(str(root))
    assert not wanted.violations
    if latency > 0:
        sim.add_fault({"code": 0, "latency": latency})
    choice = TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))
    one_shot = lambda: build_target(wanted.config, choice)  # noqa: E731
    first = cycle(wanted, one_shot, sim, "rev1", wait=False)
    noop = settled(wanted, one_shot, sim)
    watched = WatchedTargets(wanted.config, choice)
    try:
        warm = cycle(wanted, lambda: watched(wanted.config), sim, "rev1", wait=False)
        cached = settled(wanted, lambda: watched(wanted.config), sim)
    finally:
        watched.close()
    count = peer_manifest(wanted, sim, tmp / "objects.yaml")
    kubectl_first = kubectl_apply(sim, tmp / "objects.yaml")
    kubectl_again = kubectl_apply(sim, tmp / "objects.yaml")
    return count, first, noop, warm, cached, kubectl_first, kubectl_again


def report(
    latency: float,
    count: int,
    first: Cycle,
    noop: Cycle,
    warm: Cycle,
    cached: Cycle,
    kubectl_first: tuple[float, int],
    kubectl_again: tuple[float, int],
) -> None:
    def line(label: str, c: Cycle) -> str:
        return f"{label:32s}{c.seconds:8.2f} s  {c.requests:5d} requests  {c.writes:5d} writes  ok={c.ok}"

    print(
        f"{WORKERS} workers, {count} objects, kubesim on 127.0.0.1, {latency * 1000:.0f} ms per request"
    )
    print(line("agent first apply (--no-wait):", first))
    print(line("agent no-op apply (one-shot):", noop) + "  (target <= 8 requests)")
    print(line("agent run, cache warm-up cycle:", warm))
    print(line("agent run, no-op cycle (cache):", cached) + "  (target 0 requests)")
    print(
        f"{'kubectl apply (create):':32s}{kubectl_first[0]:8.2f} s  {kubectl_first[1]:5d} requests"
    )
    print(
        f"{'kubectl apply (again):':32s}{kubectl_again[0]:8.2f} s  {kubectl_again[1]:5d} requests"
    )
    speedup = kubectl_first[0] / first.seconds
    print(f"first apply, kubectl / agent wall time: {speedup:.1f}x  (target >= 4x)")
    print(
        f"no-op, kubectl re-apply / agent one-shot requests: {kubectl_again[1] / max(noop.requests, 1):.0f}x"
    )
    print(
        f"RESULT workers={WORKERS} latency_ms={latency * 1000:.0f} first_apply_s={first.seconds:.3f} "
        f"first_apply_requests={first.requests} oneshot_noop_s={noop.seconds:.3f} "
        f"oneshot_noop_requests={noop.requests} noop_s={cached.seconds:.3f} "
        f"noop_requests={cached.requests} noop_writes={cached.writes} "
        f"kubectl_create_s={kubectl_first[0]:.3f} kubectl_reapply_s={kubectl_again[0]:.3f} "
        f"kubectl_reapply_requests={kubectl_again[1]} first_apply_speedup_vs_kubectl={speedup:.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
