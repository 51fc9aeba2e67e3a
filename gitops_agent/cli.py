"""Command line of gitops-agent: argument parsing and wiring only.

This is the one place that builds edges (targets, sources, reporters) and hands them to the
engine. Every ``GitOpsError`` is printed as a message, never as a traceback; exit codes
follow DESIGN §4.1. ``resource <verb>`` is accepted as ``<verb>`` for ``dataos-ctl`` habits.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence

from gitops_agent import __version__
from gitops_agent.core import variables
from gitops_agent.core.manifests import flatten
from gitops_agent.errors import ConfigError, GitOpsError

Handler = Callable[[argparse.Namespace], int]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="agent configuration (gitops-agent.yaml)")
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a ${KEY} variable (repeatable; wins over the configuration's vars)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitops-agent",
        description="GitOps reconciliation agent for DataOS Worker, Workflow and Bundle manifests.",
    )
    parser.add_argument("--version", action="version", version=f"gitops-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = commands.add_parser(
        "validate", help="load and validate manifests; exit 1 when invalid"
    )
    validate.add_argument(
        "paths", nargs="*", metavar="PATH", help="directories or files (default: .)"
    )
    validate.add_argument("-o", "--output", choices=("text", "json"), default="text")
    _common(validate)
    validate.set_defaults(handler=_validate)
    render = commands.add_parser(
        "render", help="print the Kubernetes objects each resource becomes; exit 1 when invalid"
    )
    render.add_argument("path", metavar="PATH", help="a directory or a file")
    render.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    render.add_argument(
        "--revision", default="", help="the source revision to write on every object"
    )
    _common(render)
    render.set_defaults(handler=_render)
    return parser


def _parse_vars(items: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        try:
            name, value = variables.parse_assignment(item)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        result[name] = value
    return result


def _validate(args: argparse.Namespace) -> int:
    from gitops_agent.engine import desired

    env = _parse_vars(args.var)
    results = [
        desired.read(path, config_path=args.config, variables=env) for path in args.paths or ["."]
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


def _render(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from gitops_agent.core.rendering import kubernetes, output
    from gitops_agent.core.rendering.objects import RenderError
    from gitops_agent.engine import desired

    result = desired.read(args.path, config_path=args.config, variables=_parse_vars(args.var))
    violations = result.violations
    if not violations:
        settings = result.config.render_settings()
        try:
            rendered = kubernetes.render(
                result.resources, settings, revision=args.revision, now=datetime.now(UTC)
            )
        except RenderError as err:
            violations = err.violations or ()
            if not violations:
                raise ConfigError(str(err)) from err
    if violations:
        for violation in violations:
            print(violation.format())
        print(f"invalid: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    objects = list(rendered.objects())
    text = output.to_json(objects) if args.output == "json" else output.to_yaml(objects)
    sys.stdout.write(text)
    print(f"rendered: {len(objects)} objects", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["resource"]:
        args_list = args_list[1:]
    args = build_parser().parse_args(args_list)
    handler: Handler = args.handler
    try:
        return handler(args)
    except GitOpsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
