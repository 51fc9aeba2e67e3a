"""``preview``: the read-only plan of a branch or pull request against the live target.

``gitops-agent preview SOURCE --head REF [--base REF]`` checks both commits out of SOURCE (a
repository URL or a local repository), reads the configuration from the base (never from
the head: a pull request cannot change who the agent is or where it deploys), validates the
head as a whole, and plans it against the target without writing anything. Exit 0 when it
changes nothing, 2 when it does, 1 when the head is invalid or the preview failed. With
``--publish`` it also posts the preview through the configured reporter (the only thing it
writes, and never to the target): the status ``<context>/preview`` on the head and the
Markdown as the comment of ``--pull N`` (forges, found again by its marker), the head's git
note (``notes``) or one log line (``log``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gitops_agent.commands.common import parse_vars, print_violations, target_choice
from gitops_agent.commands.ports import reporter_for, reporter_spec, source_auth
from gitops_agent.config import load_config
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.previews import (
    Preview,
    preview_json,
    preview_markdown,
    preview_text,
    status_line,
)
from gitops_agent.core.reporting import StatusState
from gitops_agent.core.tree import CONFIG_FILE
from gitops_agent.engine import preview as previewing
from gitops_agent.engine.desired import Desired
from gitops_agent.errors import ConfigError
from gitops_agent.reporters import ReporterKind, build_pull_requests
from gitops_agent.reporters.base import CommitStatus, truncate_description
from gitops_agent.reporters.links import file_link
from gitops_agent.reporters.pulls import preview_marker
from gitops_agent.sources import snapshot
from gitops_agent.sources.directory import NotRegularError, read_regular
from gitops_agent.sources.snapshot import default_cache_dir
from gitops_agent.wiring import build_target, read_desired

CONFIG_NOTE = (
    "this change edits gitops-agent.yaml: the preview uses the base branch's configuration; "
    "configuration changes take effect after the merge"
)


def preview(args: argparse.Namespace) -> int:
    if args.pull is not None and not args.publish:
        raise ConfigError("--pull names where --publish posts the preview: add --publish")
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
    code = _show(result, before.config, args.output)
    if args.publish:
        _publish(args, result, before.config)
    return code


def _publish(args: argparse.Namespace, result: Preview, config: AgentConfig) -> None:
    """Post the preview where the reporter puts statuses; say where on stderr."""
    spec = reporter_spec(config)
    forge = spec.kind not in (ReporterKind.NOTES, ReporterKind.LOG)
    if forge and args.pull is None:
        raise ConfigError(f"--publish with the {spec.kind.value} reporter needs --pull N")
    cache = default_cache_dir()
    state = StatusState.SUCCESS if result.valid else StatusState.FAILURE
    context = f"{config.reporter_context()}/preview"
    status = CommitStatus(state, truncate_description(status_line(result)), context)
    reporter_for(config, cache, source_url=args.source).report(result.head, status)
    ports = build_pull_requests(
        spec, source_url=args.source, source_auth=source_auth(config), cache_dir=cache / "notes"
    )
    section = config.reporter
    link = file_link(section.kind, section.url or "", section.repository or "", result.head)
    body = preview_markdown(
        result, title="gitops-agent preview", link=link, html=spec.kind != ReporterKind.BITBUCKET
    )
    marker = preview_marker(config.name)
    if ports.heads is not None:
        where = ports.heads.write(result.head, marker, body)
    else:
        assert ports.pulls is not None
        ports.pulls.upsert_comment(args.pull, marker, body)
        where = f"pull request #{args.pull}"
    print(f"preview published: status {context} on {result.head[:12]}, {where}", file=sys.stderr)


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
