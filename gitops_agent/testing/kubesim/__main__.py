"""``python -m gitops_agent.testing.kubesim``: run the emulator until SIGINT or SIGTERM.

Writes a kubeconfig for itself (``--kubeconfig``), prints its URL on the first line of
standard output, and serves on 127.0.0.1 (``--port 0`` picks a free port).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from gitops_agent.testing.kubesim.outcomes import OutcomeRule
from gitops_agent.testing.kubesim.simulator import KubeSim, SimConfig


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gitops_agent.testing.kubesim", description="Kubernetes API server emulator"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--kubeconfig",
        default="kubesim.kubeconfig",
        help="where to write a kubeconfig for this server",
    )
    parser.add_argument(
        "--ready-delay", type=float, default=2.0, help="seconds before a pod is Running and Ready"
    )
    parser.add_argument(
        "--run-duration", type=float, default=2.0, help="seconds a run-to-completion container runs"
    )
    parser.add_argument(
        "--crash-backoff", type=float, default=10.0, help="first CrashLoopBackOff delay in seconds"
    )
    parser.add_argument(
        "--auth",
        action="store_true",
        help="require bearer tokens and authorize with RBAC (the kubeconfig gets an admin token)",
    )
    parser.add_argument(
        "--tls", action="store_true", help="serve HTTPS with a certificate authority of its own"
    )
    parser.add_argument(
        "--rules",
        default="",
        help='JSON list of outcome rules, e.g. \'[{"outcome": "fail", "image": "*broken*"}]\'',
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rules = tuple(OutcomeRule.from_json(r) for r in json.loads(args.rules or "[]"))
    config = SimConfig(
        ready_delay=args.ready_delay,
        run_duration=args.run_duration,
        crash_backoff=args.crash_backoff,
        rules=rules,
        auth=args.auth,
        tls=args.tls,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with KubeSim(config, port=args.port, kubeconfig=args.kubeconfig) as sim:
        print(sim.url, flush=True)
        print(f"kubeconfig written to {sim.kubeconfig}", file=sys.stderr, flush=True)
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
