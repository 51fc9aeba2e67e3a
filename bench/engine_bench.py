"""Reconciling 1,000 Workers on kubesim, against ``kubectl apply --server-side`` of the same objects.

Generates a repository of 1,000 Workers, then measures on one kubesim, in one run:
the agent's first apply (wall time, requests), a no-op reconcile of the same revision (wall
time, requests, writes), and ``kubectl apply --server-side`` of the very objects the agent
rendered (wall time, requests), first into an empty namespace set and then again unchanged.
Prints the figures and the ratios. Targets: a no-op reconcile in at most 10 requests and at
least 50 times fewer requests than kubectl.

Run: ``.venv/bin/python bench/engine_bench.py`` (about a minute on two cores).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from gitops_agent.core.rendering.output import dump_yaml
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.wiring import TargetChoice, build_target, read_desired

WORKERS = 1000
WORKER = """version: v2alpha
name: worker-{i:04d}
type: worker
spec:
  compute: runnable-default
  replicas: 1
  resources:
    requests: {{cpu: 50m, memory: 64Mi}}
    limits: {{cpu: 200m, memory: 256Mi}}
  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
    command: [sh]
    arguments: ["-c", "while true; do echo worker-{i:04d}; sleep 30; done"]
"""


def generate(root: Path) -> None:
    (root / "workers").mkdir(parents=True)
    (root / "gitops-agent.yaml").write_text(
        "name: bench\nsync: {pollInterval: 0.2s, waitTimeout: 5m}\n"
    )
    for i in range(WORKERS):
        (root / "workers" / f"worker-{i:04d}.yaml").write_text(WORKER.format(i=i))


def cycle(wanted: Desired, sim: KubeSim, revision: str) -> tuple[float, int, int, bool]:
    """One reconcile: wall seconds, requests, writes, ok."""
    target = build_target(
        wanted.config, TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))
    )
    before = len(sim.requests())
    start = time.perf_counter()
    try:
        result = reconcile.reconcile(wanted, target, revision=revision)
    finally:
        target.close()
    elapsed = time.perf_counter() - start
    records = sim.requests()[before:]
    writes = sum(1 for r in records if r.verb in ("create", "update", "patch", "delete"))
    return elapsed, len(records), writes, result.ok


def kubectl_apply(sim: KubeSim, manifest: Path) -> tuple[float, int]:
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
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kubectl failed: {done.stderr[-2000:]}")
    return elapsed, len(sim.requests()) - before


def main() -> int:
    config = SimConfig(ready_delay=0.5, run_duration=0.5, tick=0.2)
    with tempfile.TemporaryDirectory() as tmp, KubeSim(config) as sim:
        root = Path(tmp) / "repo"
        generate(root)
        wanted = read_desired(str(root))
        assert not wanted.violations
        first = cycle(wanted, sim, "rev1")
        noop = cycle(wanted, sim, "rev1")
        # the same objects, rendered the same way, into other namespaces for kubectl
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
        manifest = Path(tmp) / "objects.yaml"
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubectl"}}
        manifest.write_text("".join("---\n" + dump_yaml(o) for o in [namespace, *objects]))
        kubectl_first = kubectl_apply(sim, manifest)
        kubectl_again = kubectl_apply(sim, manifest)
    print(f"{WORKERS} workers, {len(objects)} objects, kubesim over HTTP on 127.0.0.1")
    print(
        f"agent first apply:      {first[0]:7.2f} s  {first[1]:5d} requests  {first[2]:5d} writes  ok={first[3]}"
    )
    print(
        f"agent no-op reconcile:  {noop[0]:7.2f} s  {noop[1]:5d} requests  {noop[2]:5d} writes  ok={noop[3]}  (target <= 10 requests)"
    )
    print(f"kubectl apply (create): {kubectl_first[0]:7.2f} s  {kubectl_first[1]:5d} requests")
    print(f"kubectl apply (again):  {kubectl_again[0]:7.2f} s  {kubectl_again[1]:5d} requests")
    print(
        f"ratio requests, kubectl re-apply / agent no-op: {kubectl_again[1] / max(noop[1], 1):.0f}x  (target >= 50x)"
    )
    print(f"ratio wall time, kubectl re-apply / agent no-op: {kubectl_again[0] / noop[0]:.1f}x")
    print(
        f"ratio wall time, kubectl create / agent first apply: {kubectl_first[0] / first[0]:.1f}x"
    )
    print(
        f"RESULT workers={WORKERS} first_apply_s={first[0]:.3f} first_apply_requests={first[1]} "
        f"noop_s={noop[0]:.3f} noop_requests={noop[1]} noop_writes={noop[2]} "
        f"kubectl_create_s={kubectl_first[0]:.3f} kubectl_reapply_s={kubectl_again[0]:.3f} "
        f"kubectl_reapply_requests={kubectl_again[1]} "
        f"noop_requests_ratio_vs_kubectl={kubectl_again[1] / max(noop[1], 1):.1f} "
        f"first_apply_speedup_vs_kubectl={kubectl_first[0] / first[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
