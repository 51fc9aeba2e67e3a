"""The Kubernetes permissions the agent uses, derived from the one table of kinds.

``cluster_rules()`` / ``namespace_rules()`` are the RBAC rules of the kinds it renders (read,
looked up before creating, applied with server-side apply, which creates what is missing, and
pruned), pods (listed for status), their logs, and, cluster-wide only, namespaces (created
for a workspace whose namespace is missing) and ``watch`` (a serving agent keeps its own
objects in a watch cache across namespaces; a namespaced one lists each namespace
instead). ``election_rules(config)`` are those of leader election in the agent's own
namespace: its Lease (created, then read and renewed by name) and Events;
``inventory_rules(config)`` a namespaced agent's ConfigMaps there (inventory, history, the
watch of its hint ConfigMap); ``environment_rules()`` what tearing preview environments down
adds (their namespaces, found by label and deleted). The install's RBAC (``deploy/``) is
checked against these by the tests, so a kind added to the table without a rule fails them.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gitops_agent.core import kinds
from gitops_agent.core.config import AgentConfig
from gitops_agent.core.kinds import Kind

#: What the agent does with each kind it renders: observe (list), look up before creating
#: (get), server-side apply (patch, and create when the object is new), prune (delete).
MANAGED_VERBS = ("get", "list", "create", "patch", "delete")
Rule = dict[str, Any]


def group_of(kind: Kind) -> str:
    """The API group of a kind (``""`` for the core group)."""
    return kind.api_version.rpartition("/")[0]


def _rules_by_group(found: Iterable[Kind], verbs: tuple[str, ...]) -> list[Rule]:
    groups: dict[str, list[str]] = {}
    for kind in found:
        groups.setdefault(group_of(kind), []).append(kind.plural)
    return [
        {"apiGroups": [group], "resources": sorted(plurals), "verbs": list(verbs)}
        for group, plurals in groups.items()
    ]


def namespace_rules(*, watch: bool = False) -> list[Rule]:
    """What the agent needs in each namespace it deploys to (``watch``: for the cache)."""
    core = group_of(kinds.POD)
    more = ("watch",) if watch else ()
    return [
        *_rules_by_group(kinds.MANAGED, MANAGED_VERBS + more),
        {"apiGroups": [core], "resources": [kinds.POD.plural], "verbs": ["list", *more]},
        {"apiGroups": [core], "resources": [f"{kinds.POD.plural}/log"], "verbs": ["get"]},
    ]


def cluster_rules() -> list[Rule]:
    """What a cluster-wide agent needs: the namespace rules everywhere with ``watch`` (its
    watch cache), and namespaces."""
    namespaces = {"apiGroups": [""], "resources": [kinds.NAMESPACE.plural], "verbs": ["create"]}
    return [*namespace_rules(watch=True), namespaces]


def environment_rules() -> list[Rule]:
    """What preview environments need beyond ``cluster_rules``: the namespaces created for
    a pull request are listed by their owner label and deleted when it closes."""
    return [{"apiGroups": [""], "resources": [kinds.NAMESPACE.plural], "verbs": ["list", "delete"]}]


def election_rules(config: AgentConfig) -> list[Rule]:
    """What leader election needs in the Lease's namespace."""
    lease = config.leader_election.lease_name(config.name)
    group = group_of(kinds.LEASE)
    return [
        {"apiGroups": [group], "resources": [kinds.LEASE.plural], "verbs": ["create"]},
        {
            "apiGroups": [group],
            "resources": [kinds.LEASE.plural],
            "resourceNames": [lease],
            "verbs": ["get", "update"],
        },
        {
            "apiGroups": [group_of(kinds.EVENT)],
            "resources": [kinds.EVENT.plural],
            "verbs": ["create"],
        },
    ]


def inventory_rules(config: AgentConfig) -> list[Rule]:
    """What a namespaced agent needs in its own namespace: its inventory and history
    ConfigMaps, and the watch of its hint ConfigMap (a cluster-wide agent's ClusterRole
    covers both)."""
    lease = config.leader_election.lease_name(config.name)
    group = group_of(kinds.CONFIG_MAP)
    plural = kinds.CONFIG_MAP.plural
    return [
        {"apiGroups": [group], "resources": [plural], "verbs": list(MANAGED_VERBS)},
        {
            "apiGroups": [group],
            "resources": [plural],
            "resourceNames": [f"{lease}-hints"],
            "verbs": ["watch"],
        },
    ]


def normalized(rules: Iterable[Rule]) -> set[tuple[str, str, str, str]]:
    """Rules as a set of (group, resource, verb, name) grants, to compare two rule lists."""
    grants: set[tuple[str, str, str, str]] = set()
    for rule in rules:
        names = rule.get("resourceNames") or [""]
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                for verb in rule.get("verbs") or []:
                    grants.update((group, resource, verb, name) for name in names)
    return grants
