"""Benchmark of kubesim: a store of 10,000 objects and LIST of 1,000 Deployments.

Prints how long the writes took, how long a LIST of 1,000 Deployments (all, and by label
selector) takes over HTTP, and compares it in the same run with two peers: a bare
``http.server`` returning the same bytes (the transport floor) and ``json.dumps`` of the
same list (the encoding a naive server pays on every request).

Run: ``.venv/bin/python bench/kubesim_bench.py`` (about half a minute on two cores).
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.kinds import must
from gitops_agent.testing.kubesim.objects import WriteOptions

DEPLOYMENTS, CONFIGMAPS, RUNS = 1_000, 9_000, 15


def deployment(i: int) -> dict[str, Any]:
    name = f"app-{i:04d}"
    owner = "prod" if i % 2 == 0 else "dev"
    return {
        "metadata": {
            "name": name,
            "labels": {"app": name, "gitops-agent.dataos.info/owner": owner},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "busybox:1.36",
                            "command": ["sh", "-c", "while true; do echo hi; sleep 30; done"],
                            "resources": {"requests": {"cpu": "0.5", "memory": "512Mi"}},
                        }
                    ]
                },
            },
        },
    }


def fill(sim: KubeSim) -> tuple[float, float]:
    """Create the objects in-process; returns seconds for the Deployments and ConfigMaps."""
    opts = WriteOptions(field_manager="bench")
    start = time.perf_counter()
    for i in range(DEPLOYMENTS):
        sim.objects.create(must("apps/v1", "Deployment"), "public", deployment(i), opts)
    middle = time.perf_counter()
    for i in range(CONFIGMAPS):
        sim.objects.create(
            must("v1", "ConfigMap"),
            "default",
            {"metadata": {"name": f"cm-{i:05d}"}, "data": {"k": str(i)}},
            opts,
        )
    return middle - start, time.perf_counter() - middle


def timed_get(host: str, port: int, path: str) -> tuple[float, bytes]:
    """Median seconds of RUNS GETs over one keep-alive connection, and the last body."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    times, body = [], b""
    try:
        for _ in range(RUNS):
            start = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            body = response.read()
            times.append(time.perf_counter() - start)
            assert response.status == 200, response.status
    finally:
        conn.close()
    return statistics.median(times), body


def bare_server(payload: bytes) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    with KubeSim(SimConfig(), run_controllers=False) as sim:
        deploy_s, cm_s = fill(sim)
        total = sim.store.count()
        path = "/apis/apps/v1/namespaces/public/deployments"
        all_s, body = timed_get("127.0.0.1", sim.port, path)
        items = json.loads(body)["items"]
        label_s, labelled = timed_get(
            "127.0.0.1", sim.port, path + "?labelSelector=gitops-agent.dataos.info/owner%3Dprod"
        )
        get_s, _ = timed_get("127.0.0.1", sim.port, path + "/app-0500")
    server = bare_server(body)
    try:
        floor_s, _ = timed_get("127.0.0.1", server.server_address[1], "/")
    finally:
        server.shutdown()
        server.server_close()
    start = time.perf_counter()
    for _ in range(RUNS):
        json.dumps(json.loads(body))
    dumps_s = (time.perf_counter() - start) / RUNS
    print(
        f"store: {total} objects ({DEPLOYMENTS} Deployments in {deploy_s:.2f}s = "
        f"{DEPLOYMENTS / deploy_s:.0f}/s, {CONFIGMAPS} ConfigMaps in {cm_s:.2f}s = "
        f"{CONFIGMAPS / cm_s:.0f}/s, each defaulted, validated and given managedFields)"
    )
    print(
        f"LIST {len(items)} Deployments ({len(body) / 1e6:.1f} MB): {all_s * 1000:.1f} ms "
        f"median of {RUNS}"
    )
    print(
        f"LIST by label selector ({len(json.loads(labelled)['items'])} items): "
        f"{label_s * 1000:.1f} ms"
    )
    print(f"GET one Deployment among {total} objects: {get_s * 1000:.2f} ms")
    print(
        f"peer, bare http.server with the same bytes: {floor_s * 1000:.1f} ms "
        f"(kubesim/bare = {all_s / floor_s:.2f}x)"
    )
    print(
        f"peer, json.dumps of the same list: {dumps_s * 1000:.1f} ms "
        f"(kubesim LIST/json.dumps = {all_s / dumps_s:.2f}x)"
    )


if __name__ == "__main__":
    main()
