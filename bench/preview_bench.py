"""The preview of a 10-file pull request on a 1,000-Worker repository, against ``kubectl diff``.

Applies 1,000 Workers to one kubesim, then previews a head that scales 4 Workers, changes the
image of 3 and adds 3 (10 files), as the ``preview`` command does: base and head read from
disk, planned read-only against the cluster. Measures the preview's wall time, its requests by
verb and kind, and its writes (there must be none), then ``kubectl diff --server-side`` of
the head's rendered objects against the same kubesim: the preview a reviewer gets without
this agent. Targets: under 3 s, one LIST per kind, zero writes.

Run: ``.venv/bin/python bench/preview_bench.py`` (about a minute on two cores).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from engine_bench import WORKER, WORKERS, generate  # this directory, run as a script

from gitops_agent.core.previews import status_line
from gitops_agent.core.rendering.output import dump_yaml
from gitops_agent.engine import preview as previewing
from gitops_agent.engine import reconcile
from gitops_agent.engine.desired import Desired, assemble
from gitops_agent.engine.ports import Target
from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.wiring import TargetChoice, build_target, read_desired

WRITES = ("create", "update", "patch", "delete", "deletecollection")


def change(base: Path, head: Path) -> None:
    """The pull request: 4 scaled, 3 new images, 3 added Workers."""
    shutil.copytree(base, head)
    workers = head / "workers"
    for i in range(4):
        path = workers / f"worker-{i:04d}.yaml"
        path.write_text(path.read_text().replace("replicas: 1", "replicas: 3"))
    for i in range(4, 7):
        path = workers / f"worker-{i:04d}.yaml"
        path.write_text(path.read_text().replace("alpine:3.20", "alpine:3.21"))
    for i in range(WORKERS, WORKERS + 3):
        (workers / f"worker-{i:04d}.yaml").write_text(WORKER.format(i=i))


def target_for(wanted: Desired, sim: KubeSim) -> Target:
    return build_target(
        wanted.config, TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))
    )


def apply_base(wanted: Desired, sim: KubeSim) -> None:
    target = target_for(wanted, sim)
    try:
        result = reconcile.reconcile(
            wanted, target, revision="base", options=reconcile.CycleOptions(wait=False)
        )
    finally:
        target.close()
    if not result.ok:
        raise SystemExit(f"base not applied: {result.describe()}")


def preview(base: Path, head: Path, sim: KubeSim) -> tuple[float, Counter[str], str]:
    """The preview command's work: read both commits, plan the head read-only."""
    before = len(sim.requests())
    start = time.perf_counter()
    base_desired = read_desired(str(base))
    head_desired = read_desired(str(head), config_path=str(base / "gitops-agent.yaml"))
    target = target_for(base_desired, sim)
    try:
        found = previewing.preview(
            head_desired,
            target,
            head_revision="head",
            base=base_desired,
            base_revision="base",
        )
    finally:
        target.close()
    elapsed = time.perf_counter() - start
    verbs = Counter(
        f"{r.verb} {r.resource}" if r.verb == "list" else r.verb for r in sim.requests()[before:]
    )
    return elapsed, verbs, status_line(found)


def kubectl_diff(head: Desired, sim: KubeSim, tmp: Path) -> tuple[float, int, int]:
    """``kubectl diff --server-side`` of the head's objects: wall time, requests, exit."""
    target = target_for(head, sim)
    try:
        rendered = target.render(head.resources, revision="head")
    finally:
        target.close()
    objects = [dict(o) for item in assemble(head.resources, rendered) for o in item.objects]
    manifest = tmp / "head.yaml"
    manifest.write_text("".join("---\n" + dump_yaml(o) for o in objects))
    before = len(sim.requests())
    start = time.perf_counter()
    command = ["kubectl", "--kubeconfig", str(sim.kubeconfig), "diff", "--server-side"]
    command += ["--field-manager", "gitops-agent", "--force-conflicts", "-f", str(manifest)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode > 1:
        raise SystemExit(f"kubectl diff failed: {done.stderr[-2000:]}")
    return elapsed, len(sim.requests()) - before, done.returncode


def main() -> int:
    config = SimConfig(ready_delay=0.5, run_duration=0.5, tick=0.2)
    with tempfile.TemporaryDirectory() as tmp, KubeSim(config) as sim:
        base, head = Path(tmp) / "base", Path(tmp) / "head"
        generate(base)
        change(base, head)
        apply_base(read_desired(str(base)), sim)
        elapsed, verbs, line = preview(base, head, sim)
        again, _, _ = preview(base, head, sim)
        peer = kubectl_diff(read_desired(str(head)), sim, Path(tmp))
    writes = sum(n for verb, n in verbs.items() if verb.split()[0] in WRITES)
    lists = {verb: n for verb, n in verbs.items() if verb.startswith("list")}
    print(f"{WORKERS} workers applied; a 10-file pull request previewed against kubesim")
    print(f"preview:              {elapsed:6.2f} s  {sum(verbs.values()):5d} requests  -> {line}")
    print(f"preview (again):      {again:6.2f} s")
    print(f"  requests by verb:   {dict(sorted(verbs.items()))}")
    print(
        f"  LISTs per kind:     {max(lists.values(), default=0)} (target 1)  writes: {writes} (target 0)"
    )
    print(f"kubectl diff --server-side: {peer[0]:6.2f} s  {peer[1]:5d} requests  exit {peer[2]}")
    print(
        f"ratio wall time, kubectl diff / preview: {peer[0] / elapsed:.1f}x  (preview target < 3 s)"
    )
    print(f"ratio requests, kubectl diff / preview: {peer[1] / max(sum(verbs.values()), 1):.0f}x")
    print(
        f"RESULT preview_s={elapsed:.3f} preview_again_s={again:.3f} "
        f"preview_requests={sum(verbs.values())} preview_writes={writes} "
        f"lists_per_kind={max(lists.values(), default=0)} kubectl_diff_s={peer[0]:.3f} "
        f"kubectl_diff_requests={peer[1]} speedup_vs_kubectl={peer[0] / elapsed:.2f} "
        f"requests_ratio_vs_kubectl={peer[1] / max(sum(verbs.values()), 1):.1f}"
    )
    return 0 if writes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
