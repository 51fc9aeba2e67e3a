"""Times ``gitops-agent validate`` on a generated repository of 1,000 Workers and 100 Bundles.

Run with ``make bench-validate`` (or ``.venv/bin/python bench/validate_bench.py``). Prints the
end-to-end command time (median of 5 runs, process start included), the time of each phase
in-process, and a ratio against a floor measured in the same run: parsing the same files
with PyYAML's C loader and nothing else.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from gitops_agent.core import loading, validation
from gitops_agent.sources import directory

WORKERS = 1000
BUNDLES = 100
MEMBERS_PER_BUNDLE = 5

WORKER = """version: v2alpha
name: worker-{i:04d}
type: worker
tags: [bench, worker]
description: "Generated worker {i}"
spec:
  compute: runnable-default
  replicas: {replicas}
  executionMode: default
  resources:
    requests: {{cpu: 50m, memory: 64Mi}}
    limits: {{cpu: 200m, memory: 256Mi}}
  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
    command: [sh]
    arguments: ["-c", "while true; do echo worker-{i:04d}; sleep 30; done"]
  use:
    projection:
      projections:
        envVarsTemplate: |
          WORKER_NAME: ${{{{worker-name}}}}
          TEAM: ${{TEAM}}
        envVars:
          - key: INDEX
            template: "{i}"
"""

BUNDLE_HEAD = """version: v2alpha
name: bundle-{b:03d}
type: bundle
description: "Generated bundle {b}"
bundle:
  resources:
"""
MEMBER = """    - id: w{k}
      file: ../workers/worker-{i:04d}.yaml
{deps}"""
VERIFY = """    - id: verify
      dependencies: [w0]
      dependencyConditions:
        - resourceId: w0
          status: {{is: [active]}}
          runtime: {{contains: [running]}}
      spec:
        version: v2alpha
        name: verify-{b:03d}
        type: workflow
        spec:
          dag:
            - name: check
              spec:
                compute: runnable-default
                stack: container
                stackSpec: {{image: "alpine:3.20", command: [sh, -c, "echo ok"]}}
"""


def generate(root: Path) -> None:
    (root / "workers").mkdir()
    (root / "bundles").mkdir()
    (root / "gitops-agent.yaml").write_text("name: bench\nvars:\n  TEAM: platform\n")
    for i in range(WORKERS):
        (root / "workers" / f"worker-{i:04d}.yaml").write_text(
            WORKER.format(i=i, replicas=1 + i % 3)
        )
    for b in range(BUNDLES):
        parts = [BUNDLE_HEAD.format(b=b)]
        for k in range(MEMBERS_PER_BUNDLE):
            deps = f"      dependencies: [w{k - 1}]\n" if k else ""
            parts.append(MEMBER.format(k=k, i=b * MEMBERS_PER_BUNDLE + k, deps=deps))
        parts.append(VERIFY.format(b=b))
        (root / "bundles" / f"bundle-{b:03d}.yaml").write_text("".join(parts))


def timed(action: object, repeat: int = 5) -> tuple[float, object]:
    durations, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()  # type: ignore[operator]
        durations.append(time.perf_counter() - start)
    return statistics.median(durations), result


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root)
        files = sorted(root.rglob("*.yaml"))
        command = [sys.executable, "-m", "gitops_agent", "validate", str(root)]
        wall, done = timed(
            lambda: subprocess.run(command, capture_output=True, text=True, check=False)
        )
        assert done.returncode == 0, done.stdout + done.stderr  # type: ignore[union-attr]
        env = {"TEAM": "platform"}
        read_s, selection = timed(lambda: directory.select(str(root)))
        load_s, loaded = timed(lambda: loading.load(selection.tree, env=env))  # type: ignore[union-attr]
        check_s, violations = timed(lambda: validation.validate(loaded))  # type: ignore[arg-type]
        assert violations == ()
        floor_s, _ = timed(
            lambda: [list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader)) for p in files]
        )
    print(
        f"repository: {WORKERS} workers, {BUNDLES} bundles ({BUNDLES * (MEMBERS_PER_BUNDLE + 1)} members), {len(files)} files"
    )
    print(
        f"gitops-agent validate (end to end, process start included): {wall:.3f} s  (target < 2 s)"
    )
    print(
        f"  read files {read_s:.3f} s | load (parse + schema + build) {load_s:.3f} s | semantic rules {check_s:.3f} s"
    )
    print(f"peer floor: PyYAML CSafeLoader parse only, same files: {floor_s:.3f} s")
    print(
        f"ratio validate (in-process) / parse-only floor: {(read_s + load_s + check_s) / floor_s:.1f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
