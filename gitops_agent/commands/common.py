"""Helpers the command handlers share: variables, configuration, output, time stamps."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gitops_agent.config import configuration
from gitops_agent.core import variables
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.rendering.output import dump_yaml, plain
from gitops_agent.core.violations import Violation
from gitops_agent.errors import ConfigError
from gitops_agent.wiring import TargetChoice


def parse_vars(items: Sequence[str]) -> dict[str, str]:
    """``--var KEY=VALUE`` items as a mapping; a malformed one is a ConfigError."""
    result: dict[str, str] = {}
    for item in items:
        try:
            name, value = variables.parse_assignment(item)
        except ValueError as err:
            raise ConfigError(str(err)) from err
        result[name] = value
    return result


def config_for(args: argparse.Namespace, root: str = ".") -> AgentConfig:
    """The configuration: ``--config``, else ``gitops-agent.yaml`` under ``root``; with ``--var``."""

    return configuration(Path(root), args.config, parse_vars(args.var))


def target_choice(args: argparse.Namespace) -> TargetChoice:
    return TargetChoice(kind=args.target, kubeconfig=args.kubeconfig, context=args.context)


def print_violations(violations: Sequence[Violation]) -> None:
    for violation in violations:
        print(violation.format())
    print(f"invalid: {len(violations)} violation(s); nothing was applied", file=sys.stderr)


def dump(data: Any, output: str) -> None:
    """Print data as JSON or YAML."""
    if output == "json":
        print(json.dumps(data, indent=2, sort_keys=False, default=str))
    else:
        sys.stdout.write(dump_yaml(plain(data), sort_keys=False))


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Rows aligned under upper-case headers, like ``dataos-ctl get``."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = [
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [headers, *rows]
    ]
    return "\n".join(lines)


def progress_printer(quiet: bool = False) -> Callable[[str], None]:
    """A progress callback printing ``[  12.3s] line`` to standard error."""
    start = time.monotonic()

    def show(line: str) -> None:
        if not quiet:
            print(f"[{time.monotonic() - start:6.1f}s] {line}", file=sys.stderr, flush=True)

    return show
