"""RBAC authorization as kube-apiserver's RBAC authorizer decides it.

``request_attributes`` reads what a request asks (``RequestInfoFactory``: verb, API group,
resource, subresource, namespace, name; a list or watch whose ``fieldSelector`` names one
object carries that name; other paths are non-resource requests). ``Authorizer.authorize``
walks the ClusterRoleBindings, then the RoleBindings of the request's namespace
(``rule.go`` ``VisitRulesFor``) and allows on the first rule that matches
(``evaluation_helpers.go``: verb or ``*``; group or ``*``; ``resource``,
``resource/subresource``, ``*`` or ``*/subresource``; ``resourceNames`` empty or naming the
object; ``nonResourceURLs`` exact, ``*`` or a ``prefix*``). There is no deny: no match is
"no opinion", whose reason names the bindings whose roles could not be found.
``forbidden`` writes the 403 the server answers. ``BOOTSTRAP`` is the part of the default
policy a client needs (cluster-admin for ``system:masters``, discovery, public info and
access reviews for everyone authenticated). Used by ``access.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.authn import Identity
from gitops_agent.testing.kubesim.kinds import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    ROLE_BINDINGS,
    ROLES,
)
from gitops_agent.testing.kubesim.store import Store
from gitops_agent.testing.kubesim.wire import split_group_version

Obj = dict[str, Any]
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")


@dataclass(frozen=True)
class Attributes:
    """``authorizer.AttributesRecord``: who asks to do what to which object or path."""

    identity: Identity
    verb: str
    resource_request: bool = True
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


@dataclass(frozen=True)
class Decision:
    """Allowed or not, and the authorizer's reason."""

    allowed: bool
    reason: str = ""


def request_attributes(
    identity: Identity, method: str, path: str, query: dict[str, str]
) -> Attributes:
    """What a request asks, read from its method, path and query as the server reads it."""
    parts = [p for p in path.split("/") if p]
    split = split_group_version(parts)
    if split is None or not split[2]:
        return Attributes(identity, method.lower(), resource_request=False, path=path)
    group, version, rest = split
    verb = "get" if method in ("GET", "HEAD") else _METHOD_VERBS.get(method, "")
    if rest[0] == "watch":
        rest, verb = rest[1:], "watch" if verb == "get" else verb
    namespace = ""
    if len(rest) > 1 and rest[0] == "namespaces":
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if not name and verb == "get":
        verb = "watch" if query.get("watch", "").lower() not in ("", "false", "0") else "list"
        name = _selected_name(query.get("fieldSelector", ""))
    if not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(identity, verb, True, group, version, resource, sub, namespace, name, path)


def _selected_name(selector: str) -> str:
    """The name a field selector requires exactly (``metadata.name=x``), else empty."""
    names = set()
    for term in selector.split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name" and not key.endswith("!"):
            names.add(value.strip())
    return names.pop() if len(names) == 1 else ""


def _matches(values: list[Any], wanted: str) -> bool:
    return "*" in values or wanted in values


def rule_allows(attrs: Attributes, rule: Obj) -> bool:
    """``RuleAllows``: whether one PolicyRule covers the request."""
    verbs = list(rule.get("verbs") or [])
    if not attrs.resource_request:
        urls = list(rule.get("nonResourceURLs") or [])
        return _matches(verbs, attrs.verb) and any(_url_matches(u, attrs.path) for u in urls)
    combined = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
    names = list(rule.get("resourceNames") or [])
    return (
        _matches(verbs, attrs.verb)
        and _matches(list(rule.get("apiGroups") or []), attrs.group)
        and _resource_matches(list(rule.get("resources") or []), combined, attrs.subresource)
        and (not names or attrs.name in names)
    )


def _resource_matches(resources: list[Any], combined: str, subresource: str) -> bool:
    for resource in resources:
        if resource in ("*", combined):
            return True
        if subresource and resource == f"*/{subresource}":
            return True
    return False


def _url_matches(rule_url: str, path: str) -> bool:
    if rule_url in ("*", path):
        return True
    return rule_url.endswith("*") and path.startswith(rule_url.rstrip("*"))


def _subject_applies(identity: Identity, subject: Obj, namespace: str) -> bool:
    kind, name = subject.get("kind"), str(subject.get("name", ""))
    if kind == "User":
        return identity.user == name
    if kind == "Group":
        return name in identity.groups
    if kind == "ServiceAccount":
        sa_namespace = str(subject.get("namespace") or namespace)
        return bool(sa_namespace) and identity.user == (
            f"system:serviceaccount:{sa_namespace}:{name}"
        )
    return False


def _describe_subject(subject: Obj, namespace: str) -> str:
    name = str(subject.get("name", ""))
    if subject.get("kind") == "ServiceAccount":
        name = f"{name}/{subject.get('namespace') or namespace}"
    return f'{subject.get("kind")} "{name}"'


