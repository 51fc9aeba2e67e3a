"""Times rendering 1,000 Workers to Kubernetes objects, against loading and validating them.

Run with ``.venv/bin/python bench/render_bench.py [--workers N] [--rounds R]``. The Workers
cycle through the features rendering handles (container, bento, projections with files and
secrets, disk, StatefulSet, volumes). The peer is ``load + validate`` of the same tree, which
every ``render`` pays first; the ratio says what rendering adds on top.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from gitops_agent.core.config import AgentConfig
from gitops_agent.core.rendering import kubernetes, output
from gitops_agent.core.tree import SourceTree
from gitops_agent.engine import desired

T = TypeVar("T")

_VARIANTS = [
    """  stack: container
  stackSpec:
    image: docker.io/library/alpine:3.20
    command: [sh, -c, "while true; do echo $(date); sleep 30; done"]
""",
    """  stack: bento
  stackSpec:
    input: {generate: {interval: 1s, mapping: 'root = "tick"'}}
    output: {stdout: {codec: lines}}
""",
    """  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20}
  use:
    projection:
      secrets: [{id: "eng:db-creds", contextAlias: db}]
      projections:
        envVarsTemplate: |
          NAME: ${{worker-name}}
          FQDN: https://${{dataos-fqdn}}
        envVars:
          - {key: PASSWORD, template: "{{ secrets['db'].password }}"}
        files:
          - {name: app.yaml, directory: /etc/app, template: "name: ${{worker-name}}"}
""",
    """  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20}
  disk: {size: 1Gi, directory: /data}
  use:
    volumes: [{name: shared, directory: /shared, readOnly: true}]
""",
    """  stack: container
  stackSpec: {image: docker.io/library/alpine:3.20}
  disk: {size: 5Gi}
""",
]


def tree(workers: int) -> SourceTree:
    """``workers`` Worker manifests, one file each."""
    files = {}
    for index in range(workers):
        variant = index % len(_VARIANTS)
        replicas = 3 if variant == len(_VARIANTS) - 1 else 1  # the last one: a StatefulSet
        files[f"workers/w{index:05d}.yaml"] = (
            f"version: v2alpha\nname: worker-{index:05d}\ntype: worker\nspec:\n"
            f"  compute: runnable-default\n  replicas: {replicas}\n"
            f"  resources: {{requests: {{cpu: 50m, memory: 64Mi}}}}\n{_VARIANTS[variant]}"
        )
    return SourceTree(files)


def timed(rounds: int, action: Callable[[], T]) -> tuple[float, T]:
    """The median wall time of ``rounds`` runs of ``action`` (seconds), and its last result."""
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    assert result is not None
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    source, config = tree(args.workers), AgentConfig()
    peer, result = timed(args.rounds, lambda: desired.evaluate(source, ("",), config))
    assert not result.violations, result.violations[:3]
    settings = config.render_settings()
    render, rendered = timed(
        args.rounds, lambda: kubernetes.render(result.resources, settings, revision="0" * 40)
    )
    objects = list(rendered.objects())
    write, text = timed(args.rounds, lambda: output.to_yaml(objects))
    per_worker = render / args.workers * 1e6
    print(f"workers: {args.workers}, objects: {len(objects)}, YAML: {len(text) / 1e6:.1f} MB")
    print(f"load + validate (peer): {peer * 1000:8.1f} ms")
    print(f"render:                 {render * 1000:8.1f} ms  ({per_worker:.0f} us per Worker)")
    print(f"write YAML:             {write * 1000:8.1f} ms")
    print(f"render / peer:          {render / peer:8.2f}")
    print(
        f"RESULT workers={args.workers} objects={len(objects)} peer_ms={peer * 1000:.1f} "
        f"render_ms={render * 1000:.1f} render_us_per_worker={per_worker:.0f} "
        f"write_yaml_ms={write * 1000:.1f} render_over_peer={render / peer:.3f}"
    )


if __name__ == "__main__":
    main()
