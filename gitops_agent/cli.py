"""Command line of gitops-agent: argument parsing and dispatch only.

The handlers live in ``gitops_agent.commands``; they and ``gitops_agent.wiring`` are the only
places that build edges. Every ``GitOpsError`` is printed as a message, never as a traceback;
exit codes follow DESIGN §4.1. ``resource <verb>`` is accepted as ``<verb>`` for
``dataos-ctl`` habits, and ``logs`` as ``log``. A flag the command does not have is
refused with that command's usage and the closest flag it has (exit 2, as argparse does).
"""

from __future__ import annotations

import argparse
import difflib
import gc
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from gitops_agent import __version__
from gitops_agent.errors import GitOpsError
from gitops_agent.redaction import quoted

Handler = Callable[[argparse.Namespace], int]
TYPES = ("worker", "workflow", "bundle")


def _config_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("GITOPS_AGENT_CONFIG") or None,
        help="agent configuration (default: $GITOPS_AGENT_CONFIG, else gitops-agent.yaml of the source)",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a ${KEY} variable (repeatable)",
    )


def _target_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        choices=("kubernetes", "local"),
        default=os.environ.get("GITOPS_AGENT_TARGET") or None,
        help="where resources run (default: $GITOPS_AGENT_TARGET, else target.kind, else local)",
    )

    parser.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="kubeconfig for the kubernetes target (default: KUBECONFIG)",
    )
    parser.add_argument("--context", help="kubeconfig context for the kubernetes target")


def _source_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="git URL, local repository or directory (default: source.url, else .)",
    )
    parser.add_argument(
        "--ref",
        help="branch, tag or commit to read (a local repository is then checked out, not read in place)",
    )
    parser.add_argument(
        "--path",
        help="directory inside the source whose manifests are loaded (default: source.path)",
    )
    parser.add_argument(
        "--allow-mass-prune",
        action="store_true",
        help="let a prune delete more than sync.maxPruneFraction of what is owned",
    )


def _add(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: str,
    text: str,
    **kw: object,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=text, description=text, **kw)  # type: ignore[arg-type]
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitops-agent",
        description="GitOps reconciliation agent for DataOS Worker, Workflow and Bundle manifests.",
    )
    parser.add_argument("--version", action="version", version=f"gitops-agent {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    validate = _add(
        commands,
        "validate",
        "manifests:validate",
        "load and validate manifests; exit 1 when invalid",
    )
    validate.add_argument(
        "paths", nargs="*", metavar="PATH", help="directories or files (default: .)"
    )
    validate.add_argument("-o", "--output", choices=("text", "json"), default="text")
    _config_flags(validate)
    render = _add(
        commands, "render", "manifests:render", "print the Kubernetes objects each resource becomes"
    )
    render.add_argument("path", metavar="PATH", help="a directory or a file")
    render.add_argument("-o", "--output", choices=("yaml", "json"), default="yaml")
    render.add_argument(
        "--revision", default="", help="the source revision to write on every object"
    )
    _config_flags(render)
    _sync_parsers(commands)
    _preview_parser(commands)
    _drift_parser(commands)
    _resource_parsers(commands)
    _run_parser(commands)
    _session_parsers(commands)
    return parser


def _session_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stop = _add(
        commands,
        "stop",
        "stopping:stop",
        "local target: stop this owner's processes, and the supervisor when nothing else runs",
    )
    _config_flags(stop)
    _target_flags(stop)
    past = _add(
        commands,
        "history",
        "history:history_command",
        "the cycles the agent recorded (sync, preview, drift check), newest first; "
        "'history show REVISION' for one revision's",
    )
    past.add_argument("action", nargs="?", choices=("show",), help="show one revision's cycles")
    past.add_argument("revision", nargs="?", metavar="REVISION", help="commit id or a prefix")
    past.add_argument("-n", type=_count, default=20, metavar="N", help="cycles listed (default 20)")
    past.add_argument("-o", "--output", choices=("table", "json"), default="table")
    _config_flags(past)
    _target_flags(past)
    completion = _add(
        commands,
        "completion",
        "completion:completion",
        "print a shell completion script: source <(gitops-agent completion bash)",
    )
    completion.add_argument("shell", choices=("bash", "zsh"))


