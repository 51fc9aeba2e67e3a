"""Discovery documents: ``/version``, ``/api``, ``/apis``, the per group-version resource
lists, and the aggregated discovery (``apidiscovery.k8s.io/v2``) kubectl asks for first.

Pure functions of the ``kinds`` table; ``handlers.py`` picks the document by path and by the
``Accept`` header (``as=APIGroupDiscoveryList`` selects the aggregated form).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from gitops_agent.testing.kubesim.kinds import GROUP_VERSIONS, RESOURCES, ResourceType

Obj = dict[str, Any]
AGGREGATED_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SERVER_VERSION: Obj = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0+kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_SUB_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
    "finalize": ("update",),
    "token": ("create",),
}
#: Subresources served as another kind: ``/scale`` as autoscaling/v1 Scale, ``/token`` as an
#: authentication.k8s.io/v1 TokenRequest.
_SUB_KINDS = {
    "scale": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
    "token": {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"},
}


def _groups() -> list[str]:
    return list(dict.fromkeys(g for g, _ in GROUP_VERSIONS if g))


def _versions(group: str) -> list[str]:
    return [v for g, v in GROUP_VERSIONS if g == group]


def api_versions(server_address: str) -> Obj:
    """``/api``: the core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group(group: str) -> Obj:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in _versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list() -> Obj:
    """``/apis``: every named group."""
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [api_group(g) for g in _groups()]}


def group_document(group: str) -> Obj | None:
    """``/apis/{group}``."""
    if group not in _groups():
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **api_group(group)}


def _storage_hash(rt: ResourceType) -> str:
    digest = hashlib.sha256(f"{rt.group}/{rt.version}/{rt.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _resource(rt: ResourceType) -> Obj:
    out: Obj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    out["storageVersionHash"] = _storage_hash(rt)
    return out


def _subresource(rt: ResourceType, sub: str) -> Obj:
    out: Obj = {
        "name": f"{rt.plural}/{sub}",
        "singularName": "",
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": list(_SUB_VERBS[sub]),
    }
    if sub in _SUB_KINDS:
        out.update(_SUB_KINDS[sub])
    return out


def resource_list(group: str, version: str) -> Obj | None:
    """``/api/v1`` or ``/apis/{group}/{version}``: the resources and subresources served."""
    served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
    if not served:
        return None
    resources: list[Obj] = []
    for rt in served:
        resources.append(_resource(rt))
        resources.extend(_subresource(rt, sub) for sub in rt.subresources)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(rt: ResourceType) -> Obj:
    out: Obj = {
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": "Namespaced" if rt.namespaced else "Cluster",
        "singularResource": rt.singular,
        "verbs": list(rt.verbs),
    }
    if rt.short_names:
        out["shortNames"] = list(rt.short_names)
    if rt.categories:
        out["categories"] = list(rt.categories)
    subs = []
    for sub in rt.subresources:
        kind = _SUB_KINDS.get(sub, {"group": rt.group, "version": rt.version, "kind": rt.kind})
        subs.append({"subresource": sub, "responseKind": kind, "verbs": list(_SUB_VERBS[sub])})
    if subs:
        out["subresources"] = subs
    return out


def aggregated(core: bool) -> Obj:
    """The aggregated discovery document of ``/api`` (core) or ``/apis`` (named groups)."""
    groups = [""] if core else _groups()
    items = []
    for group in groups:
        versions = []
        for version in ["v1"] if core else _versions(group):
            served = [r for r in RESOURCES if (r.group, r.version) == (group, version)]
            versions.append(
                {
                    "version": version,
                    "freshness": "Current",
                    "resources": [_aggregated_resource(r) for r in served],
                }
            )
        items.append({"metadata": {"name": group} if group else {}, "versions": versions})
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }
