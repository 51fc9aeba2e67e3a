"""``validate`` and ``render``: the manifests of a directory, checked and rendered."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from gitops_agent.commands.common import parse_vars, print_violations
from gitops_agent.core.manifests import flatten
from gitops_agent.core.rendering import kubernetes, output
from gitops_agent.core.rendering.objects import KubeObject, RenderError
from gitops_agent.errors import ConfigError
from gitops_agent.wiring import read_desired


def validate(args: argparse.Namespace) -> int:
    env = parse_vars(args.var)
    results = [
        read_desired(path, config_path=args.config, variables=env) for path in args.paths or ["."]
    ]
    violations = [v for result in results for v in result.violations]
    if args.output == "json":
        print(json.dumps([v.as_dict() for v in violations], indent=2))
    else:
        for violation in violations:
            print(violation.format())
    resources = [r for result in results for r in flatten(result.resources)]
    counts = Counter(str(r.id.type) for r in resources)
    summary = ", ".join(f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(counts.items()))
    if violations:
        print(f"invalid: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    print(f"valid: {len(resources)} resources ({summary or 'none'})", file=sys.stderr)
    return 0


def render(args: argparse.Namespace) -> int:
    result = read_desired(args.path, config_path=args.config, variables=parse_vars(args.var))
    violations = result.violations
    if not violations:
        try:
            rendered = kubernetes.render(
                result.resources,
                result.config.render_settings(),
                revision=args.revision,
                now=datetime.now(UTC),
            )
        except RenderError as err:
            violations = err.violations or ()
            if not violations:
                raise ConfigError(str(err)) from err
    if violations:
        print_violations(violations)
        return 1
    written = _Counted(rendered.objects())
    if args.output == "json":
        output.write_json(written, sys.stdout)
    else:
        output.write_yaml(written, sys.stdout)
    print(f"rendered: {written.count} objects", file=sys.stderr)
    return 0


class _Counted:
    """Objects passed on one by one, counted (the output is written as they come)."""

    def __init__(self, objects: Iterable[KubeObject]) -> None:
        self.objects = objects
        self.count = 0

    def __iter__(self) -> Iterator[KubeObject]:
        for obj in self.objects:
            self.count += 1
            yield obj
