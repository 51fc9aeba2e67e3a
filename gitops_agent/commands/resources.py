"""``get``, ``log`` and ``delete``: resources on a target, in ``dataos-ctl`` terms."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from gitops_agent.commands.common import (
    config_for,
    dump,
    parse_vars,
    print_violations,
    table,
    target_choice,
)
from gitops_agent.core import labels
from gitops_agent.core.manifests import (
    API_VERSION,
    DEFAULT_WORKSPACE,
    ResourceId,
    ResourceType,
    flatten,
)
from gitops_agent.core.planning import Action
from gitops_agent.core.recorded import manifest_of
from gitops_agent.core.results import Outcome
from gitops_agent.core.status import ResourceStatus
from gitops_agent.engine import reconcile
from gitops_agent.engine.observing import observe
from gitops_agent.engine.ports import Observation, Target
from gitops_agent.errors import ConfigError
from gitops_agent.wiring import build_target, read_desired

HEADERS = ["NAME", "VERSION", "TYPE", "WORKSPACE", "STATUS", "RUNTIME", "OWNER"]


def resource_type(text: str) -> ResourceType:
    try:
        return ResourceType(text.lower())
    except ValueError:
        raise ConfigError(f"unknown type {text!r} (use worker, workflow or bundle)") from None


def _open(args: argparse.Namespace) -> Target:
    return build_target(config_for(args), target_choice(args))


def get(args: argparse.Namespace) -> int:
    kind = resource_type(args.type)
    target = _open(args)
    try:
        observation = observe(target, all_owners=args.all)
        found = [
            rid for rid in _known(observation) if _selected(rid, kind, args.name, args.workspace)
        ]
        if not found:
            others = [] if args.all else _elsewhere(target, kind, args)
            print(_not_found(kind, args, target.owner, others), file=sys.stderr)
            return 1
    finally:
        target.close()
    if args.details or args.output in ("json", "yaml"):
        items = [
            _details(rid, observation, target.owner)
            if args.details
            else _summary(rid, observation, target.owner)
            for rid in found
        ]
        single = args.name is not None and len(items) == 1
        dump(items[0] if single else items, "json" if args.output == "json" else "yaml")
        return 0
    rows = [list(_summary(rid, observation, target.owner).values()) for rid in found]
    print(table(rows, HEADERS))
    return 0


def _elsewhere(target: Target, kind: ResourceType, args: argparse.Namespace) -> list[str]:
    """Matches held by other owners of the same target, as ``name (owner 'x')``."""
    everyone = observe(target, all_owners=True)
    return [
        f"{rid} (owner {everyone.owners.get(rid, '?')!r})"
        for rid in _known(everyone)
        if _selected(rid, kind, args.name, args.workspace)
    ]


def _not_found(kind: ResourceType, args: argparse.Namespace, owner: str, others: list[str]) -> str:
    what = f"{kind} {args.name}" if args.name else f"no {kind} resources"
    scope = "any owner" if args.all else f"agent owner {owner!r}"
    if not args.all and args.config is None:
        scope += " (named by ./gitops-agent.yaml, else the default; --config FILE names another)"
    text = f"not found: {what} among the resources of {scope}"
    if others:
        text += f"; held by other owners: {', '.join(others)}"
    if not args.all:
        text += "; -a shows every owner's"
    return text


def _known(observation: Observation) -> list[ResourceId]:
    return sorted(
        set(observation.inventory.entries) | set(observation.live) | set(observation.statuses)
    )


def _selected(rid: ResourceId, kind: ResourceType, name: str | None, workspace: str | None) -> bool:
    return (
        rid.type is kind
        and (name is None or rid.name == name)
        and (workspace is None or rid.workspace in ("", workspace))
    )


def _status(rid: ResourceId, observation: Observation) -> ResourceStatus:
    return observation.statuses.get(rid) or ResourceStatus("pending", "")


def _summary(rid: ResourceId, observation: Observation, owner: str) -> dict[str, str]:
    status = _status(rid, observation)
    return {
        "name": rid.name,
        "version": API_VERSION,
        "type": str(rid.type),
        "workspace": rid.workspace,
        "status": status.status,
        "runtime": status.runtime,
        "owner": observation.owners.get(rid, owner),
    }


def _details(rid: ResourceId, observation: Observation, owner: str) -> dict[str, Any]:
    """The manifest as applied, with ``status.aggregateStatus`` and ``status.runtimeState``."""
    entry = observation.inventory.entry(rid)
    status = _status(rid, observation)
    live = observation.live.get(rid, ())
    recorded = manifest_of(live) or (entry.manifest if entry else None)
    fallback = {"version": API_VERSION, "name": rid.name, "type": str(rid.type)}
    manifest: dict[str, Any] = dict(recorded) if recorded else fallback
    if rid.workspace:
        manifest.setdefault("workspace", rid.workspace)
    manifest["status"] = {
        "aggregateStatus": status.status,
        "runtimeState": {"status": status.runtime, "message": status.message},
        "owner": observation.owners.get(rid, owner),
        "revision": _revision(live) or (entry.revision if entry else ""),
        "file": entry.file if entry else "",
        "objects": [str(key) for key in entry.objects] if entry else [],
    }
    return manifest


def _revision(objects: Iterable[Mapping[str, Any]]) -> str:
    found = [labels.annotations_of(obj).get(labels.REVISION, "") for obj in objects]
    return max(found, default="", key=len)


def log(args: argparse.Namespace) -> int:
    kind = resource_type(args.type)
    if kind is ResourceType.BUNDLE:
        raise ConfigError("bundles have no logs; ask for one of their workers or workflows")
    rid = ResourceId(kind, args.workspace or DEFAULT_WORKSPACE, args.name)
    target = _open(args)
    try:
        for line in target.logs(rid, follow=args.follow, tail=None if args.tail < 0 else args.tail):
            print(f"[{line.source}] {line.text}", flush=True)
    finally:
        target.close()
    return 0


def delete(args: argparse.Namespace) -> int:
    """Delete through the same plan and prune path as ``apply``; exit 1 when one failed."""
    config = config_for(args)
    target = build_target(config, target_choice(args))
    try:
        the_plan, result = reconcile.delete(_delete_targets(args), target, config)
    finally:
        target.close()
    planned = {
        resource.id: sum(1 for step in resource.steps if step.action is Action.DELETE)
        for resource in the_plan.resources
    }
    for item in result.resources:
        if item.outcome is Outcome.DELETED:
            print(f"deleted {item.id} ({planned[item.id]} object(s))")
        else:
            print(f"{item.outcome} {item.id}: {item.message}", file=sys.stderr)
    return 0 if result.ok else 1


def _delete_targets(args: argparse.Namespace) -> list[ResourceId]:
    if args.file:
        result = read_desired(args.file, config_path=args.config, variables=parse_vars(args.var))
        if result.violations:
            print_violations(result.violations)
            raise ConfigError(f"{args.file} does not validate; nothing was deleted")
        return [r.id for r in flatten(result.resources)]
    if args.identifier:
        return [parse_identifier(args.identifier)]
    if not args.type or not args.name:
        raise ConfigError(
            "delete needs -t TYPE -n NAME, -i 'name|version|type[|workspace]' or -f FILE"
        )
    kind = resource_type(args.type)
    return [
        ResourceId(
            kind,
            "" if kind is ResourceType.BUNDLE else args.workspace or DEFAULT_WORKSPACE,
            args.name,
        )
    ]


def parse_identifier(text: str) -> ResourceId:
    """``name|version|type[|workspace]`` (spaces around the bars are fine)."""
    parts = [part.strip() for part in text.split("|")]
    if len(parts) not in (3, 4) or not parts[0]:
        raise ConfigError(f"identifier {text!r} must look like 'name|v2alpha|worker|public'")
    kind = resource_type(parts[2])
    workspace = (
        ""
        if kind is ResourceType.BUNDLE
        else (parts[3] if len(parts) == 4 and parts[3] else DEFAULT_WORKSPACE)
    )
    return ResourceId(kind, workspace, parts[0])