class Authorizer:
    """The RBAC authorizer over the simulator's Roles, ClusterRoles and their bindings."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def authorize(self, attrs: Attributes) -> Decision:
        problems: list[str] = []
        with self.store.lock:
            bindings = [(b.obj, "") for b in self.store.items(CLUSTER_ROLE_BINDINGS)]
            if attrs.namespace:
                bindings += [
                    (b.obj, attrs.namespace)
                    for b in self.store.items(ROLE_BINDINGS, attrs.namespace)
                ]
            for binding, namespace in bindings:
                found = self._allowed_by(attrs, binding, namespace, problems)
                if found:
                    return Decision(True, f"RBAC: allowed by {found}")
        reason = ""
        if problems:
            reason = "RBAC: " + (problems[0] if len(problems) == 1 else f"[{', '.join(problems)}]")
        return Decision(False, reason)

    def _allowed_by(
        self, attrs: Attributes, binding: Obj, namespace: str, problems: list[str]
    ) -> str:
        """The description of ``binding`` when it lets the request through, else empty."""
        subjects = list(binding.get("subjects") or [])
        subject = next(
            (s for s in subjects if _subject_applies(attrs.identity, s, namespace)), None
        )
        if subject is None:
            return ""
        ref = binding.get("roleRef") or {}
        rules = self._rules(ref, namespace, problems)
        if not any(rule_allows(attrs, rule) for rule in rules):
            return ""
        meta = binding.get("metadata") or {}
        if namespace:
            where = f'RoleBinding "{meta.get("name")}/{namespace}"'
        else:
            where = f'ClusterRoleBinding "{meta.get("name")}"'
        role = f'{ref.get("kind")} "{ref.get("name")}"'
        return f"{where} of {role} to {_describe_subject(subject, namespace)}"

    def _rules(self, ref: Obj, namespace: str, problems: list[str]) -> list[Obj]:
        kind, name = ref.get("kind"), str(ref.get("name", ""))
        if kind == "Role":
            role = self.store.get(ROLES, namespace, name)
            missing = f'role.rbac.authorization.k8s.io "{name}" not found'
        elif kind == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
            missing = f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        else:
            problems.append(f'unsupported role reference kind: "{kind}"')
            return []
        if role is None:
            problems.append(missing)
            return []
        return list(role.get("rules") or [])


def forbidden_message(attrs: Attributes) -> str:
    """``responsewriters.forbiddenMessage``, with ``<``, ``>`` and ``&`` escaped."""
    user = attrs.identity.user
    if not attrs.resource_request:
        text = f'User "{user}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        scope = (
            f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
        )
        text = (
            f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group '
            f'"{attrs.group}" {scope}'
        )
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def forbidden(attrs: Attributes, reason: str, *, message: str | None = None) -> errors.ApiError:
    """``apierrors.NewForbidden`` of a denied request (``responsewriters.Forbidden``);
    ``message`` replaces the filter's text (the create check of an apply passes the
    authorizer's bare reason, as ``withAuthorization`` does)."""
    detail = message if message is not None else forbidden_message(attrs)
    if message is None and reason:
        detail = f"{detail}: {reason}"
    resource = attrs.resource if attrs.resource_request else ""
    qualified = f"{resource}.{attrs.group}" if attrs.group and resource else resource
    if not qualified:
        text = f"forbidden: {detail}"
    elif attrs.name:
        text = f'{qualified} "{attrs.name}" is forbidden: {detail}'
    else:
        text = f"{qualified} is forbidden: {detail}"
    details: Obj = {"name": attrs.name, "group": attrs.group, "kind": resource}
    details = {k: v for k, v in details.items() if v}  # omitempty fields of StatusDetails
    return errors.ApiError(403, "Forbidden", text, details)


_DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
_REVIEWS = ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]


def _bootstrap_role(name: str, rules: list[Obj]) -> Obj:
    return {"metadata": {"name": name}, "rules": rules}


def _bootstrap_binding(name: str, role: str, groups: list[str]) -> Obj:
    subjects = [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g} for g in groups
    ]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    return {"metadata": {"name": name}, "roleRef": ref, "subjects": subjects}


#: The bootstrap ClusterRoles and ClusterRoleBindings a client relies on
#: (``bootstrappolicy/testdata/cluster-roles.yaml`` and ``cluster-role-bindings.yaml``).
BOOTSTRAP_ROLES = (
    _bootstrap_role(
        "cluster-admin",
        [
            {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
            {"nonResourceURLs": ["*"], "verbs": ["*"]},
        ],
    ),
    _bootstrap_role("system:discovery", [{"nonResourceURLs": _DISCOVERY_URLS, "verbs": ["get"]}]),
    _bootstrap_role(
        "system:public-info-viewer", [{"nonResourceURLs": _PUBLIC_URLS, "verbs": ["get"]}]
    ),
    _bootstrap_role(
        "system:basic-user",
        [{"apiGroups": ["authorization.k8s.io"], "resources": _REVIEWS, "verbs": ["create"]}],
    ),
)
BOOTSTRAP_BINDINGS = (
    _bootstrap_binding("cluster-admin", "cluster-admin", ["system:masters"]),
    _bootstrap_binding("system:discovery", "system:discovery", ["system:authenticated"]),
    _bootstrap_binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        ["system:authenticated", "system:unauthenticated"],
    ),
    _bootstrap_binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
)
