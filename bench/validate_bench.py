"""Times ``gitops-agent validate`` on a generated repository of 1,000 Workers and 100 Bundles.

Run with ``.venv/bin/python bench/validate_bench.py`` (``make bench`` runs it). Prints the
end-to-end command time (median of 5 runs, process start included; target under 0.7 s),
the time of each phase in-process, and two ratios against peers measured in the same run:
parsing the same files with PyYAML's C loader and nothing else (the floor), and the schema
checks of every document on the compiled fast path against jsonschema's validator, which
the agent keeps for the documents that fail. With ``--baseline REV`` the same command is also
timed from the agent at git revision REV of this repository (unpacked on PYTHONPATH), and
the ratio printed. Ends with one ``RESULT`` line.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

from gitops_agent.core import loading, schema, validation, yamldoc
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


def schema_documents(tree_files: dict[str, str]) -> list[tuple[schema.Checker, object]]:
    """Every manifest, bundle member and stackSpec the loader and the rules check."""
    documents: list[tuple[schema.Checker, object]] = []
    container = schema.checker_of(
        validation.ValidationContext().stacks.stacks["container"].spec_schema
    )
    for path, text in tree_files.items():
        for doc in yamldoc.parse(path, text, env={"TEAM": "platform"}).documents:
            data = doc.data
            if not isinstance(data, dict) or data.get("type") not in ("worker", "bundle"):
                continue
            documents.append((schema.checker_for(str(data["type"])), data))
            members = [
                m["spec"] for m in data.get("bundle", {}).get("resources", []) if "spec" in m
            ]
            for member in members:
                documents.append((schema.checker_for(member["type"]), member))
                steps = [step["spec"] for step in member["spec"]["dag"]]
                documents.extend((container, step["stackSpec"]) for step in steps)
            if data["type"] == "worker":
                documents.append((container, data["spec"]["stackSpec"]))
    return documents


def jsonschema_errors(documents: list[tuple[schema.Checker, object]]) -> int:
    return sum(len(list(checker.slow().iter_errors(data))) for checker, data in documents)


def fast_problems(documents: list[tuple[schema.Checker, object]]) -> int:
    return sum(len(schema.check(checker, data)) for checker, data in documents)


def end_to_end(root: Path, pythonpath: str | None = None) -> float:
    """The median wall time of ``gitops-agent validate`` on ``root``, process start included."""
    command = [sys.executable, "-P", "-m", "gitops_agent", "validate", str(root)]
    env = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    wall, done = timed(
        lambda: subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    )
    assert done.returncode == 0, done.stdout + done.stderr  # type: ignore[union-attr]
    return wall


def baseline_code(revision: str, tmp: Path) -> str:
    """The agent at ``revision`` of this repository, unpacked; its directory."""
    project = Path(__file__).resolve().parent.parent
    archive = tmp / "baseline.tar"
    subprocess.run(["git", "-C", str(project), "archive", "-o", str(archive), revision], check=True)
    with tarfile.open(archive) as unpacked:
        unpacked.extractall(tmp / "baseline", filter="data")
    return str(tmp / "baseline")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also time the agent of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        generate(root)
        files = sorted(root.rglob("*.yaml"))
        wall = end_to_end(root)
        before = end_to_end(root, baseline_code(args.baseline, Path(tmp))) if args.baseline else 0.0
        env = {"TEAM": "platform"}
        read_s, selection = timed(lambda: directory.select(str(root)))
        load_s, loaded = timed(lambda: loading.load(selection.tree, env=env))  # type: ignore[union-attr]
        check_s, violations = timed(lambda: validation.validate(loaded))  # type: ignore[arg-type]
        assert violations == ()
        floor_s, _ = timed(
            lambda: [list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader)) for p in files]
        )
        documents = schema_documents(dict(selection.tree.files))  # type: ignore[union-attr]
        fast_s, found = timed(lambda: fast_problems(documents))
        slow_s, errors = timed(lambda: jsonschema_errors(documents))
        assert found == errors == 0
    print(
        f"repository: {WORKERS} workers, {BUNDLES} bundles ({BUNDLES * (MEMBERS_PER_BUNDLE + 1)} members), {len(files)} files"
    )
    print(
        f"gitops-agent validate (end to end, process start included): {wall:.3f} s  (target < 0.7 s)"
    )
    print(
        f"  read files {read_s:.3f} s | load (parse + schema + build) {load_s:.3f} s | semantic rules {check_s:.3f} s"
    )
    print(f"peer floor: PyYAML CSafeLoader parse only, same files: {floor_s:.3f} s")
    in_process = read_s + load_s + check_s
    print(f"ratio validate (in-process) / parse-only floor: {in_process / floor_s:.1f}x")
    print(
        f"schema checks of {len(documents)} documents: fast path {fast_s * 1000:.1f} ms, "
        f"jsonschema {slow_s * 1000:.1f} ms ({slow_s / fast_s:.1f}x slower)"
    )
    if before:
        print(
            f"the agent at {args.baseline}: {before:.3f} s end to end ({before / wall:.2f}x this one)"
        )
    print(
        f"RESULT validate_1k_s={wall:.3f} baseline_validate_1k_s={before:.3f} "
        f"read_s={read_s:.3f} load_s={load_s:.3f} "
        f"rules_s={check_s:.3f} floor_s={floor_s:.3f} ratio_to_floor={in_process / floor_s:.2f} "
        f"schema_fast_ms={fast_s * 1000:.1f} schema_jsonschema_ms={slow_s * 1000:.1f} "
        f"schema_speedup={slow_s / fast_s:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
