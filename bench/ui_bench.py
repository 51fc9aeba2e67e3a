"""The status page for 1,000 Workers on kubesim: its size and how fast it is served.

Applies 1,000 Workers, builds the board the ``run`` command builds, refreshes it (one read of
the cluster) and serves ``GET /`` from the agent's HTTP server 30 times; prints the page's
size, the median and worst time to serve it, the refresh time, and the same for the peer a
user would otherwise reach for: ``kubectl get deployments -A`` against the same kubesim.
Targets: under 100 KB and under 200 ms per page.

Run: ``.venv/bin/python bench/ui_bench.py`` (about a minute on two cores).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from engine_bench import WORKERS, generate  # this directory, run as a script

from gitops_agent.engine import reconcile
from gitops_agent.service.server import AgentServer, ServerOptions
from gitops_agent.service.ui.board import BoardParts, StatusBoard
from gitops_agent.service.ui.routes import StatusPages
from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.wiring import TargetChoice, build_target, read_desired

REQUESTS = 30


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, KubeSim(SimConfig(tick=0.2)) as sim:
        root = Path(tmp) / "repo"
        generate(root)
        desired = read_desired(str(root))
        choice = TargetChoice(kind="kubernetes", kubeconfig=str(sim.kubeconfig))

        def make_target(config: object) -> object:
            return build_target(desired.config, choice)

        target = build_target(desired.config, choice)
        options = reconcile.CycleOptions(wait=False)
        result = reconcile.reconcile(desired, target, revision="r1", options=options)
        target.close()
        assert result.ok, result.describe()
        board = StatusBoard(
            BoardParts(
                config=desired.config,
                make_target=make_target,  # type: ignore[arg-type]
                applied=lambda: ("r1" * 20, result, desired),
            )
        )
        started = time.perf_counter()
        board.refresh()
        refresh = time.perf_counter() - started
        pages = StatusPages(board)
        with AgentServer(
            ServerOptions(port=0), on_push=lambda h: None, pages=pages.answer
        ) as server:
            times, size = [], 0
            for _ in range(REQUESTS):
                started = time.perf_counter()
                with urllib.request.urlopen(server.url + "/", timeout=10) as response:
                    size = len(response.read())
                times.append(time.perf_counter() - started)
        command = ["kubectl", "--kubeconfig", str(sim.kubeconfig), "get", "deployments", "-A"]
        peer_times, peer_size = [], 0
        for _ in range(5):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, timeout=120, check=True)
            peer_times.append(time.perf_counter() - started)
            peer_size = len(done.stdout)
    median, worst = statistics.median(times), max(times)
    peer = statistics.median(peer_times)
    print(f"{WORKERS} workers on kubesim; {len(board.snapshot.rows)} rows on the page")
    print(f"board refresh (one read of the cluster): {refresh * 1000:7.1f} ms")
    print(
        f"GET /: {size / 1024:6.1f} KB, median {median * 1000:6.1f} ms, worst {worst * 1000:6.1f} ms"
        "  (targets < 100 KB, < 200 ms)"
    )
    print(f"kubectl get deployments -A: {peer_size / 1024:6.1f} KB, median {peer * 1000:6.1f} ms")
    print(f"ratio time, kubectl get / page: {peer / median:.1f}x")
    print(
        f"RESULT page_kb={size / 1024:.1f} page_ms={median * 1000:.1f} "
        f"page_worst_ms={worst * 1000:.1f} refresh_ms={refresh * 1000:.1f} "
        f"kubectl_get_ms={peer * 1000:.1f}"
    )
    return 0 if size < 100_000 and median < 0.2 else 1


if __name__ == "__main__":
    sys.exit(main())
