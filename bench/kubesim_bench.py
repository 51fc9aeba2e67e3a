"""Benchmark of kubesim: LIST over a store of 10,000 objects, and kubectl server-side apply.

Part one prints how long the in-process writes took, how long a LIST of 1,000 Deployments
(all, and by label selector) takes over HTTP, and compares it in the same run with two
peers: a bare ``http.server`` returning the same bytes (the transport floor) and
``json.dumps`` of the same list (the encoding a naive server pays on every request).

Part two runs ``kubectl apply --server-side`` on 1,000 Deployments against a kubesim with
its controllers running: the creates, a re-apply that changes nothing while the controllers
still roll the Deployments out, and another once they are all available. It prints the wall
time of each, the server's own time per request (from its request log), and, as the peer,
the same kubectl command against a stub server that answers every apply with the body it
was sent: kubectl's own cost (it parses the OpenAPI document once per object), so that the
difference is kubesim's share. The figures measured before issue 13's work are printed
beside them.

Run: ``.venv/bin/python bench/kubesim_bench.py`` (a minute or two on two cores).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from gitops_agent.testing.kubesim import KubeSim, SimConfig
from gitops_agent.testing.kubesim.kinds import must
from gitops_agent.testing.kubesim.objects import WriteOptions
from gitops_agent.testing.waiting import wait_for

DEPLOYMENTS, CONFIGMAPS, RUNS = 1_000, 9_000, 15
# kubectl apply --server-side of the 1,000 Deployments, measured with this script on the
# shared two-core build machine before issue 13's work (controllers on): seconds for the
# creates and for the no-op re-apply, and the server's median time per apply request (ms).
# kubectl alone (the stub peer) took 8.11 s in that run.
BEFORE = {"create_s": 19.40, "noop_s": 29.89, "create_ms": 2.75, "noop_ms": 2.58}


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
    namespace = {"metadata": {"name": "public"}}
    sim.objects.create(must("v1", "Namespace"), "", namespace, opts)
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


def list_figures() -> dict[str, str]:
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
    return {
        "objects": str(total),
        "list_1k_ms": f"{all_s * 1000:.1f}",
        "list_by_label_ms": f"{label_s * 1000:.1f}",
        "get_ms": f"{get_s * 1000:.2f}",
        "list_over_bare_http": f"{all_s / floor_s:.2f}",
        "list_over_json_dumps": f"{all_s / dumps_s:.2f}",
    }


def kubectl_apply(kubeconfig: str, manifest: str) -> float:
    """Seconds ``kubectl apply --server-side -f manifest`` took; fails loudly on an error."""
    kubectl = shutil.which("kubectl") or "kubectl"
    command = [kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", manifest]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kubectl apply failed: {done.stderr[-2000:]}")
    return elapsed


def write_manifest(directory: Path) -> str:
    """The Deployments, after their namespace (a real API server refuses objects in a
    namespace that does not exist)."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "public"}}
    ]
    for i in range(DEPLOYMENTS):
        doc = deployment(i)
        doc["metadata"]["namespace"] = "public"
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment", **doc})
    path = directory / "deployments.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return str(path)


def apply_durations(sim: KubeSim) -> float:
    """Median milliseconds the server spent on the apply requests logged since the last call."""
    durations = [r.duration for r in sim.requests(verb="patch", resource="deployments")]
    sim.clear_requests()
    return statistics.median(durations) * 1000 if durations else 0.0


def stub_server(upstream: str) -> ThreadingHTTPServer:
    """kubectl's peer: GETs are answered with upstream's bytes, an apply with its own body."""
    cache: dict[tuple[str, str], tuple[int, bytes, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as kubesim's own server

        def do_GET(self) -> None:
            key = (self.path, self.headers.get("Accept", ""))
            if key not in cache:
                request = urllib.request.Request(upstream + self.path, headers={"Accept": key[1]})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    cache[key] = (answer.status, answer.read(), answer.headers["Content-Type"])
            self.reply(*cache[key])

        def do_PATCH(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.reply(200, body, "application/json")

        def reply(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def settled(sim: KubeSim) -> bool:
    """Every Deployment has its replicas available (the controllers have caught up)."""
    found = sim.store.items(must("apps/v1", "Deployment"), "public")
    return len(found) == DEPLOYMENTS and all(
        (s.obj.get("status") or {}).get("availableReplicas") == 2 for s in found
    )


def kubectl_figures() -> dict[str, str]:
    with tempfile.TemporaryDirectory() as tmp, KubeSim(SimConfig()) as sim:
        manifest = write_manifest(Path(tmp))
        create_s = kubectl_apply(sim.kubeconfig, manifest)
        create_ms = apply_durations(sim)
        busy_s = kubectl_apply(sim.kubeconfig, manifest)
        busy_ms = apply_durations(sim)
        settle_start = time.perf_counter()
        wait_for(lambda: settled(sim), timeout=300, message="the 1,000 Deployments available")
        settle_s = time.perf_counter() - settle_start
        noop_s = kubectl_apply(sim.kubeconfig, manifest)
        noop_ms = apply_durations(sim)
        stub = stub_server(sim.url)
        try:
            stub_config = os.path.join(tmp, "stub-kubeconfig")
            sim.write_kubeconfig(stub_config)
            peer_url = f"http://127.0.0.1:{stub.server_address[1]}"
            Path(stub_config).write_text(Path(stub_config).read_text().replace(sim.url, peer_url))
            peer_s = kubectl_apply(stub_config, manifest)
        finally:
            stub.shutdown()
            stub.server_close()
    per = 1000 / DEPLOYMENTS
    print(
        f"kubectl apply --server-side, {DEPLOYMENTS} Deployment creates: {create_s:.2f}s "
        f"(before: {BEFORE['create_s']:.2f}s); server {create_ms:.2f} ms per apply "
        f"(before: {BEFORE['create_ms']:.2f} ms)"
    )
    print(
        f"no-op re-apply while the controllers roll the Deployments out: {busy_s:.2f}s = "
        f"{busy_s * per:.2f} ms per object (before: {BEFORE['noop_s']:.2f}s); server "
        f"{busy_ms:.2f} ms per apply (before: {BEFORE['noop_ms']:.2f} ms)"
    )
    print(
        f"no-op re-apply once all are available ({settle_s:.1f}s later): {noop_s:.2f}s = "
        f"{noop_s * per:.2f} ms per object; server {noop_ms:.2f} ms per apply"
    )
    print(
        f"peer, the same kubectl apply against a stub that echoes each body: {peer_s:.2f}s = "
        f"{peer_s * per:.2f} ms per object; kubesim's share of a no-op re-apply: "
        f"{(noop_s - peer_s) * per:.2f} ms per object (kubesim/stub = {noop_s / peer_s:.2f}x)"
    )
    return {
        "kubectl_create_s": f"{create_s:.3f}",
        "server_apply_ms": f"{create_ms:.2f}",
        "noop_busy_s": f"{busy_s:.3f}",
        "noop_s": f"{noop_s:.3f}",
        "stub_s": f"{peer_s:.3f}",
        "noop_over_stub": f"{noop_s / peer_s:.2f}",
    }


def main() -> None:
    figures = {**list_figures(), **kubectl_figures()}
    print("RESULT " + " ".join(f"{name}={value}" for name, value in figures.items()))


if __name__ == "__main__":
    main()