def _run_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = _add(
        commands,
        "run",
        "agent:run",
        "the agent: poll the source, apply each new revision, report statuses",
    )
    run.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="git URL, local repository or directory to follow (default: source.url, else .)",
    )
    run.add_argument(
        "--ref",
        help="branch, tag or commit to follow (a local repository is then cloned, not read in place)",
    )
    run.add_argument(
        "--once", action="store_true", help="run one cycle and exit (0 when it converged)"
    )
    run.add_argument(
        "--keep-running",
        action="store_true",
        help="with --once on the local target: leave the processes running on exit",
    )
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="webhooks, /healthz, /readyz, /metrics (default: server.listen)",
    )
    run.add_argument("--log-format", choices=("text", "json"), default="text")
    run.add_argument(
        "--cache-dir", help="where git working copies are kept (default: ~/.cache/gitops-agent)"
    )
    _config_flags(run)
    _target_flags(run)


def _preview_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    preview = _add(
        commands,
        "preview",
        "previews:preview",
        "the read-only plan of a branch or pull request against the live target; exit 0 no "
        "changes, 2 changes, 1 invalid or error",
    )
    preview.add_argument(
        "source", metavar="SOURCE", help="git URL or local repository holding both commits"
    )
    preview.add_argument(
        "--head", required=True, help="the commit to preview: branch, tag, ref or SHA"
    )
    preview.add_argument(
        "--base",
        help="the commit it would be merged into; its configuration is used "
        "(default: source.ref, else the remote's default branch)",
    )
    preview.add_argument(
        "--path",
        help="directory inside the source whose manifests are loaded (default: source.path)",
    )
    preview.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text")
    preview.add_argument(
        "--publish",
        action="store_true",
        help="also post the preview through the configured reporter: status "
        "<context>/preview on the head, the comment of --pull N on a forge, the head's git "
        "note (notes) or a log line (log)",
    )
    preview.add_argument(
        "--pull",
        type=_pull_number,
        metavar="N",
        help="the pull request whose comment --publish upserts (forge reporters)",
    )
    _config_flags(preview)
    _target_flags(preview)


def _drift_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    drift = _add(
        commands,
        "drift",
        "drift:drift",
        "live objects against the last applied revision: each drifted field, who changed it, "
        "a suggested ignore rule; exit 0 no drift, 2 drift, 1 error",
    )
    drift.add_argument(
        "source",
        nargs="?",
        metavar="SOURCE",
        help="git URL, local repository or directory the revision is read from "
        "(default: source.url, else .)",
    )
    drift.add_argument(
        "--ref", help="the branch the agent follows (a local repository is then cloned)"
    )
    drift.add_argument(
        "--path",
        help="directory inside the source whose manifests are loaded (default: source.path)",
    )
    drift.add_argument(
        "--heal",
        action="store_true",
        help="re-apply the drifted objects (forced), create deleted ones again; never prunes",
    )
    drift.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text")
    _config_flags(drift)
    _target_flags(drift)


