"""Scaling of the agent from 100 to 10,000 Workers, against kubesim (issue 18, items 1, 5, 6).

For each size (100, 1,000, 5,000, 10,000 Workers, one file each, in a git repository) a fresh
kubesim runs in its own process and the agent's commands run in theirs, each measured alone
(wall time and peak resident memory of that process): ``validate``, ``render -o json``,
``plan`` against the empty cluster, the first ``apply --no-wait`` (which seeds the cluster),
and a no-op ``apply``. Then the agent loop of ``run`` follows the repository in a process of
its own: a first cycle on the applied revision (everything unchanged), then a commit that
changes one line of one file, and the cost of that cycle: the CPU time of the agent and of
the git commands it ran, without the time spent in the target's API calls (observing,
looking up, applying and storing the inventory: the Target port, rendering excepted),
which the watch cache of issue 18 item 2 is to take out of a cycle. The cluster is let
settle (every Deployment ready) before the agent loop runs. The largest inventory shard is
checked against the ConfigMap size limit.

Prints a table, the growth exponent of each stage between 1,000 and 10,000 Workers (1.0 is
linear), and the peer of the same run: PyYAML's C loader parsing the same files (the floor
of ``validate``). With ``--baseline REV`` the commands are also run from the agent at git
revision REV of this repository, and the ratios printed. Ends with one ``RESULT`` line:
``validate_1k_s``, ``oneline_commit_10k_s`` (target < 1), ``rss_10k_mib`` (the largest of
the four commands' peaks at 10,000; target < 250), and per stage ``<stage>_<n>_s`` and
``<stage>_growth``.

Run: ``.venv/bin/python bench/scale_bench.py [--sizes 100,1000] [--baseline REV]`` (about
five minutes on two cores for every size).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import re
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from benchkit import Kubesim, commit_all, git, write_workers

from gitops_agent import cli
from gitops_agent.config import load_config
from gitops_agent.core import kinds, labels
from gitops_agent.service.agent import AgentLoop, AgentParts
from gitops_agent.sources.git import GitSource, GitSourceSpec
from gitops_agent.sources.revisions import GitRevisions
from gitops_agent.targets import kubeapi
from gitops_agent.wiring import TargetChoice, build_target

SIZES = (100, 1000, 5000, 10000)
STAGES = ("validate", "render", "plan", "noop")
PROJECT = Path(__file__).resolve().parent.parent


def generate(root: Path, workers: int) -> None:
    """A git repository of ``workers`` Workers, one file each, owned by ``scale-<n>``."""
    write_workers(root, workers, owner=f"scale-{workers}", digits=5)
    commit_all(root, f"{workers} workers")


@dataclass(frozen=True)
class Measured:
    """One command: its wall time, the peak resident memory of its process, its exit code
    and the ends of its output."""

    seconds: float
    rss_mib: float
    code: int
    stdout: str = ""
    stderr: str = ""


#: Runs a command in a child it forks and reports that child's peak RSS: a process started
#: straight from this one would count this one's memory in its own peak (the kernel keeps
#: the larger of the two across the exec of a vfork-ed child).
LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
sys.stderr.write(f"\\n@peak-rss-kib {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured(
    command: Sequence[str], *, env: Mapping[str, str] | None = None, discard: bool = False
) -> Measured:
    """Run ``command`` in a process of its own, with its own peak RSS; ``discard`` sends
    its standard output nowhere (a render's text)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sink = subprocess.DEVNULL if discard else out
        launched = [sys.executable, "-c", LAUNCHER, *command]
        code = subprocess.run(launched, stdout=sink, stderr=err, env=env, check=False).returncode
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")[-4000:]
        stderr = err.read().decode(errors="replace")
    peak = re.findall(r"@peak-rss-kib (\d+)", stderr)
    return Measured(seconds, int(peak[-1]) / 1024 if peak else 0.0, code, stdout, stderr[-4000:])


@dataclass
class Agent:
    """How to run the agent: this checkout, or another revision's code on PYTHONPATH."""

    name: str
    pythonpath: str | None = None

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = self.pythonpath
        return env

    def cli(self, *args: str) -> list[str]:
        return [sys.executable, "-P", "-m", "gitops_agent", *args]


@dataclass
class Row:
    """One size's figures for one agent."""

    workers: int
    figures: dict[str, Measured] = field(default_factory=dict)
    cycle: dict[str, Any] = field(default_factory=dict)
    shard_kib: float = 0.0
    floor_s: float = 0.0
    settle_s: float = 0.0
    noop_requests: int = 0


def run_size(workers: int, agent: Agent, tmp: Path) -> Row:
    root = tmp / f"{agent.name}-{workers}"
    generate(root / "repo", workers)
    repo = root / "repo"
    sim = Kubesim(root, ready_delay=0.1)
    target = ["--target", "kubernetes", "--kubeconfig", str(sim.kubeconfig)]
    row = Row(workers)
    try:
        row.figures["validate"] = measured(agent.cli("validate", str(repo)), env=agent.env())
        render = agent.cli("render", str(repo), "-o", "json")
        row.figures["render"] = measured(render, env=agent.env(), discard=True)
        row.figures["plan"] = measured(agent.cli("plan", str(repo), *target), env=agent.env())
        first = agent.cli("apply", "--no-wait", str(repo), *target)
        row.figures["first"] = measured(first, env=agent.env())
        row.settle_s = settle(sim, workers)
        before = len(sim.requests())
        row.figures["noop"] = measured(agent.cli("apply", str(repo), *target), env=agent.env())
        row.noop_requests = len(sim.requests()) - before
        driver = [sys.executable, __file__, "--agent-cycle", str(repo), str(sim.kubeconfig)]
        cycle = measured([*driver, str(root / "cache")], env=agent.env())
        assert cycle.code == 0, cycle.stderr
        row.cycle = json.loads(cycle.stdout.strip().splitlines()[-1])
        row.cycle["rss_mib"] = cycle.rss_mib
        row.shard_kib = largest_shard_kib(sim)
        row.floor_s = parse_floor(repo)
    finally:
        sim.stop()
    for name, figure in row.figures.items():
        expected = (0, 2) if name == "plan" else (0,)
        assert figure.code in expected, f"{agent.name} {name} at {workers}: {figure.stderr}"
    return row


def settle(sim: Kubesim, workers: int, timeout: float = 900.0) -> float:
    """Seconds until every Deployment of the size is ready (a cluster at rest, as a one-line
    commit usually finds it), read through the agent's own API layer."""
    started = time.perf_counter()
    client = kubeapi.connect(kubeconfig=str(sim.kubeconfig), context=None, in_cluster=False)
    api = kubeapi.KubeApi(client)
    selector = labels.owner_selector(f"scale-{workers}")
    try:
        while time.perf_counter() - started < timeout:
            found = api.list(kinds.DEPLOYMENT, selector=selector, keep=_ready)
            if len(found) == workers and all(found):
                break
            time.sleep(2.0)
    finally:
        api.close()
    return time.perf_counter() - started


def _ready(deployment: dict[str, Any]) -> bool:
    spec, status = deployment.get("spec") or {}, deployment.get("status") or {}
    return int(status.get("readyReplicas") or 0) >= int(spec.get("replicas", 1))


def largest_shard_kib(sim: Kubesim) -> float:
    """The size of the largest inventory ConfigMap as JSON (the API server's limit: 1 MiB)."""
    client = kubeapi.connect(kubeconfig=str(sim.kubeconfig), context=None, in_cluster=False)
    api = kubeapi.KubeApi(client)
    try:
        found = api.list(kinds.CONFIG_MAP, selector=f"{labels.INVENTORY}=true")
    finally:
        api.close()
    sizes = [
        len(json.dumps(cm).encode())
        for cm in found
        if cm["metadata"]["name"].startswith("gitops-agent-inventory-scale-")
    ]
    return max(sizes, default=0) / 1024


def parse_floor(repo: Path) -> float:
    """The peer of ``validate``: PyYAML's C loader parsing the same files, nothing else."""
    started = time.perf_counter()
    for path in sorted(repo.rglob("*.yaml")):
        list(yaml.load_all(path.read_text(), Loader=yaml.CSafeLoader))
    return time.perf_counter() - started


def agent_cycle(repo: Path, kubeconfig: str, cache: Path) -> dict[str, Any]:
    """In this process, as ``run`` does: a cycle on the applied revision, then one on a
    commit that changes one line of one file; the second one's costs."""
    gc.set_threshold(*getattr(cli, "GC_THRESHOLDS", gc.get_threshold()))  # as `run` sets them
    choice = TargetChoice(kind="kubernetes", kubeconfig=kubeconfig)
    config = load_config(repo / "gitops-agent.yaml")
    source = GitRevisions(GitSource(GitSourceSpec(url=str(repo), ref="main"), cache))
    parts = AgentParts(
        config=config,
        config_path=None,
        source=source,
        make_target=lambda cfg: TimedTarget(build_target(cfg, choice)),
        reporter=_Silent(),
    )
    loop = AgentLoop(parts)
    warm = cycle_costs(loop)
    path = sorted((repo / "workers").iterdir())[len(list((repo / "workers").iterdir())) // 2]
    path.write_text(re.sub(r"replicas: \d+", f"replicas: {random.randint(2, 5)}", path.read_text()))
    git(repo, "commit", "--quiet", "-am", "one line")
    oneline = cycle_costs(loop)
    return {"warm": warm, "oneline": oneline}


class _Silent:
    def report(self, revision: str, status: object) -> None:
        return None


class TimedTarget:
    """A target whose API calls (every port call but ``render``) are timed."""

    cpu = 0.0
    wall = 0.0
    PORT = frozenset({"observe", "lookup", "apply", "delete", "save_inventory"})

    def __init__(self, target: Any) -> None:
        self.target = target
        self.kind = target.kind
        self.owner = target.owner

    def __getattr__(self, name: str) -> Any:
        found = getattr(self.target, name)
        if name not in self.PORT:
            return found

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return found(*args, **kwargs)
            finally:
                TimedTarget.wall += time.perf_counter() - wall
                TimedTarget.cpu += time.process_time() - cpu

        return timed

    def render(self, resources: Any, *, revision: str) -> Any:
        return self.target.render(resources, revision=revision)


def cycle_costs(loop: Any) -> dict[str, Any]:
    TimedTarget.cpu = TimedTarget.wall = 0.0
    wall, cpu, children = time.perf_counter(), time.process_time(), os.times()
    result = loop.poll()
    after = os.times()
    git_cpu = (after.children_user - children.children_user) + (
        after.children_system - children.children_system
    )
    spent = time.process_time() - cpu
    return {
        "ok": bool(result and result.ok),
        "outcome": result.describe() if result else "no cycle",
        "wall_s": round(time.perf_counter() - wall, 3),
        "api_wall_s": round(TimedTarget.wall, 3),
        "cost_s": round(spent + git_cpu - TimedTarget.cpu, 3),
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def growth(small: float, large: float, ratio: float) -> float:
    """The exponent k of ``time ~ n^k`` between two sizes ``ratio`` apart."""
    return math.log(large / small) / math.log(ratio) if small > 0 and large > 0 else float("nan")


def baseline(revision: str, tmp: Path) -> Agent:
    """The agent at ``revision`` of this repository, unpacked to run from PYTHONPATH."""
    archive = tmp / "baseline.tar"
    subprocess.run(["git", "-C", str(PROJECT), "archive", "-o", str(archive), revision], check=True)
    with tarfile.open(archive) as unpacked:
        unpacked.extractall(tmp / "baseline", filter="data")
    return Agent(f"baseline-{revision[:12]}", str(tmp / "baseline"))


def stage_seconds(row: Row, stage: str) -> float:
    if stage == "oneline":
        return float(row.cycle.get("oneline", {}).get("cost_s", float("nan")))
    return row.figures[stage].seconds


def report(rows: Sequence[Row], peer: Sequence[Row]) -> None:
    print(
        f"{'workers':>8} {'validate':>13} {'render':>13} {'plan':>13} {'no-op apply':>13} {'1st apply':>9} "
        f"{'1-line commit':>14} {'run RSS':>8} {'shard':>8} {'yaml floor':>10}"
    )
    for row in rows:
        cells = [f"{row.figures[s].seconds:6.2f}s {row.figures[s].rss_mib:4.0f}M" for s in STAGES]
        oneline = row.cycle.get("oneline", {})
        print(
            f"{row.workers:>8} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13} {cells[3]:>13} "
            f"{row.figures['first'].seconds:8.1f}s {oneline.get('cost_s', float('nan')):6.3f}s "
            f"(wall {oneline.get('wall_s', 0):.1f}s, API {oneline.get('api_wall_s', 0):.1f}s) "
            f"{row.cycle.get('rss_mib', 0):5.0f}M {row.shard_kib:6.0f}K {row.floor_s:9.2f}s"
        )
    by_size = {row.workers: row for row in rows}
    if 1000 in by_size and 10000 in by_size:
        exponents = {
            s: growth(stage_seconds(by_size[1000], s), stage_seconds(by_size[10000], s), 10)
            for s in (*STAGES, "oneline")
        }
        print(
            "growth exponent 1,000 -> 10,000 Workers (1.0 = linear): "
            + ", ".join(f"{s} {k:.2f}" for s, k in exponents.items())
        )
    for mine, theirs in zip(rows, peer, strict=False):
        ratios = ", ".join(
            f"{s} {theirs.figures[s].seconds / mine.figures[s].seconds:.1f}x faster "
            f"{theirs.figures[s].rss_mib / mine.figures[s].rss_mib:.1f}x less memory"
            for s in STAGES
        )
        print(f"against the baseline at {mine.workers}: {ratios}")


def result_line(rows: Sequence[Row]) -> str:
    by_size = {row.workers: row for row in rows}
    fields: dict[str, str] = {}
    if 1000 in by_size:
        fields["validate_1k_s"] = f"{by_size[1000].figures['validate'].seconds:.3f}"
    if 10000 in by_size:
        big = by_size[10000]
        fields["oneline_commit_10k_s"] = f"{stage_seconds(big, 'oneline'):.3f}"
        fields["rss_10k_mib"] = f"{max(big.figures[s].rss_mib for s in STAGES):.0f}"
        fields["inventory_shard_10k_kib"] = f"{big.shard_kib:.0f}"
    for row in rows:
        for stage in (*STAGES, "oneline"):
            fields[f"{stage}_{row.workers}_s"] = f"{stage_seconds(row, stage):.3f}"
        fields[f"rss_{row.workers}_mib"] = f"{max(row.figures[s].rss_mib for s in STAGES):.0f}"
        fields[f"noop_requests_{row.workers}"] = str(row.noop_requests)
    if 1000 in by_size and 10000 in by_size:
        for stage in (*STAGES, "oneline"):
            k = growth(
                stage_seconds(by_size[1000], stage), stage_seconds(by_size[10000], stage), 10
            )
            fields[f"{stage}_growth"] = f"{k:.2f}"
    return "RESULT " + " ".join(f"{k}={v}" for k, v in fields.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--baseline", help="also run the agent of this git revision, as the peer")
    parser.add_argument(
        "--agent-cycle", nargs=3, metavar=("REPO", "KUBECONFIG", "CACHE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.agent_cycle:
        repo, kubeconfig, cache = args.agent_cycle
        costs = agent_cycle(Path(repo), kubeconfig, Path(cache))
        print(json.dumps(costs))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        here = Agent("agent")
        rows = [run_size(n, here, Path(tmp)) for n in sizes]
        peer: list[Row] = []
        if args.baseline:
            older = baseline(args.baseline, Path(tmp))
            peer = [run_size(n, older, Path(tmp)) for n in sizes]
    report(rows, peer)
    print(result_line(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
