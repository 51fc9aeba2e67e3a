"""``preview``: the read-only plan of a branch or pull request against the live target.

``gitops-agent preview SOURCE --head REF [--base REF]`` checks both commits out of SOURCE (a
repository URL or a local repository), reads the configuration from the base (never from
the head: a pull request cannot change who the agent is or where it deploys), validates the
head as a whole, and plans it against the target without writing anything. Exit 0 when it
changes nothing, 2 when it does, 1 when the head is invalid or the preview failed.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gitops_agent.commands.common import parse_vars, print_violations, target_choice
from gitops_agent.config import load_config
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.previews import Preview, preview_json, preview_markdown, preview_text
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.engine import preview as previewing
from gitops_agent.engine.desired import Desired
from gitops_agent.errors import ConfigError
from gitops_agent.reporters.links import file_link
from gitops_agent.sources import snapshot
from gitops_agent.sources.directory import NotRegularError, read_regular
from gitops_agent.wiring import build_target, read_desired

CONFIG_NOTE = (
    "this change edits gitops-agent.yaml: the preview uses the base branch's configuration; "
    "configuration changes take effect after the merge"
)


def preview(args: argparse.Namespace) -> int:
    bootstrap = load_config(args.config) if args.config else AgentConfig()
    base = snapshot.take(args.source, config=bootstrap, ref=args.base or bootstrap.source.ref)
    if not base.revision or base.directory == Path(args.source):
        raise ConfigError(
            f"preview needs a git repository (a URL or a local repository), not the directory "
            f"{args.source!r}: it reads --head and --base as commits"
        )
    head = snapshot.take(args.source, config=bootstrap, ref=args.head)
    config_path = args.config or _file(base.directory / CONFIG_FILE)
    variables = parse_vars(args.var)

    def read(directory: Path) -> Desired:
        return read_desired(
            str(directory),
            config_path=config_path,
            variables=variables,
            subpath=args.path,
            display="",
        )

    wanted, before = read(head.directory), read(base.directory)
    changed = _config_bytes(head.directory) != _config_bytes(base.directory)
    notes = (CONFIG_NOTE,) if changed and not args.config else ()
    target = build_target(before.config, target_choice(args))
    try:
        result = previewing.preview(
            wanted,
            target,
            head_revision=head.revision,
            base=before,
            base_revision=base.revision,
            notes=notes,
        )
    finally:
        target.close()
    return _show(result, before.config, args.output)


def _show(result: Preview, config: AgentConfig, output: str) -> int:
    if output == "json":
        print(json.dumps(preview_json(result), indent=2, default=str))
    elif output == "markdown":
        section = config.reporter
        link = file_link(section.kind, section.url or "", section.repository or "", result.head)
        print(preview_markdown(result, title="gitops-agent preview", link=link))
    elif result.valid:
        print(preview_text(result))
    else:
        print_violations(result.violations)
    if not result.valid:
        return 1
    return 2 if result.has_changes else 0


def _file(path: Path) -> str | None:
    return str(path) if path.is_file() else None


def _config_bytes(root: Path) -> bytes | None:
    try:
        return read_regular(root / CONFIG_FILE)
    except (NotRegularError, OSError):
        return None