def _count(text: str) -> int:
    """A count of 1 to 1000."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 4 and 0 < int(text) <= 1000):
        raise argparse.ArgumentTypeError(f"{text!r} is not a count from 1 to 1000")
    return int(text)


def _pull_number(text: str) -> int:
    """A pull request number: 1 to 10 digits, nothing else."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) <= 10 and int(text) > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _sync_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    plan = _add(
        commands,
        "plan",
        "sync:plan",
        "show what apply would change; exit 0 no changes, 2 changes, 1 error",
    )
    plan.add_argument("-o", "--output", choices=("text", "json", "markdown"), default="text")
    plan.add_argument("-v", "--verbose", action="store_true", help="also list unchanged resources")
    apply = _add(
        commands,
        "apply",
        "sync:apply",
        "apply in bundle order, wait on conditions, prune; exit 1 on any failure",
    )
    apply.add_argument("-o", "--output", choices=("table", "json"), default="table")
    apply.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    apply.add_argument(
        "--no-wait",
        action="store_true",
        help="do not wait, after the last wave, until what was applied is healthy",
    )
    for parser in (plan, apply):
        parser.add_argument(
            "--adopt",
            action="store_true",
            help="take over existing objects of the same names that this agent did not create",
        )
        _source_flags(parser)
        _config_flags(parser)
        _target_flags(parser)


def _resource_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    get = _add(commands, "get", "resources:get", "resources with their status and runtime")
    _type_flag(get, required=True)
    get.add_argument("-n", "--name")
    get.add_argument("-w", "--workspace", help="only this workspace (default: all)")
    get.add_argument(
        "-a", "--all", action="store_true", help="resources of every agent owner, not only this one"
    )
    get.add_argument(
        "-d",
        "--details",
        action="store_true",
        help="the manifest with status.aggregateStatus and status.runtimeState",
    )
    get.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table")
    log = _add(
        commands,
        "log",
        "resources:log",
        "the logs of a resource's runs, every replica",
        aliases=["logs"],
    )
    _type_flag(log, required=True)
    log.add_argument("-n", "--name", required=True)
    log.add_argument("-w", "--workspace", help="default: public")
    log.add_argument("-f", "--follow", action="store_true")
    log.add_argument(
        "--tail", type=int, default=300, help="lines per replica (-1: all; default 300)"
    )
    delete = _add(
        commands,
        "delete",
        "resources:delete",
        "delete resources (a bundle's members in reverse order)",
    )
    _type_flag(delete)
    delete.add_argument("-n", "--name")
    delete.add_argument("-w", "--workspace", help="default: public")
    delete.add_argument("-i", "--identifier", help="'name|version|type[|workspace]'")
    delete.add_argument("-f", "--file", help="a manifest file whose resources to delete")
    for parser in (get, log, delete):
        _config_flags(parser)
        _target_flags(parser)


def _type_flag(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    parser.add_argument("-t", "--type", required=required, type=str.lower, choices=TYPES)


def _handler(spec: str) -> Handler:
    module, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(f"gitops_agent.commands.{module}"), name)
    return handler


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """The arguments; extra ones are refused by the command they were given to."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = _subcommand(parser, args.command) if args.command else parser
        command.error(_unrecognized(extras, command))
    return args


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[name]
            return found
    return parser


def _unrecognized(extras: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """``unrecognized arguments: --targt (did you mean --target?)``."""
    shown = " ".join(a if a.isprintable() and len(a) <= 80 else quoted(a) for a in extras)
    flags = [flag for action in parser._actions for flag in action.option_strings]
    for extra in extras:
        if extra.startswith("-"):
            close = difflib.get_close_matches(extra.split("=", 1)[0], flags, n=1, cutoff=0.6)
            if close:
                return f"unrecognized arguments: {shown} (did you mean {close[0]}?)"
    return f"unrecognized arguments: {shown}"


#: The cyclic garbage collector's thresholds (Python's defaults: 700, 10, 10). The agent builds
#: large trees of plain data (documents, resources, objects) that hold no cycles; with the
#: defaults the collector walks them again every few hundred allocations, which doubles the
#: time of loading and validating a repository of thousands of files.
GC_THRESHOLDS = (5_000, 20, 20)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    gc.set_threshold(*GC_THRESHOLDS)
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["resource"]:
        args_list = args_list[1:]
    args = _parse(build_parser(), args_list)
    try:
        return _handler(args.handler)(args)
    except GitOpsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 141
